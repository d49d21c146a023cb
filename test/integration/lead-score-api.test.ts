import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { shippedVersion } from "../helpers/shipped.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

const MODEL = "b2b_lead_score";

const { version, card, parity } = shippedVersion(MODEL);
const buckets = card.score_buckets!;
const leads = parity.rows;

/** The bucket the card's cut points give a score, counted here independently of the platform. */
function expectedBucket(score: number): { bucket: number; tier: string } {
  const bucket = 1 + buckets.cut_points.filter((cut) => score >= cut).length;
  return { bucket, tier: buckets.tiers![bucket - 1]! };
}

describe("seed 002's lead-scoring API", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;
  const predictMessages = async () => (await platform.bus.jsm.streams.info(platform.bus.names.predict)).state.messages;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"] });
    user = await signedInClient(platform);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("scores a lead with the trainer's probability, its bucket and tier, and stores it under the request id", async () => {
    const lead = leads[0]!;
    const res = await user.http.post("/api/v1/score", { lead_id: "LEAD-12345", features: lead.features });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.model, { name: MODEL, version });
    assert.equal(res.body.lead_id, "LEAD-12345");
    assert.ok(Math.abs(res.body.score.raw_score - lead.probability) < 1e-5, `${res.body.score.raw_score} vs ${lead.probability}`);
    assert.deepEqual(res.body.score, { raw_score: res.body.score.raw_score, ...expectedBucket(res.body.score.raw_score) });
    assert.equal(res.body.timing, undefined, "details only when asked for");

    const stored = await user.http.get(`/api/v1/predictions/${res.body.request_id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.model_id, MODEL);
    assert.deepEqual(stored.body.output.details, { bucket: res.body.score.bucket, tier: res.body.score.tier });
    const generic = await user.http.post("/api/v1/predict", { model_id: MODEL, features: lead.features });
    assert.deepEqual(generic.body.details, { bucket: res.body.score.bucket, tier: res.body.score.tier }, "/api/v1/predict gives the same bucket and tier");
  });

  it("adds the tier definitions, timing and API version with include_details", async () => {
    const res = await user.http.post("/api/v1/score?include_details=true", { features: leads[1]!.features });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.lead_id, null);
    assert.deepEqual(Object.keys(res.body.score.ranking.tier_definition).sort(), ["A", "B", "C", "D", "E"]);
    assert.match(res.body.score.ranking.tier_definition.A, /bucket 5/);
    assert.ok(res.body.timing.latency_ms > 0);
    assert.match(res.body.api_version, /^\d+\.\d+\.\d+$/);
    const bad = await user.http.post("/api/v1/score?include_details=maybe", { features: leads[1]!.features });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.details.include_details);
  });

  it("scores a batch in request order, each lead stored and charged like a single prediction", async () => {
    const batch = leads.slice(0, 40).map((lead, i) => ({ lead_id: `L-${i}`, features: lead.features }));
    const before = await creditsOf(platform, user.userId);
    const res = await user.http.post("/api/v1/score/batch", batch);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.length, 40);
    res.body.forEach((scored: { lead_id: string; request_id: string; score: { raw_score: number; bucket: number; tier: string } }, i: number) => {
      assert.equal(scored.lead_id, `L-${i}`);
      assert.ok(Math.abs(scored.score.raw_score - leads[i]!.probability) < 1e-5, `lead ${i}`);
      assert.deepEqual(scored.score, { raw_score: scored.score.raw_score, ...expectedBucket(scored.score.raw_score) });
    });
    assert.equal(new Set(res.body.map((s: { request_id: string }) => s.request_id)).size, 40);
    assert.deepEqual([...new Set(res.body.map((s: { score: { tier: string } }) => s.score.tier))].sort(), ["A", "B", "C", "D", "E"], "validation leads span every tier");
    await eventually(async () => ((await creditsOf(platform, user.userId)) === before - 40 ? true : undefined), 6_000, "one credit per lead");
    assert.match((await client(platform.url!).get("/metrics")).text, /model_prediction_buckets_count\{model="b2b_lead_score"\} [1-9]/);
  });

  it("refuses a batch over 100 leads, or with one bad lead, whole: nothing published, nothing charged", async () => {
    const messages = await predictMessages();
    const before = await creditsOf(platform, user.userId);
    const over = await user.http.post("/api/v1/score/batch", Array.from({ length: 101 }, () => ({ features: leads[0]!.features })));
    assert.equal(over.status, 400, over.text);
    assert.equal(over.body.code, "BAD_REQUEST");
    assert.equal(over.body.message, "Maximum 100 leads per batch request");

    const { company_revenue: _dropped, ...missing } = leads[0]!.features;
    const cases: Array<[string, unknown, Record<string, string[]>]> = [
      ["a missing feature", [{ features: leads[0]!.features }, { features: missing }], { "1.features.company_revenue": ["is required"] }],
      ["a wrong type", [{ features: { ...leads[0]!.features, budget_confirmed: "maybe" } }], { "0.features.budget_confirmed": ["must be a boolean (true/false, yes/no or 1/0)"] }],
      ["an unknown feature", [{ features: { ...leads[0]!.features, favourite_colour: 1 } }], { "0.features.favourite_colour": ["unknown field"] }],
      // passes the body's shape (a number as text), then the card's encoder names it under the same path
      ["decimal text that is not a number", [{ features: leads[0]!.features }, { features: { ...leads[0]!.features, bounce_rate: "abc" } }], { "1.features.bounce_rate": ["must be a number"] }],
    ];
    for (const [what, body, details] of cases) {
      const res = await user.http.post("/api/v1/score/batch", body);
      assert.equal(res.status, 422, `${what}: ${res.text}`);
      assert.equal(res.body.code, "INVALID_INPUT", what);
      assert.deepEqual(res.body.details, details, what);
    }
    for (const body of [[], {}, "[", [1]]) {
      const res = await user.http.post("/api/v1/score/batch", body);
      assert.ok(res.status === 400 || res.status === 422, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.status, "error");
    }
    const single = await user.http.post("/api/v1/score", { features: missing });
    assert.deepEqual(single.body.details, { "features.company_revenue": ["is required"] });
    assert.equal(await predictMessages(), messages, "refused requests never reach the stream");
    assert.equal(await creditsOf(platform, user.userId), before);
  });

  it("clips an out-of-range value as the card declares, with a warning", async () => {
    const res = await user.http.post("/api/v1/score/batch", [{ features: { ...leads[0]!.features, company_revenue: 1e15 } }]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body[0].warnings.length, 1);
    assert.match(res.body[0].warnings[0], /company_revenue: .* clipped/);
  });

  it("describes the model: info, features and importance", async () => {
    const names = card.features.map((f) => f.name);
    const info = await user.http.get("/api/v1/model/info");
    assert.equal(info.status, 200);
    assert.equal(info.body.version, version);
    assert.equal(info.body.n_features, 50);
    assert.deepEqual(info.body.features, names);
    assert.equal(info.body.metadata.is_stub, false);
    assert.equal(info.body.metadata.synthetic, true);
    assert.equal(info.body.metadata.model_type, "logistic_regression");
    const features = await user.http.get("/api/v1/model/features");
    assert.deepEqual(features.body, { features: names, count: 50 });
    const importance = await user.http.get("/api/v1/model/importance");
    const entries = Object.entries(importance.body.importance) as Array<[string, number]>;
    assert.equal(entries.length, 50);
    assert.deepEqual(entries.map(([, v]) => v), entries.map(([, v]) => v).sort((a, b) => b - a), "largest first");
    assert.deepEqual(importance.body.top_10, entries.slice(0, 10));
    for (const path of ["/api/v1/model/info", "/api/v1/model/features", "/api/v1/model/importance"]) {
      assert.equal((await client(platform.url!).get(path)).status, 401, path);
    }
    assert.equal((await client(platform.url!).post("/api/v1/score", { features: leads[0]!.features })).status, 401);
  });
});

describe("a lead batch the scorer does not answer in time", () => {
  const config = isolatedConfig({ PREDICT_TIMEOUT_MS: "300" });
  after(() => dropIsolated(config));

  it("gives 504 listing each lead's request id to poll, and every lead completes once a scorer runs", async () => {
    const api = await startTestPlatform(config, { api: true, pipelines: [] });
    try {
      const user = await signedInClient(api);
      const res = await user.http.post("/api/v1/score/batch", leads.slice(0, 3).map((lead, i) => ({ lead_id: `L-${i}`, features: lead.features })));
      assert.equal(res.status, 504, res.text);
      assert.equal(res.body.code, "PREDICTION_TIMEOUT");
      const pending = res.body.details.leads as Array<{ index: number; status: string; request_id: string; poll: string }>;
      assert.deepEqual(pending.map((l) => [l.index, l.status]), [[0, "pending"], [1, "pending"], [2, "pending"]]);

      const scorer = await startTestPlatform(config, { api: false, pipelines: ["scorer"] });
      try {
        for (const [i, lead] of pending.entries()) {
          const done = await eventually(async () => {
            const r = await user.http.get(lead.poll);
            return r.body.status === "completed" ? r.body : undefined;
          }, 10_000, `lead ${i}`);
          assert.ok(Math.abs(done.score - leads[i]!.probability) < 1e-5);
          assert.deepEqual(done.output.details, expectedBucket(done.score));
        }
      } finally {
        await scorer.close();
      }
    } finally {
      await api.close();
    }
  });
});
