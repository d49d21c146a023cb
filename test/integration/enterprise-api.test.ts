import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

const LEAD = { company_size: "51-200", budget: 250000, industry_score: 8.5 };
const CUSTOMER = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month" };

describe("seed 000's enterprise routes: batch across models, usage analytics, export", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;

  /** rows written straight to the table, as the scorer would have: for states and volumes a test cannot wait for */
  async function insertPredictions(userId: number, rows: Array<{ status: string; model?: string; at?: Date; confidence?: number }>) {
    await platform.db.batchInsert(
      "predictions",
      rows.map((r) => {
        const id = randomUUID();
        return {
          id,
          message_id: id,
          model: r.model ?? "churn_telco",
          model_version: "1.2.0",
          source: "sync",
          tenant_id: 1,
          user_id: userId,
          status: r.status,
          input: JSON.stringify(CUSTOMER),
          output: r.status === "completed" ? JSON.stringify({ score: 0.7, label: 1, confidence: r.confidence ?? 0.7, details: {} }) : null,
          score: r.status === "completed" ? 0.7 : null,
          latency_ms: r.status === "completed" ? 12 : null,
          created_at: r.at ?? new Date(),
        };
      }),
      500,
    );
  }

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"] });
    user = await signedInClient(platform);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("scores a batch across models, each request on its own, charging the successful ones", async () => {
    const before = await creditsOf(platform, user.userId);
    const res = await user.http.post("/api/enterprise/batch/predict", {
      requests: [
        { model: "lead_scoring", input: LEAD },
        { model: "churn_telco", input: { tenure: 3 } },
        { model: "no_such_model", input: {} },
        { model: "sales_forecast", input: { tv: 100, radio: 20, newspaper: 10 } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const { results, batch_stats: stats } = res.body;
    assert.deepEqual(results.map((r: { index: number; status: string }) => [r.index, r.status]), [[0, "success"], [1, "error"], [2, "error"], [3, "success"]]);
    assert.equal(results[1].error.code, "INVALID_INPUT");
    assert.deepEqual(results[1].error.details.contract_type, ["is required"]);
    assert.equal(results[2].error.code, "MODEL_NOT_FOUND");
    assert.ok(results[0].prediction.score > 0 && results[0].prediction.score < 1);
    assert.ok(results[3].prediction.details.confidence_interval.lower < results[3].prediction.score);
    assert.deepEqual([stats.total_requests, stats.successful, stats.failed, stats.success_rate], [4, 2, 2, 50]);
    assert.equal(res.body.credits_consumed, 2);
    assert.equal(await creditsOf(platform, user.userId), before - 2);
    const stored = await platform.db("predictions").whereIn("id", [results[0].prediction_id, results[3].prediction_id]).select("source", "status");
    assert.deepEqual(stored.map((r) => [r.source, r.status]), [["batch", "completed"], ["batch", "completed"]]);

    const poor = await signedInClient(platform);
    await platform.db("users").where({ id: poor.userId }).update({ credits_remaining: 2 });
    const short = await poor.http.post("/api/enterprise/batch/predict", { requests: Array.from({ length: 3 }, () => ({ model: "lead_scoring", input: LEAD })) });
    assert.equal(short.status, 402, short.text);
    assert.equal(await creditsOf(platform, poor.userId), 2, "nothing sent, nothing charged");

    const tooMany = await user.http.post("/api/enterprise/batch/predict", { requests: Array.from({ length: 101 }, () => ({ model: "lead_scoring", input: LEAD })) });
    assert.equal(tooMany.status, 422);
    assert.equal((await user.http.post("/api/enterprise/batch/predict", { requests: [] })).status, 422);
    assert.equal((await client(platform.url!).post("/api/enterprise/batch/predict", { requests: [{ model: "lead_scoring", input: LEAD }] })).status, 401);
  });

  it("summarises the caller's own usage by model, day, period and hour", async () => {
    const analyst = await signedInClient(platform);
    for (let i = 0; i < 3; i++) assert.equal((await analyst.http.post("/api/predict/lead-score", { ...LEAD, budget: 1000 * (i + 1) })).status, 200);
    assert.equal((await analyst.http.post("/api/predict/churn", CUSTOMER)).status, 200);
    await insertPredictions(analyst.userId, [{ status: "failed" }, { status: "pending" }, { status: "completed", at: new Date(Date.now() - 3 * 86_400_000) }, { status: "completed", at: new Date(Date.now() - 30 * 86_400_000) }]);

    const res = await analyst.http.get("/api/enterprise/analytics/usage?days=7");
    assert.equal(res.status, 200, res.text);
    const a = res.body.analytics;
    // 4 scored now + failed + pending + one 3 days old; the 30-day-old one is outside the week
    assert.equal(a.summary.total_predictions, 7);
    assert.equal(a.summary.unique_models, 2);
    assert.equal(a.summary.success_rate, Math.round((5 / 6) * 1000) / 10, "5 completed of 6 finished; pending is not finished");
    assert.deepEqual(Object.fromEntries(Object.entries(a.by_model).map(([m, s]) => [m, (s as { count: number }).count])), { churn_telco: 4, lead_scoring: 3 });
    assert.equal(Object.values(a.by_day as Record<string, number>).reduce((x, y) => x + y, 0), 7);
    assert.equal(Object.keys(a.by_day).length, 2, "today and three days ago");
    assert.equal(a.hourly_distribution.length, 24);
    assert.equal(a.hourly_distribution.reduce((x: number, y: number) => x + y, 0), 7);
    assert.equal(a.trends.volume_trend.length, a.by_period.length);
    assert.deepEqual(a.trends.volume_trend, a.by_period.map((p: { count: number }) => p.count));
    assert.equal(res.body.filters.days, 7);

    const month = await analyst.http.get("/api/enterprise/analytics/usage?days=31&model=lead_scoring&granularity=week");
    assert.equal(month.body.analytics.summary.total_predictions, 3);
    assert.ok(month.body.analytics.by_period.every((p: { start: string }) => new Date(p.start).getUTCDay() === 1), "weeks start on Monday");
    const stranger = await signedInClient(platform);
    assert.equal((await stranger.http.get("/api/enterprise/analytics/usage")).body.analytics.summary.total_predictions, 0, "only one's own");
    for (const q of ["days=0", "days=366", "granularity=minute", "colour=red"]) {
      assert.equal((await analyst.http.get(`/api/enterprise/analytics/usage?${q}`)).status, 422, q);
    }
  });

  it("exports the caller's predictions as CSV or JSON, newest first, page after page", async () => {
    const exporter = await signedInClient(platform);
    const now = Date.now();
    await insertPredictions(exporter.userId, Array.from({ length: 2_345 }, (_, i) => ({ status: "completed", at: new Date(now - i * 1000), model: i % 5 === 0 ? "lead_scoring" : "churn_telco" })));

    const csv = await exporter.http.get("/api/enterprise/export/predictions?days=1");
    assert.equal(csv.status, 200, csv.text.slice(0, 300));
    assert.match(csv.headers.get("content-type")!, /^text\/csv/);
    assert.match(csv.headers.get("content-disposition")!, /attachment; filename="predictions-.*\.csv"/);
    const rows: Array<Record<string, string>> = parse(csv.text, { columns: true });
    assert.equal(rows.length, 2_345, "every row, across three pages of 1,000");
    assert.equal(new Set(rows.map((r) => r.prediction_id)).size, 2_345);
    assert.deepEqual(Object.keys(rows[0]!), ["timestamp", "model_type", "confidence", "processing_time", "status", "prediction_summary", "prediction_id", "model_version", "source"]);
    assert.ok(rows.every((r, i) => i === 0 || r.timestamp! <= rows[i - 1]!.timestamp!), "newest first");
    assert.deepEqual([rows[0]!.confidence, rows[0]!.processing_time, rows[0]!.prediction_summary], ["0.7", "0.012", "0.7"]);

    const json = await exporter.http.get("/api/enterprise/export/predictions?format=json&days=1&model=lead_scoring");
    assert.equal(json.status, 200);
    assert.equal(json.body.length, 469);
    assert.ok(json.body.every((r: { model_type: string }) => r.model_type === "lead_scoring"));
    const nobody = await signedInClient(platform);
    assert.deepEqual((await nobody.http.get("/api/enterprise/export/predictions?format=json")).body, [], "only one's own");
    assert.equal((await exporter.http.get("/api/enterprise/export/predictions?format=xml")).status, 422);
  });
});
