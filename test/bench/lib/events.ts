import { randomUUID } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { EventEnvelope } from "../../../src/streams/index.ts";
import { mulberry32 } from "../../../src/training/split.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];
const INTERNET = ["DSL", "Fiber optic", "No"];
const PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"];


export interface BenchEvent {
  key: string;
  id: string;
  data: Uint8Array;
}

/** Encodes envelopes once, before any timing starts. */
export function toBenchEvents(envelopes: readonly EventEnvelope[]): BenchEvent[] {
  const encoder = new TextEncoder();
  return envelopes.map((e) => ({ key: e.key, id: e.id ?? randomUUID(), data: encoder.encode(JSON.stringify(e)) }));
}

/**
 * `n` valid customer events spread round-robin over `customers` keys. Every event carries the
 * required churn features, so each one completes its customer's profile and yields one
 * churn_history row.
 */
export function customerEvents(n: number, customers: number, seed = 42): EventEnvelope[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const base = Date.now() - n;
  const events: EventEnvelope[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const key = `cust-${String(i % customers).padStart(5, "0")}`;
    events[i] = {
      id: randomUUID(),
      domain: "customer",
      key,
      type: "usage",
      data: {
        tenure: Math.floor(rand() * 73),
        monthly_charges: Math.round((18.25 + rand() * 100) * 100) / 100,
        contract_type: pick(CONTRACTS),
        internet_service: pick(INTERNET),
        payment_method: pick(PAYMENT),
      },
      timestamp: new Date(base + i).toISOString(),
    };
  }
  return events;
}

/**
 * Publishes with JetStream's async publish, `window` PubAcks in flight at a time, each message
 * with its Nats-Msg-Id. Returns messages per second.
 */
export async function publishAll(
  js: JetStreamClient,
  events: readonly BenchEvent[],
  subject: (e: BenchEvent) => string,
  window = 2_000,
): Promise<{ published: number; duplicates: number; seconds: number; perSec: number }> {
  const started = performance.now();
  let duplicates = 0;
  for (let i = 0; i < events.length; i += window) {
    const slice = events.slice(i, i + window);
    const acks = await Promise.all(slice.map((e) => js.publish(subject(e), e.data, { msgID: e.id })));
    for (const ack of acks) if (ack.duplicate) duplicates++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { published: events.length, duplicates, seconds, perSec: events.length / seconds };
}
