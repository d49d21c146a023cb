import assert from "node:assert/strict";
import { describe, it } from "node:test";
import knexFactory from "knex";
import type { Config } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { connectBus, type EventEnvelope } from "../../src/streams/index.ts";
import { startChild } from "../helpers/child.ts";
import { dropIsolated, eventually, isolatedConfig } from "../helpers/env.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];
const N = 12_000;

/** The same events for both runs: profile, contract and billing changes over 800 customers. */
function events(): EventEnvelope[] {
  return Array.from({ length: N }, (_, i) => ({
    id: `e${i}`,
    domain: "customer",
    key: `c${(i * 7) % 800}`,
    type: i % 5 === 0 ? "contract" : "billing",
    data: i % 5 === 0 ? { contract_type: CONTRACTS[i % 3], tenure: 1 + (i % 60) } : { monthly_charges: 20 + (i % 97), tenure: 1 + (i % 60), contract_type: CONTRACTS[(i >> 3) % 3] },
    timestamp: "2026-11-01T00:00:00Z",
  }));
}

async function prefill(config: Config) {
  const bus = await connectBus(
    { url: config.NATS_URL, name: "exactly-once", streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX, duplicateWindowMs: 60_000 },
    { metrics: createMetrics({ defaultMetrics: false }), log: createLogger("silent") },
  );
  const all = events();
  for (let i = 0; i < N; i += 2000) {
    await Promise.all(all.slice(i, i + 2000).map((e) => bus.publisher.publish("events", bus.names.eventSubject("customer", e.key), e, { msgId: e.id })));
  }
  await bus.close();
}

/** Everything the churn pipeline wrote, in a comparable form. */
async function snapshot(config: Config) {
  const db = knexFactory({ client: "pg", connection: config.DATABASE_URL, searchPath: [config.DATABASE_SCHEMA] });
  try {
    const history = await db("churn_history").orderBy("message_id").select("message_id", "customer_id", "event_type", "churn_probability", "risk_level", "stream_seq");
    const state = await db("customer_state").orderBy("customer_id").select("customer_id", "profile", "counters", "events_seen", "last_seq", "churn_probability", "risk_level");
    const alerts = await db("alerts").orderBy("dedup_key").select("dedup_key", "entity_id", "message");
    return { history, state, alerts };
  } finally {
    await db.destroy();
  }
}

/** Events applied so far (not every event leaves a history row: a profile may still be incomplete). */
async function countRows(config: Config): Promise<number> {
  const db = knexFactory({ client: "pg", connection: config.DATABASE_URL, searchPath: [config.DATABASE_SCHEMA] });
  try {
    return Number((await db("customer_state").sum({ n: "events_seen" }))[0]!.n ?? 0);
  } catch {
    return 0;
  } finally {
    await db.destroy();
  }
}

describe("exactly-once effects of the churn pipeline", () => {
  it("a run killed with SIGKILL and restarted writes the same rows and state as an uninterrupted run", async () => {
    const clean = isolatedConfig();
    const killed = isolatedConfig();
    const children: Array<ReturnType<typeof startChild>> = [];
    try {
      await prefill(clean);
      await prefill(killed);

      const reference = startChild(clean, { ROLE: "churn" });
      children.push(reference);
      await eventually(async () => ((await countRows(clean)) === N ? true : undefined), 90_000, "uninterrupted run").catch(async (err) => {
        throw new Error(`${err.message}: ${await countRows(clean)} rows\n${reference.output().slice(-2000)}`);
      });
      reference.child.kill("SIGTERM");
      await reference.exited;

      for (const fraction of [0.2, 0.6]) {
        const victim = startChild(killed, { ROLE: "churn", ACK_WAIT_MS: "60000" });
        children.push(victim);
        await eventually(async () => ((await countRows(killed)) >= N * fraction ? true : undefined), 90_000, `${fraction * 100}% of rows`);
        victim.child.kill("SIGKILL");
        await victim.exited;
      }
      const survivor = startChild(killed, { ROLE: "churn", ACK_WAIT_MS: "60000" });
      children.push(survivor);
      // ack_wait is a minute: completing in time shows the restart did not wait for redeliveries
      await eventually(async () => ((await countRows(killed)) === N ? true : undefined), 45_000, "restarted run");
      survivor.child.kill("SIGTERM");
      await survivor.exited;

      const [a, b] = [await snapshot(clean), await snapshot(killed)];
      assert.ok(b.history.length > N * 0.7, `${b.history.length} history rows`);
      assert.deepEqual(b.history, a.history, "history rows");
      assert.deepEqual(b.state, a.state, "per-customer state");
      assert.deepEqual(b.alerts, a.alerts, "alerts");
    } finally {
      for (const c of children) c.child.kill("SIGKILL");
      await dropIsolated(clean);
      await dropIsolated(killed);
    }
  });
});
