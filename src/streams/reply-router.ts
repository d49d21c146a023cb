import { createInbox, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decodeJson } from "./codec.ts";

export const REPLY_HEADER = "Tidecast-Reply-To";

/**
 * Request/reply over JetStream, caller side. A request is a persisted stream message carrying a
 * reply subject in a header; the consumer that handles it publishes the answer there. One
 * wildcard subscription per process routes every answer to its waiting caller by id, so a
 * request costs no subscription of its own.
 */
export class ReplyRouter {
  private readonly prefix = createInbox();
  private readonly waiting = new Map<string, (value: unknown) => void>();
  private readonly sub: Subscription;

  constructor(nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.subject.slice(this.prefix.length + 1);
        const resolve = this.waiting.get(id);
        if (!resolve) return; // the caller already timed out; the result is in Postgres
        this.waiting.delete(id);
        resolve(decodeJson(msg.data));
      },
    });
  }

  /** Registers a waiter; `reply` goes in the request's header, `result` settles with the answer or `timeout`. */
  expect(id: string, timeoutMs: number): { replyTo: string; result: Promise<unknown>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<unknown>((resolve) => {
      this.waiting.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(TIMEOUT);
      }, timeoutMs);
    });
    return {
      replyTo: `${this.prefix}.${id}`,
      result,
      cancel: () => {
        clearTimeout(timer);
        this.waiting.delete(id);
      },
    };
  }

  get pending(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    await this.sub.drain();
  }
}

export const TIMEOUT: unique symbol = Symbol("timeout");
