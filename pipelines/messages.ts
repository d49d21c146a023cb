import type { JsMsg } from "@nats-io/jetstream";

/** The id a prediction or history row is keyed on: the producer's `Nats-Msg-Id`, else the stream position. */
export function messageIdOf(msg: JsMsg): string {
  return msg.headers?.get("Nats-Msg-Id") || `${msg.info.stream}:${msg.seq}`;
}

/** Adds one to `counters[type]` for any type name a producer sends, "constructor" or "__proto__" included. */
export function countEventType(counters: Record<string, number>, type: string): void {
  const value = (Object.hasOwn(counters, type) ? counters[type]! : 0) + 1;
  // assigning "__proto__" would set the prototype instead of a count
  if (type === "__proto__") Object.defineProperty(counters, type, { value, enumerable: true, writable: true, configurable: true });
  else counters[type] = value;
}
