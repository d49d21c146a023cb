import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { ModelCardSchema, scoreBucket, ScoreBucketsSchema } from "../../src/models/card.ts";
import { createEncoder } from "../../src/models/encode.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";
import { B2B_FEATURE_NAMES, B2B_INTERCEPT, b2bLogit, EFFECTS, generateB2bLeads, NO_DIRECT_EFFECT } from "../../src/training/synthetic/b2b-leads.ts";
import { COMPANY_SIZES, generateLeadScoring } from "../../src/training/synthetic/lead-scoring.ts";
import { createRandom } from "../../src/training/synthetic/random.ts";
import { b2bLeadScore, quantileBuckets, trainB2bLeadScore } from "../../src/training/trainers/b2b-lead-score.ts";
import { leadScoring, trainLeadScoring } from "../../src/training/trainers/lead-scoring.ts";
import { assertOnnxParity, assertRegeneratesCardMetrics } from "../helpers/synthetic-model.ts";

/** Seed 002's example request, verbatim (docs/examples/sample_request_1.json in its API reference). */
const SEED_002_EXAMPLE = {
  company_revenue: 5000000.0,
  company_employee_count: 50,
  company_age_years: 5.5,
  company_funding_total: 2000000.0,
  company_growth_rate: 0.35,
  industry_tech_score: 0.8,
  geographic_tier: 1,
  company_public_status: 0,
  parent_company_exists: 1,
  subsidiary_count: 2,
  website_visits_30d: 45,
  page_views_30d: 120,
  avg_session_duration_sec: 180.5,
  bounce_rate: 0.35,
  pricing_page_visits: 5,
  demo_page_visits: 3,
  documentation_views: 10,
  email_open_rate: 0.65,
  email_click_rate: 0.25,
  emails_received: 8,
  whitepaper_downloads: 2,
  webinar_attendance: 1,
  social_media_engagement: 15,
  customer_success_interactions: 2,
  support_ticket_count: 0,
  days_since_first_touch: 30.0,
  days_since_last_touch: 2.0,
  total_touchpoints: 25,
  multi_channel_engagement: 1,
  decision_maker_contacted: 1,
  champion_identified: 1,
  budget_confirmed: 0,
  timeline_confirmed: 1,
  competitor_evaluation: 1,
  technical_evaluation_started: 1,
  contract_reviewed: 0,
  security_questionnaire_completed: 0,
  roi_calculator_used: 1,
  custom_demo_requested: 1,
  integration_questions_asked: 3,
  lead_source_quality: 0.75,
  attribution_touchpoints: 5,
  paid_channel_source: 1,
  referral_source: 0,
  event_source: 0,
  product_tier_interest: 2,
  feature_requests_count: 2,
  use_case_alignment: 0.85,
  integration_requirements: 3,
  deployment_preference: 0,
};

const rate = (labels: Uint8Array) => labels.reduce((s, y) => s + y, 0) / labels.length;

describe("seeded random draws", () => {
  it("repeat for a seed and have the stated moments", () => {
    const a = createRandom(5);
    const b = createRandom(5);
    const xs = Array.from({ length: 20_000 }, () => a.normal());
    assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b.normal()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `${mean} ${variance}`);
    const r = createRandom(6);
    const counts = Array.from({ length: 20_000 }, () => r.poisson(3.5));
    assert.ok(Math.abs(counts.reduce((s, k) => s + k, 0) / counts.length - 3.5) < 0.06);
    assert.equal(r.poisson(0), 0);
    const picks = Array.from({ length: 10_000 }, () => r.choice(["a", "b"], [3, 1]));
    assert.ok(Math.abs(picks.filter((p) => p === "a").length / 10_000 - 0.75) < 0.02);
  });
});

describe("lead_scoring generator", () => {
  const g = generateLeadScoring(5000, 1);

  it("is deterministic and converts 10–20% of leads", () => {
    assert.deepEqual(generateLeadScoring(50, 1).rows, g.rows.slice(0, 50));
    assert.ok(rate(g.labels) > 0.1 && rate(g.labels) < 0.2, `rate ${rate(g.labels)}`);
  });

  it("draws seed 000's seven fields in range, with the optional scores sometimes blank", () => {
    assert.deepEqual(Object.keys(g.rows[0]!), ["company_size", "budget", "industry_score", "engagement_score", "demographic_score", "behavioral_score", "source_score"]);
    for (const row of g.rows) {
      assert.ok((COMPANY_SIZES as readonly string[]).includes(row["company_size"]!));
      assert.ok(Number(row["budget"]) >= 500);
      for (const key of ["industry_score", "engagement_score", "demographic_score", "behavioral_score", "source_score"]) {
        if (row[key] === "") continue;
        const v = Number(row[key]);
        assert.ok(v >= 1 && v <= 10, `${key} ${v}`);
      }
    }
    const blank = g.rows.filter((r) => r["source_score"] === "").length / g.rows.length;
    assert.ok(Math.abs(blank - 0.3) < 0.03, `source_score blank ${blank}`);
    assert.ok(g.rows.every((r) => r["industry_score"] !== ""), "required fields are never blank");
  });

  it("has engagement drive conversion as documented", () => {
    const high = g.rows.map((r, i) => [Number(r["engagement_score"] || NaN), g.labels[i]!] as const).filter(([e]) => e >= 7);
    const low = g.rows.map((r, i) => [Number(r["engagement_score"] || NaN), g.labels[i]!] as const).filter(([e]) => e <= 4);
    const share = (xs: (readonly [number, number])[]) => xs.reduce((s, [, y]) => s + y, 0) / xs.length;
    assert.ok(share(high) > 2 * share(low), `${share(high)} vs ${share(low)}`);
  });
});

describe("b2b generator", () => {
  const g = generateB2bLeads(4000, 2);

  it("has exactly seed 002's 50 features, in its order", () => {
    assert.deepEqual([...B2B_FEATURE_NAMES], Object.keys(SEED_002_EXAMPLE));
    assert.deepEqual(Object.keys(g.rows[0]!), Object.keys(SEED_002_EXAMPLE));
    assert.equal(EFFECTS.length + NO_DIRECT_EFFECT.length, 51, "20 features with a direct effect + 1 interaction + 30 without");
  });

  it("is deterministic, converts 10–20%, and computes conversion from the documented effects", () => {
    assert.deepEqual(generateB2bLeads(20, 2).rows, g.rows.slice(0, 20));
    assert.ok(rate(g.labels) > 0.1 && rate(g.labels) < 0.2, `rate ${rate(g.labels)}`);
    // with the latent intent at 0, the log-odds is exactly intercept + Σ coefficient × value
    const lead = g.leads[0]!;
    const sum = EFFECTS.reduce((s, e) => s + e.coefficient * e.value(lead), 0);
    assert.ok(Math.abs(b2bLogit(lead, 0) - (B2B_INTERCEPT + sum)) < 1e-12);
    assert.ok(Math.abs(b2bLogit(lead, 1) - b2bLogit(lead, 0) - 0.3) < 1e-12, "latent intent effect 0.3");
    const withDm = g.leads.map((l, i) => [l.decision_maker_contacted, g.labels[i]!] as const);
    const share = (v: number) => withDm.filter(([d]) => d === v).reduce((s, [, y]) => s + y, 0) / withDm.filter(([d]) => d === v).length;
    assert.ok(share(1) > 2 * share(0), "decision maker contacted converts far more often");
  });
});

describe("score buckets", () => {
  it("cuts at the quintiles of the scores and counts positives per bucket", () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    const labels = scores.map((s) => (s >= 0.8 ? 1 : 0));
    const q = quantileBuckets(scores, labels, 5);
    assert.deepEqual(q.cut_points.map((c) => Number(c.toFixed(3))), [0.195, 0.395, 0.595, 0.795]);
    assert.deepEqual(q.positive_rate, [0, 0, 0, 0, 1]);
    const buckets = ScoreBucketsSchema.parse({ method: "test", cut_points: q.cut_points, tiers: ["E", "D", "C", "B", "A"] });
    assert.deepEqual(scoreBucket(buckets, 0), { bucket: 1, tier: "E" });
    assert.deepEqual(scoreBucket(buckets, 0.395), { bucket: 3, tier: "C" }, "a score on a cut goes up");
    assert.deepEqual(scoreBucket(buckets, 0.99), { bucket: 5, tier: "A" });
    assert.throws(() => quantileBuckets(new Array(10).fill(0.5), new Array(10).fill(0), 5), /repeats/);
    assert.equal(ScoreBucketsSchema.safeParse({ method: "x", cut_points: [0.5, 0.2] }).success, false);
    assert.equal(ScoreBucketsSchema.safeParse({ method: "x", cut_points: [0.5], tiers: ["a"] }).success, false);
  });
});

describe("synthetic trainers on small samples", () => {
  it("lead_scoring: a synthetic card with the generator and onnxruntime parity", async () => {
    const trained = trainLeadScoring(2000, 3, { now: new Date("2020-01-01T00:00:00Z") });
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.training.synthetic, true);
    assert.match(card.description, /SYNTHETIC/);
    assert.match(card.training.notes, /^SYNTHETIC DATA: 2000 rows/);
    const generator = card.training.hyperparameters["synthetic_generator"] as { seed: number; effects: unknown[] };
    assert.equal(generator.seed, 3);
    assert.ok(generator.effects.length >= 7);
    assert.ok(card.metrics.validation["auc"]! > 0.75);
    await assertOnnxParity(card, trained.onnx, trained.parity.rows, trained.parity.tolerance);
  });

  it("b2b_lead_score: quintile buckets with tiers E..A, rising conversion", async () => {
    const trained = trainB2bLeadScore(3000, 4, { now: new Date("2020-01-01T00:00:00Z") });
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.training.synthetic, true);
    assert.equal(card.features.length, 50);
    const buckets = card.score_buckets!;
    assert.equal(buckets.cut_points.length, 4);
    assert.deepEqual(buckets.tiers, ["E", "D", "C", "B", "A"]);
    assert.ok(buckets.positive_rate![4]! > buckets.positive_rate![0]!);
    await assertOnnxParity(card, trained.onnx, trained.parity.rows, trained.parity.tolerance);
  });
});

for (const name of ["lead_scoring", "b2b_lead_score"]) {
  describe(`shipped models/${name}/1.0.0`, () => {
    const dir = fileURLToPath(new URL(`../../models/${name}/1.0.0/`, import.meta.url));

    it("parity.json is reproduced by onnxruntime within its tolerance", async () => {
      const card = await readCard(dir);
      const parity = await readParity(dir);
      assert.equal(parity.model, name);
      assert.ok(parity.tolerance <= 1e-5 && parity.rows.length >= 50);
      await assertOnnxParity(card, `${dir}/${MODEL_FILE}`, parity.rows, parity.tolerance);
    });

    it("says it is synthetic, and its validation rows regenerate to the card's metrics", async () => {
      const card = await readCard(dir);
      assert.equal(card.training.synthetic, true);
      assert.match(card.description, /SYNTHETIC/);
      assert.match(card.training.notes, /SYNTHETIC DATA/);
      await assertRegeneratesCardMetrics(name === "lead_scoring" ? leadScoring : b2bLeadScore, card, dir);
    });
  });
}

describe("shipped b2b_lead_score answers seed 002's example", () => {
  it("encodes the example request and places it in a bucket and tier", async () => {
    const dir = fileURLToPath(new URL("../../models/b2b_lead_score/1.0.0/", import.meta.url));
    const card = await readCard(dir);
    assert.deepEqual(card.features.map((f) => f.name), Object.keys(SEED_002_EXAMPLE));
    const encoded = createEncoder(card)(SEED_002_EXAMPLE);
    assert.ok(encoded.ok, JSON.stringify(encoded.ok ? "" : encoded.errors));
    const session = await loadOnnxSession(`${dir}/${MODEL_FILE}`, card);
    const [p] = await runBatch(session, card, encoded.vector, 1);
    await session.release();
    const { bucket, tier } = scoreBucket(card.score_buckets!, p!);
    assert.ok(bucket >= 1 && bucket <= 5);
    assert.equal(tier, ["E", "D", "C", "B", "A"][bucket - 1]);
    assert.ok(p! > 0.5, `an engaged lead with a decision maker and champion scores high: ${p}`);
  });
});
