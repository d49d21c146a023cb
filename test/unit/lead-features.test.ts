import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { applyEvent, DAY_MS, emptyAggregates, windowTotals, type LeadAggregates } from "../../pipelines/lead/aggregates.ts";
import { createEventParser, specsOf, type LeadEvent } from "../../pipelines/lead/events.ts";
import { B2B_PROFILE_FIELDS, b2bFeatures, fallbackFeatures, neutralValues, usesFallback } from "../../pipelines/lead/features.ts";
import { ROOT_DIR } from "../../src/config.ts";
import { createEncoder, ModelCardSchema } from "../../src/models/index.ts";
import { leadEvents } from "../fixtures/lead-events.ts";

const card = (name: string) => ModelCardSchema.parse(JSON.parse(readFileSync(resolve(ROOT_DIR, "models", name, "1.0.0", "card.json"), "utf8")));
const b2b = card("b2b_lead_score");
const fallback = card("lead_scoring");
const parse = createEventParser([...specsOf(b2b, B2B_PROFILE_FIELDS), ...fallback.features]);
const neutral = neutralValues(b2b);

const T0 = Date.UTC(2026, 9, 1, 9);
const MIN = 60_000;

function event(type: string, data: Record<string, unknown>, at: number): LeadEvent {
  const parsed = parse(type, data, at);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return parsed.event;
}

/** Folds events into a fresh lead, as the handler does. */
function fold(events: Array<[type: string, data: Record<string, unknown>, at: number]>) {
  let agg: LeadAggregates | null = null;
  const profile: Record<string, unknown> = {};
  for (const [type, data, at] of events) {
    const e = event(type, data, at);
    agg ??= emptyAggregates(e.at);
    applyEvent(agg, profile, e);
  }
  return { agg: agg!, profile };
}

describe("lead event payloads", () => {
  it("accepts the catalogue and ignores fields it does not name", () => {
    assert.deepEqual(event("page_view", { page: "pricing", duration_sec: 30, referrer: "x" }, T0), { kind: "page_view", at: T0, page: "pricing", durationSec: 30 });
    assert.deepEqual(event("page_view", { page: "blog" }, T0), { kind: "page_view", at: T0, page: null, durationSec: 0 });
    assert.deepEqual(event("milestone", { milestone: "budget_confirmed" }, T0), { kind: "flag", at: T0, flag: "budget_confirmed", value: 1 });
    assert.deepEqual(event("milestone", { milestone: "competitor_evaluation", reached: false }, T0), { kind: "flag", at: T0, flag: "competitor_evaluation", value: 0 });
    assert.deepEqual(event("demo_request", {}, T0), { kind: "flag", at: T0, flag: "custom_demo_requested", value: 1 });
    assert.deepEqual(event("email_click", { campaign: "q4" }, T0), { kind: "email", at: T0, action: "click" });
    assert.deepEqual(event("webinar_attended", {}, T0), { kind: "count", at: T0, feature: "webinar_attendance", channel: "event" });
    assert.deepEqual(event("chat_message", { text: "hi" }, T0), { kind: "unknown", at: T0 });
    assert.deepEqual(event("profile", { company_public_status: true, company_revenue: 5e6, company_size: "11-50", nickname: "x" }, T0), {
      kind: "profile",
      at: T0,
      fields: { company_public_status: 1, company_revenue: 5e6, company_size: "11-50" },
    });
  });

  it("refuses values of the wrong type, and the values lead_scoring's card rejects", () => {
    const invalid = (type: string, data: Record<string, unknown>) => {
      const parsed = parse(type, data, T0);
      assert.equal(parsed.ok, false, `${type} ${JSON.stringify(data)}`);
      return parsed.ok ? "" : parsed.error;
    };
    assert.match(invalid("page_view", { duration_sec: "long" }), /invalid page_view data: duration_sec/);
    assert.match(invalid("page_view", { duration_sec: -1 }), /duration_sec/);
    assert.match(invalid("milestone", { milestone: "signed" }), /milestone/);
    assert.match(invalid("milestone", {}), /milestone/);
    assert.match(invalid("profile", { company_revenue: "big" }), /company_revenue/);
    assert.match(invalid("profile", { company_employee_count: 12.5 }), /company_employee_count/);
    assert.match(invalid("profile", { referral_source: "yes" }), /referral_source/);
    assert.match(invalid("profile", { industry_score: 11 }), /industry_score/, "lead_scoring rejects scores outside 1–10");
    assert.match(invalid("profile", { company_size: "huge" }), /company_size/);
    // b2b_lead_score clips instead of rejecting: out of range is fine here
    assert.ok(parse("profile", { company_employee_count: 1_000_000 }, T0).ok);
  });
});

describe("lead aggregates", () => {
  it("splits page views into visits by the 30-minute gap and derives bounce rate and session length", () => {
    const { agg } = fold([
      ["page_view", { page: "home", duration_sec: 20 }, T0],
      ["page_view", { page: "pricing", duration_sec: 40 }, T0 + 10 * MIN], // same visit
      ["page_view", { page: "blog", duration_sec: 30 }, T0 + 3 * 60 * MIN], // new visit, one page
      ["page_view", { page: "documentation" }, T0 + 26 * 60 * MIN], // new visit, one page
    ]);
    assert.equal(agg.visits, 3);
    assert.equal(agg.singlePageVisits, 2);
    const f = b2bFeatures(agg, {}, neutral);
    assert.equal(f.bounce_rate, 2 / 3);
    assert.equal(f.avg_session_duration_sec, 90 / 3);
    assert.equal(f.pricing_page_visits, 1);
    assert.equal(f.documentation_views, 1);
    assert.equal(f.website_visits_30d, 3);
    assert.equal(f.page_views_30d, 4);
  });

  it("counts 30-day windows on event time: old days leave as the lead's clock moves on", () => {
    const { agg } = fold([
      ["page_view", {}, T0],
      ["page_view", {}, T0 + 10 * DAY_MS],
      ["page_view", {}, T0 + 10 * DAY_MS + MIN],
      ["page_view", {}, T0 + 35 * DAY_MS],
    ]);
    assert.deepEqual(windowTotals(agg), { visits: 2, pageViews: 3 }, "day 0 is out of the window ending on day 35");
    assert.equal(agg.visits, 3, "all-time visits keep it");
    const late = fold([
      ["page_view", {}, T0 + 40 * DAY_MS],
      ["page_view", {}, T0 + 39 * DAY_MS], // late, inside the window
      ["page_view", {}, T0], // late, older than the window
    ]).agg;
    assert.deepEqual(windowTotals(late), { visits: 2, pageViews: 2 });
    assert.equal(late.clock, T0 + 40 * DAY_MS, "a late event never moves the clock back");
  });

  it("measures recency from the lead's clock, and counts touches and channels", () => {
    const { agg } = fold([
      ["profile", { company_revenue: 2e6 }, T0],
      ["email_sent", {}, T0 + DAY_MS],
      ["email_open", {}, T0 + 2 * DAY_MS],
      ["webinar_attended", {}, T0 + 4 * DAY_MS],
      ["milestone", { milestone: "decision_maker_contacted" }, T0 + 6 * DAY_MS],
      ["profile", { company_age_years: 3 }, T0 + 16 * DAY_MS],
    ]);
    const f = b2bFeatures(agg, {}, neutral);
    assert.equal(f.total_touchpoints, 3, "profile updates and sent emails are not touches");
    assert.equal(f.days_since_first_touch, 14);
    assert.equal(f.days_since_last_touch, 10);
    assert.equal(f.multi_channel_engagement, 1);
    assert.deepEqual(agg.channels, ["email", "event", "sales"]);
    assert.equal(f.emails_received, 1);
    assert.equal(f.email_open_rate, 1);
    assert.equal(f.email_click_rate, 0);
    assert.equal(f.decision_maker_contacted, 1);
    assert.equal(f.webinar_attendance, 1);
  });

  it("lets a milestone be left again, and an unknown event change nothing", () => {
    const { agg, profile } = fold([
      ["milestone", { milestone: "competitor_evaluation" }, T0],
      ["milestone", { milestone: "competitor_evaluation", reached: false }, T0 + DAY_MS],
    ]);
    assert.equal(b2bFeatures(agg, profile, neutral).competitor_evaluation, 0);
    const before = JSON.stringify({ agg, profile });
    applyEvent(agg, profile, event("chat_message", {}, T0 + 9 * DAY_MS));
    assert.equal(JSON.stringify({ agg, profile }), before);
  });
});

describe("lead features", () => {
  const encode = createEncoder(b2b);
  const encodeFallback = createEncoder(fallback);

  it("gives all 50 features from the first event: counts 0, unknown profile fields and empty ratios at the training mean", () => {
    const { agg, profile } = fold([["chat_message", {}, T0]]);
    const f = b2bFeatures(agg, profile, neutral);
    assert.deepEqual(Object.keys(f).sort(), b2b.features.map((s) => s.name).sort());
    assert.equal(f.website_visits_30d, 0);
    assert.equal(f.total_touchpoints, 0);
    assert.equal(f.budget_confirmed, 0);
    assert.equal(f.days_since_last_touch, 0);
    const means = b2b.explainer!.kind === "linear" ? b2b.explainer!.column_means : [];
    assert.equal(f.bounce_rate, means[13]);
    assert.equal(f.company_revenue, means[0]);
    assert.equal(f.geographic_tier, Math.round(means[6]!), "integers take the rounded mean");
    assert.equal(f.company_public_status, 0);
    assert.ok(encode(f).ok);
  });

  it("uses the latest profile values", () => {
    const { agg, profile } = fold([
      ["profile", { company_revenue: 1e6, referral_source: true }, T0],
      ["profile", { company_revenue: 3e6 }, T0 + MIN],
    ]);
    const f = b2bFeatures(agg, profile, neutral);
    assert.equal(f.company_revenue, 3e6);
    assert.equal(f.referral_source, 1);
  });

  it("falls back to lead_scoring only while a lead has given nothing but its fields", () => {
    const only = fold([["profile", { company_size: "51-200", budget: 40_000, industry_score: 7 }, T0]]);
    assert.equal(usesFallback(only.agg, only.profile, fallback), true);
    assert.deepEqual(fallbackFeatures(only.profile, fallback), { company_size: "51-200", budget: 40_000, industry_score: 7 });
    assert.ok(encodeFallback(fallbackFeatures(only.profile, fallback)).ok);

    const incomplete = fold([["profile", { company_size: "51-200", budget: 40_000 }, T0]]);
    assert.equal(usesFallback(incomplete.agg, incomplete.profile, fallback), false, "lead_scoring needs industry_score");
    const engaged = fold([
      ["profile", { company_size: "51-200", budget: 40_000, industry_score: 7 }, T0],
      ["page_view", {}, T0 + MIN],
    ]);
    assert.equal(usesFallback(engaged.agg, engaged.profile, fallback), false);
    const firmographics = fold([["profile", { company_size: "51-200", budget: 40_000, industry_score: 7, company_revenue: 1e6 }, T0]]);
    assert.equal(usesFallback(firmographics.agg, firmographics.profile, fallback), false);
  });

  it("encodes every event of the fixture", () => {
    const events = leadEvents(3000, 200);
    const leads = new Map<string, { agg: LeadAggregates | null; profile: Record<string, unknown> }>();
    for (const e of events) {
      const parsed = parse(e.type, e.data, Date.parse(e.timestamp));
      assert.ok(parsed.ok);
      const lead = leads.get(e.key) ?? { agg: null, profile: {} };
      leads.set(e.key, lead);
      lead.agg ??= emptyAggregates(parsed.event.at);
      applyEvent(lead.agg, lead.profile, parsed.event);
      const outcome = usesFallback(lead.agg, lead.profile, fallback)
        ? encodeFallback(fallbackFeatures(lead.profile, fallback))
        : encode(b2bFeatures(lead.agg, lead.profile, neutral));
      assert.ok(outcome.ok, `${e.id}: ${JSON.stringify(outcome)}`);
    }
    assert.equal(leads.size, 200);
    assert.deepEqual(leadEvents(3000, 200), events, "deterministic");
  });
});
