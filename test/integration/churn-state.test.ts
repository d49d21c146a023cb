import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createChurnHandler } from "../../pipelines/churn/handler.ts";
import { createLogger } from "../../src/log.ts";
import type { Platform } from "../../src/platform.ts";
import { encodeJson, type BatchHandler } from "../../src/streams/index.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];

/**
 * The churn handler's batched state and history writes, fed directly: two handlers given the same
 * messages stand for two processes that both received them (a redelivery after a lost leadership).
 */
describe("churn state and history writes", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let handler: () => BatchHandler;
  let seq = 0;

  before(async () => {
    platform = await startTestPlatform(config, { api: false, pipelines: [] });
    const { db, bus, registry, metrics } = platform;
    handler = () => createChurnHandler({ db, bus, registry, metrics, log: createLogger("silent"), config });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  function event(key: string, data: Record<string, unknown>, type = "usage"): JsMsg {
    const s = ++seq;
    const h = natsHeaders();
    h.set("Nats-Msg-Id", `${config.STREAM_PREFIX}e${s}`);
    const body = { id: `e${s}`, domain: "customer", key, type, data, timestamp: new Date().toISOString() };
    return { subject: platform.bus.names.eventSubject("customer", key), data: encodeJson(body), seq: s, headers: h, info: { stream: "EVENTS", deliveryCount: 1, pending: 0 } } as unknown as JsMsg;
  }

  const snapshot = async (prefix: string) => ({
    states: await platform.db("customer_state").where("customer_id", "like", `${prefix}%`).orderBy("customer_id").select("customer_id", "profile", "counters", "last_seq", "events_seen", "churn_probability", "risk_level"),
    history: await platform.db("churn_history").where("customer_id", "like", `${prefix}%`).orderBy("stream_seq").select("message_id", "customer_id", "churn_probability", "risk_level", "key_factors", "stream_seq"),
    alerts: await platform.db("alerts").where("entity_id", "like", `${prefix}%`).orderBy("dedup_key").select("dedup_key"),
  });

  it("applies a batch once when two handlers take it at the same time, new customers included", async () => {
    const batch: JsMsg[] = [];
    for (let round = 0; round < 3; round++) {
      for (let c = 0; c < 100; c++) {
        batch.push(event(`new-${String(c).padStart(3, "0")}`, { tenure: 1 + ((c * 7 + round * 13) % 70), monthly_charges: 20 + ((c + round) % 90), contract_type: CONTRACTS[(c + round) % 3] }));
      }
    }
    const [a, b] = await Promise.all([handler()(batch), handler()(batch)]);
    assert.ok(a.every((o) => o.kind === "ack") && b.every((o) => o.kind === "ack"));
    const once = await snapshot("new-");
    assert.equal(once.states.length, 100);
    assert.ok(once.states.every((s) => s.events_seen === 3 && s.counters.usage === 3), "each event applied once");
    assert.equal(once.history.length, 300);
    assert.equal(new Set(once.history.map((h) => h.message_id)).size, 300);
    assert.ok(once.states.every((s) => s.last_seq === once.history.filter((h) => h.customer_id === s.customer_id).at(-1)!.stream_seq));

    // delivered again, alone and split differently: nothing changes
    await handler()(batch);
    await handler()(batch.slice(150));
    assert.deepEqual(await snapshot("new-"), once);
  });

  it("folds events in stream order within a batch, known and new customers together, refusing bad ones", async () => {
    await handler()([event("mix-a", { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL" }, "profile")]);
    const batch = [
      event("mix-a", { contract_type: "Month-to-month", internet_service: "Fiber optic", tenure: 1, monthly_charges: 99 }, "contract"),
      event("mix-b", { tenure: 2 }, "profile"), // incomplete: no score yet
      event("mix-a", { tenure: "many" }, "profile"), // invalid value: refused, changes nothing
      event("mix-b", { monthly_charges: 50, contract_type: "One year" }, "billing"),
      event("mix-a", { monthly_charges: 105 }, "billing"),
    ];
    const outcomes = await handler()(batch);
    assert.deepEqual(outcomes.map((o) => o.kind), ["ack", "ack", "invalid", "ack", "ack"]);
    const { states, history, alerts } = await snapshot("mix-");
    const [a, b] = states;
    assert.equal(a.events_seen, 3);
    assert.deepEqual(a.counters, { profile: 1, contract: 1, billing: 1 });
    assert.equal(a.profile.tenure, 1);
    assert.equal(a.profile.monthly_charges, 105);
    assert.equal(a.risk_level, "High");
    assert.equal(a.last_seq, batch[4]!.seq);
    assert.equal(b.events_seen, 2);
    assert.deepEqual(b.profile, { tenure: 2, monthly_charges: 50, contract_type: "One year" });
    assert.equal(b.last_seq, batch[3]!.seq);
    assert.deepEqual(history.map((h) => [h.customer_id, h.risk_level]), [["mix-a", "Low"], ["mix-a", "High"], ["mix-b", b.risk_level], ["mix-a", "High"]]);
    assert.ok(history.every((h) => Array.isArray(h.key_factors) && h.key_factors.length === 3), "key factors stored as a JSON array");
    assert.equal(history[3]!.churn_probability, a.churn_probability);
    assert.equal(alerts.filter((x) => x.dedup_key.startsWith("churn:mix-a:")).length, 1, "one alert for mix-a: its transition to High");
  });
});
