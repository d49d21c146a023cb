import assert from "node:assert/strict";
import knexFactory, { type Knex } from "knex";
import type { Config } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { connectBus, type EventDomain, type EventEnvelope } from "../../src/streams/index.ts";
import { startChild } from "./child.ts";
import { dropIsolated, eventually, isolatedConfig } from "./env.ts";

/** What a pipeline's exactly-once proof needs to know about it. */
export interface ExactlyOnceCase {
  /** the ROLE that runs the pipeline alone */
  role: string;
  domain: EventDomain;
  /** the same events for both runs, in publish order */
  events: EventEnvelope[];
  /** how many events the pipeline has applied so far (from its own state tables) */
  applied(db: Knex): Promise<number>;
  /** everything the pipeline wrote, ordered so that two runs compare with deepEqual */
  snapshot(db: Knex): Promise<Record<string, unknown[]>>;
  /** the smallest number of rows each snapshot table must hold, so an empty run cannot pass */
  minimumRows?: Record<string, number>;
  timeoutMs?: number;
}

async function withDb<T>(config: Config, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = knexFactory({ client: "pg", connection: config.DATABASE_URL, searchPath: [config.DATABASE_SCHEMA] });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function prefill(config: Config, events: EventEnvelope[], domain: EventDomain) {
  const bus = await connectBus(
    { url: config.NATS_URL, name: "exactly-once", streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX, duplicateWindowMs: 60_000 },
    { metrics: createMetrics({ defaultMetrics: false }), log: createLogger("silent") },
  );
  try {
    for (let i = 0; i < events.length; i += 2000) {
      await Promise.all(
        events.slice(i, i + 2000).map((e) => bus.publisher.publish("events", bus.names.eventSubject(domain, e.key), e, { msgId: e.id })),
      );
    }
  } finally {
    await bus.close();
  }
}

/**
 * Runs a pipeline over the same pre-filled stream twice, in two isolated installs: once
 * uninterrupted, once killed with SIGKILL at 20 % and 60 % of the way and restarted; then asserts
 * that both wrote the same rows and the same per-key state.
 */
export async function proveExactlyOnce(c: ExactlyOnceCase): Promise<void> {
  const total = c.events.length;
  const timeout = c.timeoutMs ?? 90_000;
  const clean = isolatedConfig();
  const killed = isolatedConfig();
  const children: Array<ReturnType<typeof startChild>> = [];
  const applied = (config: Config) => withDb(config, (db) => c.applied(db)).catch(() => 0);
  try {
    await prefill(clean, c.events, c.domain);
    await prefill(killed, c.events, c.domain);

    const reference = startChild(clean, { ROLE: c.role });
    children.push(reference);
    await eventually(async () => ((await applied(clean)) === total ? true : undefined), timeout, "uninterrupted run").catch(async (err) => {
      throw new Error(`${err.message}: ${await applied(clean)} of ${total} applied\n${reference.output().slice(-2000)}`);
    });
    reference.child.kill("SIGTERM");
    await reference.exited;

    for (const fraction of [0.2, 0.6]) {
      const victim = startChild(killed, { ROLE: c.role, ACK_WAIT_MS: "60000" });
      children.push(victim);
      await eventually(async () => ((await applied(killed)) >= total * fraction ? true : undefined), timeout, `${fraction * 100}% applied`);
      victim.child.kill("SIGKILL");
      await victim.exited;
    }
    const survivor = startChild(killed, { ROLE: c.role, ACK_WAIT_MS: "60000" });
    children.push(survivor);
    // ack_wait is a minute: completing in time shows the restart did not wait for redeliveries
    await eventually(async () => ((await applied(killed)) === total ? true : undefined), 45_000, "restarted run").catch(async (err) => {
      throw new Error(`${err.message}: ${await applied(killed)} of ${total} applied\n${survivor.output().slice(-2000)}`);
    });
    survivor.child.kill("SIGTERM");
    await survivor.exited;

    const a = await withDb(clean, c.snapshot);
    const b = await withDb(killed, c.snapshot);
    for (const [table, min] of Object.entries(c.minimumRows ?? {})) {
      assert.ok((b[table]?.length ?? 0) >= min, `${table}: ${b[table]?.length ?? 0} rows, expected at least ${min}`);
    }
    for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);
  } finally {
    for (const ch of children) ch.child.kill("SIGKILL");
    await dropIsolated(clean);
    await dropIsolated(killed);
  }
}
