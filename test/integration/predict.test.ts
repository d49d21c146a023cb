import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

const CUSTOMER = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month", internet_service: "Fiber optic" };

describe("synchronous prediction through the stream", () => {
  const config = isolatedConfig({ MAX_BODY_BYTES: "4096" });
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

  it("answers POST /api/predict/churn in seed 000's shape and stores the prediction before answering", async () => {
    const res = await user.http.post("/api/predict/churn", { ...CUSTOMER, phone_service: true, partner: "No" });
    assert.equal(res.status, 200, res.text);
    const p = res.body.prediction;
    assert.equal(res.body.model, "churn_telco");
    assert.ok(p.churn_probability > 0.5 && p.churn_probability < 1, `short-tenure fiber month-to-month churns: ${p.churn_probability}`);
    assert.equal(p.risk_level, p.churn_probability >= 0.6 ? "High" : "Medium");
    assert.equal(p.prediction, 1);
    assert.equal(p.key_factors.length, 3);
    assert.ok(Math.abs(p.retention_score - (1 - p.churn_probability) * 100) < 0.06);
    assert.equal(res.body.credits_consumed, 1);
    assert.ok(res.body.processing_time > 0 && res.body.processing_time < 5);

    // the row was committed before the reply was sent
    const row = await platform.db("predictions").where({ id: res.body.prediction_id }).first();
    assert.equal(row.status, "completed");
    assert.equal(row.source, "sync");
    assert.equal(row.user_id, user.userId);
    assert.equal(row.message_id, res.body.prediction_id);
    assert.ok(Math.abs(row.score - p.churn_probability) < 1e-4);
    assert.equal(await creditsOf(platform, user.userId), 999);

    const got = await user.http.get(`/api/v1/predictions/${res.body.prediction_id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.status, "completed");
    assert.deepEqual(got.body.input, { ...CUSTOMER, phone_service: true, partner: "No" });
    assert.equal(got.body.output.details.risk_level, p.risk_level);
  });

  it("scores the same features identically every time, and a lower-risk customer lower", async () => {
    const a = await user.http.post("/api/predict/churn", CUSTOMER);
    const b = await user.http.post("/api/predict/churn", CUSTOMER);
    assert.equal(a.body.prediction.churn_probability, b.body.prediction.churn_probability);
    assert.notEqual(a.body.prediction_id, b.body.prediction_id);
    const loyal = await user.http.post("/api/predict/churn", { tenure: 70, monthly_charges: 25, contract_type: "Two year", internet_service: "No" });
    assert.equal(loyal.body.prediction.risk_level, "Low");
    assert.ok(loyal.body.prediction.churn_probability < a.body.prediction.churn_probability);
  });

  it("answers POST /api/predict/lead-score in seed 000's shape, its quality on the model's own threshold", async () => {
    const threshold = (await user.http.get("/api/v1/models/lead_scoring")).body.card.threshold as number;
    const leads = [
      { company_size: "1-10", budget: 1000, industry_score: 1 },
      { company_size: "51-200", budget: 250000, industry_score: 8.5 },
      { company_size: "1000+", budget: 2000000, industry_score: 9.5, engagement_score: 9, demographic_score: 9, behavioral_score: 9, source_score: 9 },
    ];
    const qualities: string[] = [];
    for (const lead of leads) {
      const res = await user.http.post("/api/predict/lead-score", lead);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.model, "lead_scoring");
      assert.equal(res.body.credits_consumed, 1);
      const p = res.body.prediction;
      const probability = p.score / 100;
      assert.equal(p.prediction, probability >= threshold ? 1 : 0);
      assert.equal(p.quality, probability >= Math.max(0.5, threshold) ? "Hot" : probability >= threshold ? "Warm" : "Cold");
      assert.deepEqual(p.features_used, Object.keys(lead));
      assert.equal(p.model_version, res.body.model_version);
      const stored = await user.http.get(`/api/v1/predictions/${res.body.prediction_id}`);
      assert.ok(Math.abs(stored.body.score * 100 - p.score) < 0.006);
      qualities.push(p.quality);
    }
    assert.deepEqual(qualities, ["Cold", "Warm", "Hot"], "a weak, a middling and a strong lead");
    const bad = await user.http.post("/api/predict/lead-score", { company_size: "huge", budget: 1000, industry_score: 20 });
    assert.equal(bad.status, 422);
    assert.deepEqual(Object.keys(bad.body.details).sort(), ["company_size", "industry_score"]);
  });

  it("answers POST /api/predict/sales-forecast with the forecast inside its 95 % interval", async () => {
    const res = await user.http.post("/api/predict/sales-forecast", { tv: 44.5, radio: 39.3, newspaper: 45.1 });
    assert.equal(res.status, 200, res.text);
    const { forecasted_sales: forecast, confidence_interval: ci } = res.body.prediction;
    assert.ok(ci.lower < forecast && forecast < ci.upper && ci.level === 0.95, JSON.stringify(res.body.prediction));
    assert.ok(Math.abs(forecast - 10.4) < 1.5, `this row of the advertising data sold 10.4: ${forecast}`);
    const moreTv = await user.http.post("/api/predict/sales-forecast", { tv: 230.1, radio: 39.3, newspaper: 45.1 });
    assert.ok(moreTv.body.prediction.forecasted_sales > forecast, "more TV spend, more sales");
    const clipped = await user.http.post("/api/predict/sales-forecast", { tv: 1000, radio: 37.8, newspaper: 69.2 });
    assert.match(clipped.body.warnings[0], /^tv: .*clipped/);
    const missing = await user.http.post("/api/predict/sales-forecast", { tv: 10 });
    assert.deepEqual(missing.body.details, { radio: ["is required"], newspaper: ["is required"] });
  });

  it("serves any model through POST /api/v1/predict with an exact explanation", async () => {
    const res = await user.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER, include_explanation: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.model_id, "churn_telco");
    assert.ok(res.body.score > 0 && res.body.score < 1);
    assert.equal(res.body.explanation.method, "blended_linear_and_tree_shap");
    const top = Object.values(res.body.explanation.feature_importance) as number[];
    assert.equal(top.length, 5, "the five largest contributions");
    assert.deepEqual(top, [...top].sort((a, b) => Math.abs(b) - Math.abs(a)));
    const without = await user.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER });
    assert.equal(without.body.explanation, undefined);
    const missing = await user.http.post("/api/v1/predict", { model_id: "no_such_model", features: {} });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "MODEL_NOT_FOUND");
  });

  it("scores many rows in one POST /api/v1/batch-predict, each stored and charged like a single prediction", async () => {
    const batcher = await signedInClient(platform);
    const instances = Array.from({ length: 20 }, (_, i) => ({ ...CUSTOMER, tenure: i * 3 }));
    const res = await batcher.http.post("/api/v1/batch-predict", { model_id: "churn_telco", instances, include_explanation: true });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.total, res.body.completed, res.body.pending, res.body.failed], [20, 20, 0, 0]);
    assert.deepEqual(res.body.items.map((item: { index: number }) => item.index), [...instances.keys()]);
    const single = await batcher.http.post("/api/v1/predict", { model_id: "churn_telco", features: instances[7] });
    assert.equal(res.body.items[7].score, single.body.score, "the same score as one prediction of the row");
    assert.equal(res.body.items[7].explanation.method, "blended_linear_and_tree_shap");
    assert.ok(res.body.items[0].score > res.body.items[19].score, "a longer tenure churns less");
    const stored = await platform.db("predictions").where({ user_id: batcher.userId, source: "batch", status: "completed" }).count({ n: "*" });
    assert.equal(Number(stored[0]!.n), 20);
    assert.equal(await creditsOf(platform, batcher.userId), 1000 - 21);

    const streamed = async () => (await platform.bus.jsm.streams.info(platform.bus.names.predict)).state.messages;
    const before = await streamed();
    const bad = await batcher.http.post("/api/v1/batch-predict", { model_id: "churn_telco", instances: [CUSTOMER, { ...CUSTOMER, tenure: "three" }, { ...CUSTOMER, colour: "red" }] });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, "INVALID_INPUT");
    assert.deepEqual(bad.body.details, { "instances[1].tenure": ["must be an integer"], "instances[2].colour": ["unknown field"] });
    assert.match(bad.body.message, /2 of 3 instances have invalid features; none was scored/);
    assert.equal(await streamed(), before, "a refused batch publishes nothing");
    for (const [what, body, status] of [
      ["no instances", { model_id: "churn_telco", instances: [] }, 422],
      ["too many", { model_id: "churn_telco", instances: Array.from({ length: 1001 }, () => ({})) }, 422],
      ["unknown model", { model_id: "nope", instances: [CUSTOMER] }, 404],
    ] as const) {
      assert.equal((await batcher.http.post("/api/v1/batch-predict", body)).status, status, what);
    }
    await platform.db("users").where({ id: batcher.userId }).update({ credits_remaining: 5 });
    await new Promise((r) => setTimeout(r, 5_100)); // the principal cache holds credits for 5 s
    const poor = await batcher.http.post("/api/v1/batch-predict", { model_id: "churn_telco", instances });
    assert.equal(poor.status, 402);
    assert.deepEqual(poor.body.details, { needed: 20, remaining: 5 });
  });

  it("takes the dataset's column name for contract_type and ignores its identifier, in seed 000's route too", async () => {
    const { contract_type, ...rest } = CUSTOMER;
    const named = await user.http.post("/api/predict/churn", CUSTOMER);
    const asColumn = await user.http.post("/api/predict/churn", { ...rest, contract: contract_type, customer_id: "7590-VHVEG", tenure: "3" });
    assert.equal(asColumn.status, 200, asColumn.text);
    assert.equal(asColumn.body.prediction.churn_probability, named.body.prediction.churn_probability);
    assert.deepEqual(asColumn.body.warnings, ["customer_id: not used by this model (the customer's identifier); ignored"]);
    const both = await user.http.post("/api/predict/churn", { ...CUSTOMER, contract: "Two year" });
    assert.equal(both.status, 422);
    assert.deepEqual(both.body.details.contract, ['is another name of "contract_type", also given; send one of them']);
    const neither = await user.http.post("/api/predict/churn", rest);
    assert.equal(neither.status, 422);
    assert.deepEqual(neither.body.details.contract_type, ["is required"]);
  });

  it("scores a dataset file's row sent under the file's own header as under the card's names", async () => {
    // the telco file's first row, every value as the file's text
    const asInFile = {
      customerID: "7590-VHVEG", gender: "Female", SeniorCitizen: "0", Partner: "Yes", Dependents: "No", tenure: "1", PhoneService: "No",
      MultipleLines: "No phone service", InternetService: "DSL", OnlineSecurity: "No", OnlineBackup: "Yes", DeviceProtection: "No",
      TechSupport: "No", StreamingTV: "No", StreamingMovies: "No", Contract: "Month-to-month", PaperlessBilling: "Yes",
      PaymentMethod: "Electronic check", MonthlyCharges: "29.85", TotalCharges: "29.85", Churn: "No",
    };
    const asCard = {
      customer_id: "7590-VHVEG", gender: "Female", senior_citizen: "0", partner: "Yes", dependents: "No", tenure: "1", phone_service: "No",
      multiple_lines: "No phone service", internet_service: "DSL", online_security: "No", online_backup: "Yes", device_protection: "No",
      tech_support: "No", streaming_tv: "No", streaming_movies: "No", contract_type: "Month-to-month", paperless_billing: "Yes",
      payment_method: "Electronic check", monthly_charges: "29.85", total_charges: "29.85", churn: "No",
    };
    const byCard = await user.http.post("/api/v1/predict", { model_id: "churn_telco", features: asCard });
    const byFile = await user.http.post("/api/v1/predict", { model_id: "churn_telco", features: asInFile });
    assert.equal(byFile.status, 200, byFile.text);
    assert.equal(byFile.body.score, byCard.body.score);
    assert.deepEqual(byFile.body.warnings, [
      "customerID: not used by this model (the customer's identifier); ignored",
      "Churn: not used by this model (the label); ignored",
    ]);
    const batch = await user.http.post("/api/v1/batch-predict", { model_id: "churn_telco", instances: [asInFile, asCard] });
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(batch.body.items.map((item: { score: number }) => item.score), [byCard.body.score, byCard.body.score]);
    const twice = await user.http.post("/api/v1/predict", { model_id: "churn_telco", features: { ...asInFile, monthly_charges: "30" } });
    assert.equal(twice.status, 422);
    assert.deepEqual(twice.body.details, { MonthlyCharges: ['is another spelling of "monthly_charges", also given; send one of them'] });
  });

  it("clips out-of-range numbers and maps unknown categories as the card declares, with warnings", async () => {
    const res = await user.http.post("/api/predict/churn", { ...CUSTOMER, tenure: 500, payment_method: "Bitcoin" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.warnings.length, 2);
    assert.ok(res.body.warnings.some((w: string) => w.includes("tenure")));
    assert.ok(res.body.warnings.some((w: string) => w.includes("payment_method")));
  });

  it("answers bad input with a canonical 4xx and publishes nothing", async () => {
    const before = (await platform.bus.jsm.streams.info(platform.bus.names.predict)).state.messages;
    const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
      ["malformed JSON", '{"tenure": 3,', 400, "BAD_REQUEST"],
      ["wrong type", { ...CUSTOMER, tenure: "three" }, 422, "INVALID_INPUT"],
      ["missing required", { tenure: 3 }, 422, "INVALID_INPUT"],
      ["unknown field", { ...CUSTOMER, favourite_colour: "blue" }, 422, "INVALID_INPUT"],
      ["not an object", [1, 2, 3], 422, "INVALID_INPUT"],
      ["oversized body", { ...CUSTOMER, contract_type: "x".repeat(5000) }, 413, "PAYLOAD_TOO_LARGE"],
      ["wrong content type", "tenure=3", 415, "UNSUPPORTED_MEDIA_TYPE", { "Content-Type": "text/plain" }],
      ["no body", undefined, 422, "INVALID_INPUT"],
    ];
    for (const [what, body, status, code, headers] of cases) {
      const res = await user.http.post("/api/predict/churn", body, headers);
      assert.equal(res.status, status, `${what}: ${res.text}`);
      assert.equal(res.body.code, code, what);
      assert.equal(res.body.status, "error");
      assert.ok(res.body.request_id, what);
    }
    const unknown = await user.http.post("/api/predict/churn", { ...CUSTOMER, favourite_colour: "blue", tenure: -1 });
    assert.deepEqual(unknown.body.details.favourite_colour, ["unknown field"]);
    const after = (await platform.bus.jsm.streams.info(platform.bus.names.predict)).state.messages;
    assert.equal(after, before, "rejected requests never reach the stream");
  });

  it("requires authentication for predictions", async () => {
    const res = await client(platform.url!).post("/api/predict/churn", CUSTOMER);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, "AUTHENTICATION_REQUIRED");
    const bad = await client(platform.url!, { token: "garbage" }).post("/api/predict/churn", CUSTOMER);
    assert.equal(bad.status, 401);
  });

  it("refuses predictions once the user's credits are spent", async () => {
    const poor = await signedInClient(platform);
    await platform.db("users").where({ id: poor.userId }).update({ credits_remaining: 0 });
    await new Promise((r) => setTimeout(r, 5_100)); // the principal cache holds credits for 5 s
    const res = await poor.http.post("/api/predict/churn", CUSTOMER);
    assert.equal(res.status, 402);
    assert.equal(res.body.code, "INSUFFICIENT_CREDITS");
  });

  it("lists prediction history with seed 001 pagination, each user seeing their own", async () => {
    const other = await signedInClient(platform);
    for (let i = 0; i < 5; i++) await other.http.post("/api/predict/churn", { ...CUSTOMER, tenure: i + 1 });
    const page1 = await other.http.get("/api/v1/predictions?page=1&page_size=2&sort_by=created_at&sort_order=desc");
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.pagination, { total: 5, page: 1, page_size: 2, pages: 3, has_next: true, has_prev: false });
    assert.equal(page1.body.items.length, 2);
    assert.ok(page1.body.items[0].created_at >= page1.body.items[1].created_at);
    const page3 = await other.http.get("/api/v1/predictions?page=3&page_size=2");
    assert.equal(page3.body.items.length, 1);
    assert.equal(page3.body.pagination.has_next, false);
    const bad = await other.http.get("/api/v1/predictions?page_size=1000");
    assert.equal(bad.status, 422);
    const notMine = await other.http.get(`/api/v1/predictions/${(await user.http.get("/api/v1/predictions")).body.items[0].prediction_id}`);
    assert.equal(notMine.status, 404);
    assert.equal((await other.http.get("/api/v1/predictions/not-a-uuid")).status, 422);
  });

  it("publishes prediction metrics", async () => {
    const metrics = await client(platform.url!).get("/metrics");
    assert.equal(metrics.status, 200);
    for (const name of ["http_request_duration_seconds_bucket", "tidecast_publish_duration_seconds", "tidecast_consumed_messages_total", "model_predictions_total", "model_prediction_latency_seconds", "tidecast_db_write_duration_seconds"]) {
      assert.ok(metrics.text.includes(name), name);
    }
    assert.match(metrics.text, /model_predictions_total\{model="churn_telco"\} [1-9]/);
    await eventually(async () => ((await client(platform.url!).get("/metrics")).text.match(/tidecast_consumer_pending_messages\{pipeline="scorer"\} 0/) ? true : undefined), 5000, "consumer gauges");
  });
});

describe("a prediction the scorer does not answer in time", () => {
  const config = isolatedConfig({ PREDICT_TIMEOUT_MS: "300" });
  after(() => dropIsolated(config));

  it("gives 504 with the id to poll, and the queued request completes once a scorer runs", async () => {
    const api = await startTestPlatform(config, { api: true, pipelines: [] });
    try {
      const user = await signedInClient(api);
      const started = Date.now();
      const res = await user.http.post("/api/predict/churn", CUSTOMER);
      assert.ok(Date.now() - started < 3000, "never hangs");
      assert.equal(res.status, 504);
      assert.equal(res.body.code, "PREDICTION_TIMEOUT");
      const id = res.body.details.prediction_id;
      const pending = await user.http.get(`/api/v1/predictions/${id}`);
      assert.equal(pending.body.status, "pending");

      const scorer = await startTestPlatform(config, { api: false, pipelines: ["scorer"] });
      try {
        const done = await eventually(async () => {
          const r = await user.http.get(`/api/v1/predictions/${id}`);
          return r.body.status === "completed" ? r.body : undefined;
        }, 10_000, "completion");
        assert.ok(done.score > 0.5);
        assert.equal(done.output.details.risk_level === "High" || done.output.details.risk_level === "Medium", true);
      } finally {
        await scorer.close();
      }
    } finally {
      await api.close();
    }
  });
});
