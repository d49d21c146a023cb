import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createChurnHandler } from "../../pipelines/churn/handler.ts";
import { createLogger } from "../../src/log.ts";
import type { Platform } from "../../src/platform.ts";
import { encodeJson, type BatchHandler } from "../../src/streams/index.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

const SUBSCRIPTION = ["watch_time_hours", "subscription_age_months", "device_count", "last_login_days", "payment_failures", "tenure_months", "plan"];
const LOYAL = { watch_time_hours: 120, subscription_age_months: 36, device_count: 4, last_login_days: 0, payment_failures: 0, tenure_months: 36, plan: "Premium 4K" };
const DRIFTING = { watch_time_hours: 2, device_count: 1, last_login_days: 30, payment_failures: 3 };
const TELCO = { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL", payment_method: "Credit card (automatic)" };

describe("the churn pipeline with subscription profiles", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let handler: BatchHandler;
  let seq = 0;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["churn"] });
    const { db, bus, registry, metrics } = platform;
    handler = createChurnHandler({ db, bus, registry, metrics, log: createLogger("silent"), config });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  const state = (id: string) => platform.db("customer_state").where({ customer_id: id }).first();
  const history = (id: string) => platform.db("churn_history").where({ customer_id: id }).orderBy("stream_seq");

  /** A message as the consumer would hand it over, for customers the running pipeline never sees. */
  function message(key: string, data: Record<string, unknown>, type = "usage"): JsMsg {
    const s = 1_000_000 + ++seq;
    const h = natsHeaders();
    h.set("Nats-Msg-Id", `${config.STREAM_PREFIX}direct-${s}`);
    const body = { id: `direct-${s}`, domain: "customer", key, type, data, timestamp: new Date(Date.UTC(2026, 10, 1, 0, 0, seq)).toISOString() };
    return { subject: platform.bus.names.eventSubject("customer", key), data: encodeJson(body), seq: s, headers: h, info: { stream: "EVENTS", deliveryCount: 1, pending: 0 } } as unknown as JsMsg;
  }

  it("scores a customer with only subscription fields by churn_subscription, with factors, and alerts once on High", async () => {
    const user = await signedInClient(platform);
    const send = (type: string, data: Record<string, unknown>, id: string) =>
      user.http.post("/api/events", { events: [{ domain: "customer", key: "s-1", type, data, id, timestamp: "2026-11-20T08:00:00Z" }] });
    assert.equal((await send("signup", { plan: "Premium 4K", tenure_months: 36, subscription_age_months: 36 }, "s1-a")).status, 202);
    await eventually(async () => ((await state("s-1"))?.events_seen === 1 ? true : undefined), 10_000, "first event");
    assert.equal((await state("s-1")).churn_probability, null, "no score until the subscription profile is complete");

    await send("usage", LOYAL, "s1-b");
    await send("usage", DRIFTING, "s1-c");
    await send("billing", { payment_failures: 4 }, "s1-d");
    const s = await eventually(async () => ((await state("s-1"))?.events_seen === 4 ? state("s-1") : undefined), 10_000, "4 events");
    assert.equal(s.model, "churn_subscription");
    assert.equal(s.risk_level, "High");
    assert.equal(s.key_factors.length, 3);
    assert.ok(s.key_factors.every((f: string) => SUBSCRIPTION.includes(f)), JSON.stringify(s.key_factors));
    assert.equal(new Date(s.last_event_at).toISOString(), "2026-11-20T08:00:00.000Z");
    const h = await history("s-1");
    assert.deepEqual(h.map((r) => [r.model, r.risk_level]), [["churn_subscription", "Low"], ["churn_subscription", "High"], ["churn_subscription", "High"]]);
    assert.ok(h.every((r) => r.key_factors.length === 3 && r.key_factors.every((f: string) => SUBSCRIPTION.includes(f))));

    const alerts = await platform.db("alerts").where({ entity_id: "s-1" });
    assert.equal(alerts.length, 1, "only the transition to High alerts");
    assert.equal(alerts[0].type, "churn_risk");
    assert.equal(alerts[0].data.model, "churn_subscription");
    assert.deepEqual(alerts[0].data.key_factors, h[1]!.key_factors);
  });

  it("scores by churn_subscription once its fields are complete, by churn_telco before, whatever the event touches", async () => {
    const outcomes = await handler([
      message("both-1", TELCO, "contract"),
      message("both-1", { watch_time_hours: 80, subscription_age_months: 12, device_count: 2 }),
      message("both-1", { last_login_days: 1, payment_failures: 0, tenure_months: 12 }),
      message("both-1", { monthly_charges: 95 }, "billing"), // a telco field: the subscription model still scores
    ]);
    assert.deepEqual(outcomes.map((o) => o.kind), ["ack", "ack", "ack", "ack"]);
    const h = await history("both-1");
    assert.deepEqual(h.map((r) => r.model), ["churn_telco", "churn_telco", "churn_subscription", "churn_subscription"]);
    const active = (name: string) => platform.registry.get(name).version;
    assert.deepEqual(h.map((r) => r.model_version), [active("churn_telco"), active("churn_telco"), active("churn_subscription"), active("churn_subscription")]);
    assert.equal(h[2]!.churn_probability, h[3]!.churn_probability, "telco fields do not move the subscription score");
    const s = await state("both-1");
    assert.equal(s.model, "churn_subscription");
    assert.equal(s.profile.monthly_charges, 95, "the telco profile is still kept");
    assert.equal(s.profile.plan, undefined, "plan is optional: scored without it");
  });

  it("refuses an event whose subscription or telco values are invalid, changing nothing, in one batch with good ones", async () => {
    await handler([message("bad-1", LOYAL)]);
    const before = await state("bad-1");
    const outcomes = await handler([
      message("bad-1", { device_count: "many" }),
      message("bad-1", { watch_time_hours: 5, monthly_charges: "lots" }), // the telco half is invalid: the whole event is refused
      message("bad-1", { payment_failures: 1.5 }),
      message("bad-1", { last_login_days: 3, unknown_field: "ignored" }),
    ]);
    assert.deepEqual(outcomes.map((o) => o.kind), ["invalid", "invalid", "invalid", "ack"]);
    assert.match((outcomes[0] as { error: string }).error, /device_count/);
    assert.match((outcomes[1] as { error: string }).error, /monthly_charges/);
    const after = await state("bad-1");
    assert.equal(after.events_seen, before.events_seen + 1);
    assert.deepEqual(after.profile, { ...LOYAL, last_login_days: 3 });
  });
});
