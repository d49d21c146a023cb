import { randomUUID } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { EventEnvelope } from "../../../src/streams/index.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];
const INTERNET = ["DSL", "Fiber optic", "No"];
const PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"];

/** A small deterministic PRNG (mulberry32), so every run publishes the same feature values. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchEvent {
  key: string;
  id: string;
  data: Uint8Array;
}

/**
 * `n` valid customer events spread round-robin over `customers` keys. Every event carries the
 * required churn features, so each one completes its customer's profile and yields one
 * churn_history row.
 */
export function customerEvents(n: number, customers: number, seed = 42): BenchEvent[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const encoder = new TextEncoder();
  const base = Date.now() - n;
  const events: BenchEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const key = `cust-${String(i % customers).padStart(5, "0")}`;
    const id = randomUUID();
    const envelope: EventEnvelope = {
      id,
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
    events[i] = { key, id, data: encoder.encode(JSON.stringify(envelope)) };
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
