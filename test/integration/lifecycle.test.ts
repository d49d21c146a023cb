import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { connectBus, type Bus, type EventEnvelope } from "../../src/streams/index.ts";
import { startChild } from "../helpers/child.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];

describe("graceful shutdown on SIGTERM", () => {
  const config = isolatedConfig();
  let bus: Bus;

  before(async () => {
    bus = await connectBus(
      { url: config.NATS_URL, name: "lifecycle-test", streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX, duplicateWindowMs: 60_000 },
      { metrics: createMetrics({ defaultMetrics: false }), log: createLogger("silent") },
    );
  });
  after(async () => {
    await bus?.close();
    await dropIsolated(config);
  });

  it("a pipeline stopped mid-run finishes and acks what it took; a restart completes the rest exactly once", async () => {
    const N = 20_000;
    const events: EventEnvelope[] = Array.from({ length: N }, (_, i) => ({
      id: `e${i}`,
      domain: "customer",
      key: `c${i % 2000}`,
      type: "usage",
      data: { tenure: 1 + (i % 70), monthly_charges: 20 + (i % 90), contract_type: CONTRACTS[i % 3] },
      timestamp: new Date().toISOString(),
    }));
    for (let i = 0; i < N; i += 2000) {
      await Promise.all(events.slice(i, i + 2000).map((e) => bus.publisher.publish("events", bus.names.eventSubject("customer", e.key), e, { msgId: e.id })));
    }

    const first = startChild(config, { ROLE: "churn" });
    let second: ReturnType<typeof startChild> | undefined;
    const db = (await import("knex")).default({ client: "pg", connection: config.DATABASE_URL, searchPath: [config.DATABASE_SCHEMA] });
    try {
      const count = async () => Number((await db("churn_history").count({ n: "*" }))[0]!.n);
      await eventually(async () => ((await count().catch(() => 0)) > 0 ? true : undefined), 30_000, "first rows");
      first.child.kill("SIGTERM");
      const { code } = await first.exited;
      assert.equal(code, 0, first.output());
      assert.match(first.output(), /shutting down/);
      const afterStop = await count();
      assert.ok(afterStop > 0 && afterStop < N, `stopped mid-run (${afterStop} of ${N})`);
      const info = await bus.jsm.consumers.info(bus.names.events("customer"), "churn");
      assert.equal(info.ack_floor.stream_seq, afterStop, "everything committed was acked before exit, in order");

      second = startChild(config, { ROLE: "churn" });
      await eventually(async () => ((await count()) === N ? true : undefined), 60_000, "all rows").catch(async (err) => {
        throw new Error(`${err.message}: ${await count()} of ${N}\n${second!.output().slice(-3000)}`);
      });
      second.child.kill("SIGTERM");
      assert.equal((await second.exited).code, 0);
      assert.equal(await count(), N, "nothing twice");
      const [sum] = await db("customer_state").sum({ total: "events_seen" });
      assert.equal(Number(sum!.total), N, "every event applied once to its customer's state");
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      await db.destroy();
    }
  });

  it("the API answers the requests it accepted before closing", async () => {
    const cfg = isolatedConfig();
    const pipelines = await startTestPlatform(cfg, { api: false, pipelines: ["scorer"] });
    const api = startChild(cfg, { ROLE: "api", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" });
    try {
      await api.waitFor('"msg":"tidecast started"');
      const url = JSON.parse(api.output().split("\n").find((l) => l.includes("tidecast started"))!).url as string;
      const user = await signedInClient({ ...pipelines, url });
      const inflight = Array.from({ length: 40 }, () =>
        user.http.post("/api/predict/churn", { tenure: 5, monthly_charges: 70, contract_type: "One year" }).catch((e: Error) => ({ status: 0, text: e.message })),
      );
      await new Promise((r) => setTimeout(r, 5));
      api.child.kill("SIGTERM");
      const results = await Promise.all(inflight);
      const answered = results.filter((r) => r.status === 200).length;
      assert.ok(answered > 0, "requests in flight were answered");
      assert.ok(results.every((r) => r.status === 200 || r.status === 0), `no errors: ${results.map((r) => r.status)}`);
      assert.equal((await api.exited).code, 0, api.output());
      const refused = await client(url).get("/health").catch(() => ({ status: 0 }));
      assert.equal(refused.status, 0, "closed after");
    } finally {
      api.child.kill("SIGKILL");
      await pipelines.close();
      await dropIsolated(cfg);
    }
  });
});
