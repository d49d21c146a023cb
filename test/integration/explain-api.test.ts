import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { shippedVersion } from "../helpers/shipped.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

const CUSTOMER = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month", internet_service: "Fiber optic" };

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("explanations (seed 001's /explain)", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"] });
    user = await signedInClient(platform);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("explains new features exactly: every feature, and base value plus contributions give the scored probability", async () => {
    const before = await creditsOf(platform, user.userId);
    const res = await user.http.post("/api/v1/explain", { model_id: "churn_telco", features: CUSTOMER });
    assert.equal(res.status, 200, res.text);
    const e = res.body;
    assert.equal(e.method, "blended_linear_and_tree_shap");
    assert.equal(e.link, "logit");
    assert.equal(e.contributions.length, shippedVersion("churn_telco").card.features.length, "every feature");
    const magnitudes = e.contributions.map((c: { contribution: number }) => Math.abs(c.contribution));
    assert.deepEqual(magnitudes, [...magnitudes].sort((a, b) => b - a));
    const sum = e.contributions.reduce((s: number, c: { contribution: number }) => s + c.contribution, 0);
    assert.ok(Math.abs(e.base_value + sum - e.raw_score) < 1e-4);
    assert.ok(Math.abs(sigmoid(e.raw_score) - e.score) < 1e-5, `sigmoid(${e.raw_score}) vs ${e.score}`);
    // the features were scored like any prediction: stored under the id and charged
    const stored = await user.http.get(`/api/v1/predictions/${e.prediction_id}`);
    assert.equal(stored.body.score, e.score);
    await eventually(async () => ((await creditsOf(platform, user.userId)) === before - 1 ? true : undefined), 6_000, "one credit");
  });

  it("explains a stored prediction by id, agreeing with the scorer's own top contributions, for free", async () => {
    for (const model of ["lead_conversion", "demand_forecast", "b2b_lead_score"]) {
      const features = shippedVersion(model).parity.rows[0]!.features;
      const scored = await user.http.post("/api/v1/predict", { model_id: model, features, include_explanation: true });
      assert.equal(scored.status, 200, scored.text);
      const before = await creditsOf(platform, user.userId);
      const res = await user.http.post("/api/v1/explain", { prediction_id: scored.body.prediction_id });
      assert.equal(res.status, 200, `${model}: ${res.text}`);
      assert.equal(res.body.model_version, scored.body.model_version);
      assert.equal(res.body.score, scored.body.score);
      for (const [feature, contribution] of Object.entries(scored.body.explanation.feature_importance) as Array<[string, number]>) {
        assert.ok(Math.abs(res.body.feature_importance[feature] - contribution) < 1e-5, `${model} ${feature}`);
      }
      const link = res.body.link === "logit" ? sigmoid : (x: number) => x;
      assert.ok(Math.abs(link(res.body.raw_score) - res.body.score) < 1e-4 * Math.max(1, Math.abs(res.body.score)), `${model}: ${res.body.raw_score} vs ${res.body.score}`);
      assert.equal(await creditsOf(platform, user.userId), before, `${model}: explaining a stored prediction costs nothing`);
    }
  });

  it("answers what cannot be explained with a 4xx", async () => {
    const other = await signedInClient(platform);
    const theirs = await other.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER });
    const notMine = await user.http.post("/api/v1/explain", { prediction_id: theirs.body.prediction_id });
    assert.equal(notMine.status, 404);

    const pendingId = randomUUID();
    await platform.db("predictions").insert({
      id: pendingId,
      message_id: pendingId,
      model: "churn_telco",
      model_version: "1.2.0",
      source: "sync",
      tenant_id: 1,
      user_id: user.userId,
      status: "pending",
      input: JSON.stringify(CUSTOMER),
    });
    const pending = await user.http.post("/api/v1/explain", { prediction_id: pendingId });
    assert.equal(pending.status, 409, pending.text);

    const before = await creditsOf(platform, user.userId);
    const cases: Array<[string, unknown, number]> = [
      ["a model without an explainer", { model_id: "customer_segments", features: {} }, 422],
      ["an unknown model", { model_id: "no_such_model", features: {} }, 404],
      ["invalid features", { model_id: "churn_telco", features: { tenure: "x" } }, 422],
      ["neither an id nor features", {}, 422],
      ["both", { prediction_id: pendingId, model_id: "churn_telco", features: CUSTOMER }, 422],
      ["not a uuid", { prediction_id: "42" }, 422],
    ];
    for (const [what, body, status] of cases) {
      const res = await user.http.post("/api/v1/explain", body);
      assert.equal(res.status, status, `${what}: ${res.text}`);
      assert.equal(res.body.status, "error", what);
    }
    assert.equal(await creditsOf(platform, user.userId), before, "nothing was scored or charged");
    assert.equal((await client(platform.url!).post("/api/v1/explain", { model_id: "churn_telco", features: CUSTOMER })).status, 401);
  });

  it("lists the explanation methods with the models using each", async () => {
    const res = await user.http.get("/api/v1/explain/methods");
    assert.equal(res.status, 200);
    const byMethod = Object.fromEntries(res.body.methods.map((m: { method: string; models: string[] }) => [m.method, m.models]));
    assert.ok(byMethod.blended_linear_and_tree_shap.includes("churn_telco"));
    assert.ok(byMethod.tree_shap.includes("lead_conversion"));
    assert.ok(byMethod.linear_contributions.includes("b2b_lead_score"));
    assert.ok(res.body.unexplained_models.includes("customer_segments"));
  });
});
