import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import type { Platform } from "../../src/platform.ts";
import { decodeJson } from "../../src/streams/index.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

const LOYAL = { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL", payment_method: "Credit card (automatic)" };
const RISKY = { tenure: 1, contract_type: "Month-to-month", internet_service: "Fiber optic", payment_method: "Electronic check", monthly_charges: 99 };

describe("events and the churn pipeline", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;

  before(async () => {
    platform = await startTestPlatform(config);
    user = await signedInClient(platform);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  const state = (id: string) => platform.db("customer_state").where({ customer_id: id }).first();
  const history = (id: string) => platform.db("churn_history").where({ customer_id: id }).orderBy("stream_seq");

  it("publishes a batch to events.<domain>.<key> with ids, deduplicating repeats", async () => {
    const events = [
      { domain: "customer", key: "c-1", type: "profile", data: LOYAL, id: "evt-1" },
      { domain: "customer", key: "c-1", type: "usage", data: { monthly_charges: 31 } },
    ];
    const res = await user.http.post("/api/events", { events });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.accepted, 2);
    assert.equal(res.body.events[0].subject, `${config.SUBJECT_PREFIX}events.customer.c-1`);
    assert.equal(res.body.events[0].id, "evt-1");
    assert.match(res.body.events[1].id, /^[0-9a-f]{32}$/);
    const again = await user.http.post("/api/events", { events });
    assert.equal(again.body.accepted, 0);
    assert.equal(again.body.duplicates, 2);
    const s = await eventually(async () => ((await state("c-1"))?.events_seen === 2 ? state("c-1") : undefined), 10_000, "state");
    assert.equal(s.profile.monthly_charges, 31, "later event wins");
    assert.equal(s.risk_level, "Low");
    assert.equal((await history("c-1")).length, 2, "the duplicates were never delivered");
  });

  it("keeps per-customer state, rescoring on every event, and alerts once when risk becomes High", async () => {
    const nc = platform.bus.nc;
    const seen: unknown[] = [];
    const sub = nc.subscribe(`${config.SUBJECT_PREFIX}alerts.>`, { callback: (_e, m) => void seen.push(decodeJson(m.data)) });
    const send = (type: string, data: Record<string, unknown>, id: string) =>
      user.http.post("/api/events", { events: [{ domain: "customer", key: "c-2", type, data, id }] });
    await send("profile", { tenure: 2, monthly_charges: 40 }, "c2-a"); // incomplete: no contract type yet
    await eventually(async () => ((await state("c-2"))?.events_seen === 1 ? true : undefined), 10_000);
    assert.equal((await state("c-2")).churn_probability, null, "no score until the profile is complete");

    await send("profile", LOYAL, "c2-b");
    await send("contract", RISKY, "c2-c");
    await send("billing", { monthly_charges: 105 }, "c2-d");
    const s = await eventually(async () => ((await state("c-2"))?.events_seen === 4 ? state("c-2") : undefined), 10_000, "4 events");
    assert.equal(s.risk_level, "High");
    assert.deepEqual(s.counters, { profile: 2, contract: 1, billing: 1 });
    const h = await history("c-2");
    assert.deepEqual(h.map((r) => r.risk_level), ["Low", "High", "High"]);
    assert.ok(h.every((r, i) => i === 0 || r.stream_seq > h[i - 1]!.stream_seq));

    const alerts = await platform.db("alerts").where({ entity_id: "c-2" });
    assert.equal(alerts.length, 1, "only the transition to High alerts");
    assert.equal(alerts[0].type, "churn_risk");
    assert.equal(alerts[0].severity, "high");
    await eventually(async () => (seen.length === 1 ? true : undefined), 5000, "alert on the ALERTS stream");
    // marked published once the server has acknowledged it, just after the batch's commit
    await eventually(async () => (await platform.db("alerts").where({ id: alerts[0].id }).first())?.published_at ?? undefined, 5000, "published_at");
    assert.equal((seen[0] as { entity_id: string }).entity_id, "c-2");
    sub.unsubscribe();
  });

  it("folds a feature sent under its dataset column name, or another spelling, into the profile's own field", async () => {
    const { contract_type, ...rest } = LOYAL;
    const events = [
      { domain: "customer", key: "c-alias", type: "profile", data: rest, id: "alias-1" },
      { domain: "customer", key: "c-alias", type: "contract", data: { contract: contract_type }, id: "alias-2" },
      { domain: "customer", key: "c-alias", type: "billing", data: { MonthlyCharges: 31.5, note: "kept out" }, id: "alias-3" },
    ];
    assert.equal((await user.http.post("/api/events", { events })).status, 202);
    const s = await eventually(async () => ((await state("c-alias"))?.events_seen === 3 ? state("c-alias") : undefined), 10_000, "state");
    assert.equal(s.profile.contract_type, "Two year");
    assert.equal(s.profile.contract, undefined);
    assert.equal(s.profile.monthly_charges, 31.5);
    assert.equal(s.profile.MonthlyCharges, undefined);
    assert.equal(s.risk_level, "Low", "scored once the alias completed the profile");
  });

  it("alerts once when one batch carries several High events for a customer", async () => {
    const events = [
      { domain: "customer", key: "c-5", type: "profile", data: LOYAL, id: "c5-1" },
      { domain: "customer", key: "c-5", type: "contract", data: RISKY, id: "c5-2" },
      { domain: "customer", key: "c-5", type: "billing", data: { monthly_charges: 110 }, id: "c5-3" },
      { domain: "customer", key: "c-5", type: "billing", data: { monthly_charges: 112 }, id: "c5-4" },
    ];
    await user.http.post("/api/events", { events }); // one request: the pipeline receives them together
    await eventually(async () => ((await state("c-5"))?.events_seen === 4 ? true : undefined), 10_000);
    assert.deepEqual((await history("c-5")).map((r) => r.risk_level), ["Low", "High", "High", "High"]);
    assert.equal((await platform.db("alerts").where({ entity_id: "c-5" })).length, 1);
  });

  it("lists alerts and lets operators acknowledge and resolve them", async () => {
    const operator = await signedInClient(platform, "operator");
    const list = await user.http.get("/api/v1/alerts?type=churn_risk&status=open");
    assert.equal(list.status, 200);
    assert.ok(list.body.items.length >= 1);
    const alert = list.body.items[0];
    assert.equal((await user.http.post(`/api/v1/alerts/${alert.id}/acknowledge`)).status, 403, "users may read, not act");
    const acked = await operator.http.post(`/api/v1/alerts/${alert.id}/acknowledge`);
    assert.equal(acked.status, 200);
    assert.equal(acked.body.status, "acknowledged");
    const resolved = await operator.http.post(`/api/v1/alerts/${alert.id}/resolve`);
    assert.equal(resolved.body.status, "resolved");
    const again = await operator.http.post(`/api/v1/alerts/${alert.id}/acknowledge`);
    assert.equal(again.body.status, "resolved", "never moves backwards");
    const row = await platform.db("alerts").where({ id: alert.id }).first();
    assert.equal(row.acknowledged_by, operator.userId);
    assert.ok(row.resolved_at);
    assert.equal((await operator.http.post("/api/v1/alerts/00000000-0000-4000-8000-000000000000/resolve")).status, 404);
    assert.equal((await user.http.get("/api/v1/alerts?severity=extreme")).status, 422);
  });

  it("takes events producers publish to NATS directly, and dead-letters the ones it cannot use without stalling", async () => {
    const js = jetstream(platform.bus.nc);
    const subject = (key: string) => `${config.SUBJECT_PREFIX}events.customer.${key}`;
    const envelope = (key: string, id: string, data: Record<string, unknown>) =>
      JSON.stringify({ id, domain: "customer", key, type: "profile", data, timestamp: new Date().toISOString() });
    await js.publish(subject("c-3"), "this is not json", { msgID: "poison-1" });
    await js.publish(subject("c-3"), envelope("c-3", "bad-type", { tenure: "many" }), { msgID: "poison-2" });
    await js.publish(subject("c-3"), envelope("c-3", "both-names", { contract: "One year", contract_type: "Two year" }), { msgID: "poison-3" });
    await js.publish(subject("c-3"), envelope("c-3", "good", LOYAL), { msgID: "good-1" });
    const s = await eventually(async () => ((await state("c-3"))?.risk_level ? state("c-3") : undefined), 10_000, "good event");
    assert.equal(s.events_seen, 1, "the bad events changed nothing");

    const dlq = await eventually(async () => {
      const info = await platform.bus.jsm.streams.info(platform.bus.names.dlq);
      return info.state.messages >= 3 ? info : undefined;
    }, 20_000, "three dead letters");
    assert.equal(dlq.state.messages, 3);
    const first = await platform.bus.jsm.streams.getMessage(platform.bus.names.dlq, { seq: dlq.state.first_seq });
    assert.equal(first!.header.get("Tidecast-Dlq-Consumer"), "churn");
    assert.equal(first!.header.get("Tidecast-Dlq-Subject"), subject("c-3"));
    assert.equal(first!.header.get("Tidecast-Dlq-Deliveries"), "1", "an invalid message is not retried");
    assert.match(first!.header.get("Tidecast-Dlq-Error"), /not a customer event/);
    assert.equal(new TextDecoder().decode(first!.data), "this is not json", "the original bytes are kept");
    const second = await platform.bus.jsm.streams.getMessage(platform.bus.names.dlq, { seq: dlq.state.first_seq + 1 });
    assert.match(second!.header.get("Tidecast-Dlq-Error"), /tenure/);
    const third = await platform.bus.jsm.streams.getMessage(platform.bus.names.dlq, { seq: dlq.state.first_seq + 2 });
    assert.match(third!.header.get("Tidecast-Dlq-Error"), /contract: is another name of "contract_type"/);
  });

  it("rejects malformed event batches with 422", async () => {
    const cases = [
      { events: [] },
      { events: [{ domain: "weather", key: "x", type: "t", data: {} }] },
      { events: [{ domain: "customer", key: "has.dot", type: "t", data: {} }] },
      { events: [{ domain: "customer", key: "k", type: "t", data: {}, extra: 1 }] },
      { events: [{ domain: "customer", key: "k", type: "t", timestamp: "yesterday" }] },
    ];
    for (const body of cases) {
      const res = await user.http.post("/api/events", body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.code, "INVALID_INPUT");
    }
  });

  it("keeps state across a restart: a new process continues where the last one stopped", async () => {
    await user.http.post("/api/events", { events: [{ domain: "customer", key: "c-4", type: "profile", data: LOYAL, id: "c4-1" }] });
    await eventually(async () => ((await state("c-4"))?.events_seen === 1 ? true : undefined), 10_000);
    await platform.close();
    platform = await startTestPlatform(config);
    await user.http.post("/api/events", { events: [{ domain: "customer", key: "c-4", type: "contract", data: RISKY, id: "c4-2" }] }).catch(() => undefined);
    const http = (await signedInClient(platform)).http;
    await http.post("/api/events", { events: [{ domain: "customer", key: "c-4", type: "billing", data: { monthly_charges: 104 }, id: "c4-3" }] });
    const s = await eventually(async () => ((await state("c-4"))?.events_seen === 2 || (await state("c-4"))?.events_seen === 3 ? state("c-4") : undefined), 10_000);
    assert.equal(s.profile.tenure, s.events_seen === 3 ? 1 : 60);
    assert.equal(s.profile.monthly_charges, 104);
    assert.equal(s.profile.contract_type, s.events_seen === 3 ? "Month-to-month" : "Two year");
  });
});
