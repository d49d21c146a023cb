import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, nanos } from "@nats-io/transport-node";
import { createLeadHandler } from "../../pipelines/lead/handler.ts";
import { createLogger } from "../../src/log.ts";
import type { Platform } from "../../src/platform.ts";
import { decodeJson, encodeJson } from "../../src/streams/index.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

const T0 = Date.UTC(2026, 10, 2, 9);
const HOUR = 3_600_000;

/** A strong-fit company: the profile a hot lead starts from. */
const STRONG_FIT = {
  company_revenue: 40_000_000,
  company_employee_count: 300,
  industry_tech_score: 0.9,
  lead_source_quality: 0.9,
  use_case_alignment: 0.9,
  referral_source: true,
  geographic_tier: 1,
};

describe("the lead pipeline", () => {
  const config = isolatedConfig();
  const roles = { api: false, pipelines: ["lead"] };
  let platform: Platform;
  let published = 0;

  before(async () => {
    platform = await startTestPlatform(config, roles);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  const state = (id: string) => platform.db("lead_state").where({ lead_id: id }).first();
  const history = (id: string) => platform.db("lead_scores").where({ lead_id: id }).orderBy("stream_seq");
  const seen = async (id: string, n: number) => eventually(async () => ((await state(id))?.events_seen === n ? state(id) : undefined), 15_000, `${id}: ${n} events`);

  /** Publishes `events` for lead `key` in order, an hour apart from T0 unless `at` says otherwise. */
  async function send(key: string, events: Array<[type: string, data?: Record<string, unknown>, at?: number]>) {
    for (const [i, [type, data, at]] of events.entries()) {
      const id = `${key}-${++published}`;
      const envelope = { id, domain: "lead", key, type, data: data ?? {}, timestamp: new Date(at ?? T0 + i * HOUR).toISOString() };
      await platform.bus.publisher.publish("events", platform.bus.names.eventSubject("lead", key), envelope, { msgId: id });
    }
  }

  it("rescores a lead after every event, keeping its aggregates and its score history", async () => {
    await send("L-1", [
      ["profile", { company_revenue: 2_000_000, company_employee_count: 20 }],
      ["page_view", { page: "home", duration_sec: 20 }],
      ["page_view", { page: "pricing", duration_sec: 60 }, T0 + HOUR + 5 * 60_000],
      ["email_sent"],
      ["email_open"],
      ["page_view", { page: "blog" }, T0 - 45 * 24 * HOUR], // late and older than the 30-day window
    ]);
    const s = await seen("L-1", 6);
    assert.deepEqual(s.counters, { profile: 1, page_view: 3, email_sent: 1, email_open: 1 });
    assert.equal(s.aggregates.visits, 2, "the two views an hour in are one visit; the late one is another");
    assert.deepEqual(s.aggregates.days.map((d: number[]) => d.slice(1)), [[1, 2]], "the late view is outside the window");
    assert.equal(s.aggregates.pages.pricing, 1);
    assert.equal(s.profile.company_revenue, 2_000_000);
    assert.equal(s.model, "b2b_lead_score");
    assert.match(s.tier, /^[A-E]$/);

    const h = await history("L-1");
    assert.equal(h.length, 6, "one score per event");
    assert.deepEqual(h.map((r) => r.event_type), ["profile", "page_view", "page_view", "email_sent", "email_open", "page_view"]);
    assert.ok(h.every((r, i) => i === 0 || r.stream_seq > h[i - 1]!.stream_seq));
    assert.ok(h.every((r) => r.model === "b2b_lead_score" && r.model_version === "1.0.0" && /^[A-E]$/.test(r.tier) && r.score > 0 && r.score < 1));
    assert.equal(h.at(-1)!.score, s.score);
    assert.equal(Number(s.last_seq), Number(h.at(-1)!.stream_seq));
  });

  it("scores an event published again after the duplicate window once more, as its state applies it once more", async () => {
    const { stream } = platform.bus.names.eventStreams.find((s) => s.domain === "lead")!;
    const { config: streamConfig } = await platform.bus.jsm.streams.info(stream);
    await platform.bus.jsm.streams.update(stream, { ...streamConfig, duplicate_window: nanos(100) });
    try {
      const envelope = { id: "L-again-1", domain: "lead", key: "L-again", type: "page_view", data: { page: "pricing" }, timestamp: new Date(T0).toISOString() };
      const subject = platform.bus.names.eventSubject("lead", "L-again");
      const first = await platform.bus.publisher.publish("events", subject, envelope, { msgId: envelope.id });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await platform.bus.publisher.publish("events", subject, envelope, { msgId: envelope.id });
      assert.ok(second.seq > first.seq && !second.duplicate, "past the window, the stream stores the event again");
      await seen("L-again", 2);
      const h = await history("L-again");
      assert.deepEqual(
        h.map((r) => [r.message_id, Number(r.stream_seq)]),
        [
          ["L-again-1", first.seq],
          ["L-again-1", second.seq],
        ],
      );
    } finally {
      await platform.bus.jsm.streams.update(stream, streamConfig);
    }
  });

  it("raises lead.hot once, on alerts.lead.hot, when a lead becomes tier A", async () => {
    const alerts: unknown[] = [];
    const sub = platform.bus.nc.subscribe(platform.bus.names.alertSubject("lead.hot"), { callback: (_e, m) => void alerts.push(decodeJson(m.data)) });
    await send("L-2", [
      ["profile", STRONG_FIT],
      ["page_view", { page: "pricing", duration_sec: 120 }],
      ["milestone", { milestone: "decision_maker_contacted" }],
      ["milestone", { milestone: "budget_confirmed" }],
      ["milestone", { milestone: "champion_identified" }],
      ["page_view", { page: "pricing", duration_sec: 90 }],
      ["demo_request"],
    ]);
    await seen("L-2", 7);
    const tiers = (await history("L-2")).map((r) => r.tier);
    assert.notEqual(tiers[0], "A", "a strong fit alone is not hot");
    assert.deepEqual(tiers.slice(-3), ["A", "A", "A"], `tiers ${tiers.join(",")}`);

    const stored = await platform.db("alerts").where({ entity_id: "L-2" });
    assert.equal(stored.length, 1, "only the transition to A alerts");
    assert.equal(stored[0].type, "lead.hot");
    assert.equal(stored[0].severity, "high");
    assert.equal(stored[0].entity_type, "lead");
    assert.equal(stored[0].source, "lead");
    assert.equal(stored[0].data.tier, "A");
    assert.notEqual(stored[0].data.previous_tier, "A");
    await eventually(async () => (alerts.length === 1 ? true : undefined), 5000, "the alert on alerts.lead.hot");
    // marked published once the server has acknowledged it, just after the batch's commit
    await eventually(async () => (await platform.db("alerts").where({ id: stored[0].id }).first())?.published_at ?? undefined, 5000, "published_at");
    assert.equal((alerts[0] as { entity_id: string }).entity_id, "L-2");
    sub.unsubscribe();
  });

  it("scores a lead with only lead_scoring's fields on lead_scoring (no tier) until it engages", async () => {
    await send("L-3", [
      ["profile", { company_size: "201-1000", budget: 150_000, industry_score: 8, engagement_score: 7 }],
      ["page_view", { page: "documentation" }],
    ]);
    await seen("L-3", 2);
    const h = await history("L-3");
    assert.deepEqual(h.map((r) => [r.model, r.tier === null]), [["lead_scoring", true], ["b2b_lead_score", false]]);
    assert.ok(h[0].score > 0 && h[0].score < 1);
  });

  it("counts unknown event types without changing the score", async () => {
    await send("L-4", [["profile", { company_revenue: 9_000_000 }], ["chat_message", { text: "hello" }], ["chat_message"], ["constructor"], ["__proto__"]]);
    const s = await seen("L-4", 5);
    assert.deepEqual(s.counters, JSON.parse('{"profile": 1, "chat_message": 2, "constructor": 1, "__proto__": 1}'));
    const scores = (await history("L-4")).map((r) => r.score);
    assert.equal(new Set(scores).size, 1, `scores ${scores.join(", ")}`);
  });

  it("dead-letters events it cannot use, without holding up the rest", async () => {
    const js = jetstream(platform.bus.nc);
    const subject = platform.bus.names.eventSubject("lead", "L-5");
    const envelope = (id: string, type: string, data: Record<string, unknown>) =>
      JSON.stringify({ id, domain: "lead", key: "L-5", type, data, timestamp: new Date(T0).toISOString() });
    await js.publish(subject, "not json", { msgID: "L5-poison-1" });
    await js.publish(subject, envelope("L5-bad-2", "page_view", { duration_sec: "long" }), { msgID: "L5-bad-2" });
    await js.publish(subject, envelope("L5-bad-3", "profile", { company_size: "huge" }), { msgID: "L5-bad-3" });
    await js.publish(subject, envelope("L5-good", "page_view", { page: "pricing" }), { msgID: "L5-good" });
    const s = await seen("L-5", 1);
    assert.deepEqual(s.counters, { page_view: 1 });
    assert.deepEqual(s.profile, {}, "the refused profile changed nothing");

    const names = platform.bus.names;
    const dlq = await eventually(async () => {
      const info = await platform.bus.jsm.streams.info(names.dlq);
      return info.state.messages >= 3 ? info : undefined;
    }, 20_000, "three dead letters");
    assert.equal(dlq.state.messages, 3);
    const letters = await Promise.all([0, 1, 2].map((i) => platform.bus.jsm.streams.getMessage(names.dlq, { seq: dlq.state.first_seq + i })));
    assert.ok(letters.every((m) => m!.header.get("Tidecast-Dlq-Consumer") === "lead" && m!.header.get("Tidecast-Dlq-Deliveries") === "1"));
    assert.match(letters[0]!.header.get("Tidecast-Dlq-Error"), /not a lead event/);
    assert.match(letters[1]!.header.get("Tidecast-Dlq-Error"), /invalid page_view data: duration_sec/);
    assert.match(letters[2]!.header.get("Tidecast-Dlq-Error"), /invalid profile data: company_size/);
  });

  it("keeps state across a restart", async () => {
    await send("L-6", [["profile", { company_revenue: 5_000_000 }], ["page_view", {}]]);
    await seen("L-6", 2);
    await send("L-6", [["email_open", {}, T0 + 2 * HOUR]]);
    await seen("L-6", 3);
    await platform.close();
    platform = await startTestPlatform(config, roles);
    await send("L-6", [["page_view", {}, T0 + 5 * HOUR], ["profile", { company_employee_count: 40 }, T0 + 6 * HOUR]]);
    const s = await seen("L-6", 5);
    assert.equal(s.aggregates.visits, 2);
    assert.equal(s.aggregates.touches, 3);
    assert.deepEqual(s.profile, { company_revenue: 5_000_000, company_employee_count: 40 }, "a batch without a profile event kept the stored profile");
    assert.equal((await history("L-6")).length, 5);
  });

  it("reloads a lead another process has moved on since this one cached it", async () => {
    // two handlers stand for two processes taking turns as leader; messages are fed directly
    const { db, bus, registry, metrics } = platform;
    const handler = () => createLeadHandler({ db, bus, registry, metrics, log: createLogger("silent"), config });
    const [a, b] = [handler(), handler()];
    const message = (seq: number, type: string, data: Record<string, unknown> = {}): JsMsg => {
      const h = natsHeaders();
      h.set("Nats-Msg-Id", `X-1-${seq}`);
      const body = { id: `X-1-${seq}`, domain: "lead", key: "X-1", type, data, timestamp: new Date(T0 + seq * HOUR).toISOString() };
      return { subject: "x", data: encodeJson(body), seq: 1_000_000 + seq, headers: h, info: { stream: "EVENTS_LEAD", deliveryCount: 1, pending: 0 } } as unknown as JsMsg;
    };
    await a([message(1, "page_view")]);
    await b([message(2, "email_open")]);
    await a([message(3, "webinar_attended")]);
    await a([message(2, "email_open")]); // a redelivery of what b applied: skipped
    const s = await state("X-1");
    assert.equal(s.events_seen, 3);
    assert.deepEqual(s.counters, { page_view: 1, email_open: 1, webinar_attended: 1 });
    assert.equal(s.aggregates.touches, 3);
    assert.equal((await history("X-1")).length, 3);
  });
});
