import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createChurnHandler } from "../../pipelines/churn/handler.ts";
import { riskDistribution, topFactors } from "../../src/customers/index.ts";
import { ROOT_DIR } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import type { Platform } from "../../src/platform.ts";
import { encodeJson } from "../../src/streams/index.ts";
import { client, dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

const subscriber = (i: number, risky: boolean) =>
  risky
    ? { watch_time_hours: 1 + (i % 4), subscription_age_months: 2 + (i % 3), device_count: 1, last_login_days: 30 + i, payment_failures: 3, tenure_months: 20, plan: "Basic" }
    : { watch_time_hours: 100 + i, subscription_age_months: 36, device_count: 4, last_login_days: 0, payment_failures: 0, tenure_months: 36, plan: "Premium 4K" };
const RISKY_TELCO = { tenure: 1, contract_type: "Month-to-month", internet_service: "Fiber optic", payment_method: "Electronic check", monthly_charges: 99 };
const LOYAL_TELCO = { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL" };

describe("customer queries: GET /api/v1/customers/high-risk and /api/v1/customers/{id}", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let http: Awaited<ReturnType<typeof signedInClient>>["http"];

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
    http = (await signedInClient(platform)).http;
    // the pipeline's own handler writes the state, as it would for these events from the stream
    const { db, bus, registry, metrics } = platform;
    const handler = createChurnHandler({ db, bus, registry, metrics, log: createLogger("silent"), config });
    const messages: JsMsg[] = [];
    const add = (key: string, data: Record<string, unknown>) => {
      const seq = messages.length + 1;
      const h = natsHeaders();
      h.set("Nats-Msg-Id", `q-${seq}`);
      const body = { id: `q-${seq}`, domain: "customer", key, type: "usage", data, timestamp: new Date(Date.UTC(2026, 10, 1 + (seq % 20))).toISOString() };
      messages.push({ subject: platform.bus.names.eventSubject("customer", key), data: encodeJson(body), seq, headers: h, info: { stream: "EVENTS", deliveryCount: 1, pending: 0 } } as unknown as JsMsg);
    };
    for (let i = 0; i < 12; i++) add(`sub-${i}`, subscriber(i, i < 8));
    for (let i = 0; i < 5; i++) add(`tel-${i}`, i < 3 ? { ...RISKY_TELCO, monthly_charges: 95 + i } : LOYAL_TELCO);
    add("partial-1", { tenure: 3 });
    const outcomes = await handler(messages);
    assert.ok(outcomes.every((o) => o.kind === "ack"));
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("lists High-risk customers, most likely first, in stable pages with a total", async () => {
    const expected: Array<{ customer_id: string; churn_probability: number }> = await platform
      .db("customer_state")
      .where("risk_level", "High")
      .orderBy([{ column: "churn_probability", order: "desc" }, "customer_id"])
      .select("customer_id", "churn_probability");
    assert.ok(expected.length >= 10, `${expected.length} high-risk customers`);
    assert.ok(expected.some((c) => c.customer_id.startsWith("tel-")) && expected.some((c) => c.customer_id.startsWith("sub-")), "both models' customers");

    const first = await http.get("/api/v1/customers/high-risk?page=1&limit=4");
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body.pagination, { total: expected.length, page: 1, limit: 4, pages: Math.ceil(expected.length / 4), has_next: true, has_prev: false });
    const seen: string[] = [];
    for (let page = 1; page <= first.body.pagination.pages; page++) {
      const res = await http.get(`/api/v1/customers/high-risk?page=${page}&limit=4`);
      seen.push(...res.body.items.map((c: { customer_id: string }) => c.customer_id));
    }
    assert.deepEqual(seen, expected.map((c) => c.customer_id));

    const item = first.body.items.find((c: { customer_id: string }) => c.customer_id.startsWith("sub-"));
    if (item) {
      assert.equal(item.model, "churn_subscription");
      assert.equal(item.plan, "Basic");
      assert.equal(item.tenure_months, 20);
    }
    for (const c of first.body.items) {
      assert.equal(c.risk_level, "High");
      assert.equal(c.key_factors.length, 3);
      assert.match(c.last_activity, /^2026-11-/);
    }
    const telco = seen.find((id) => id.startsWith("tel-"))!;
    const all = await http.get(`/api/v1/customers/high-risk?limit=100`);
    const t = all.body.items.find((c: { customer_id: string }) => c.customer_id === telco);
    assert.equal(t.model, "churn_telco");
    assert.equal(t.plan, null);
    assert.equal(t.tenure_months, 1, "a telco profile's tenure");

    const cut = expected[2]!.churn_probability;
    const strict = await http.get(`/api/v1/customers/high-risk?min_probability=${cut}`);
    assert.equal(strict.body.pagination.total, expected.filter((c) => c.churn_probability >= cut).length);
    assert.equal(strict.body.pagination.limit, 10, "seed 003's default page size");
  });

  it("refuses bad paging with 422 and anonymous callers with 401", async () => {
    for (const query of ["page=0", "page=abc", "limit=0", "limit=101", "limit=2.5", "min_probability=2", "sort=desc"]) {
      const res = await http.get(`/api/v1/customers/high-risk?${query}`);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.code, "INVALID_INPUT");
      assert.equal(res.body.status, "error");
    }
    const anonymous = client(platform.url!);
    assert.equal((await anonymous.get("/api/v1/customers/high-risk")).status, 401);
    assert.equal((await anonymous.get("/api/v1/customers/sub-0")).status, 401);
  });

  it("shows one customer's profile, score, model, factors, last activity and recent scores", async () => {
    const res = await http.get("/api/v1/customers/sub-1");
    assert.equal(res.status, 200, res.text);
    const c = res.body;
    assert.equal(c.customer_id, "sub-1");
    assert.deepEqual(c.profile, subscriber(1, true));
    assert.equal(c.model, "churn_subscription");
    assert.equal(c.model_version, "1.0.0");
    assert.equal(c.risk_level, "High");
    assert.equal(c.key_factors.length, 3);
    assert.equal(c.last_activity, "2026-11-03T00:00:00.000Z");
    assert.equal(c.events_seen, 1);
    assert.deepEqual(c.event_counts, { usage: 1 });
    assert.equal(c.recent_scores.length, 1);
    assert.equal(c.recent_scores[0].churn_probability, c.churn_probability);
    assert.deepEqual(c.recent_scores[0].key_factors, c.key_factors);

    const partial = await http.get("/api/v1/customers/partial-1");
    assert.equal(partial.status, 200);
    assert.equal(partial.body.churn_probability, null, "seen but not yet scorable");
    assert.equal(partial.body.model, null);
    assert.deepEqual(partial.body.recent_scores, []);
  });

  it("answers 404 with a clear body for an unknown customer, 422 for an impossible id", async () => {
    const res = await http.get("/api/v1/customers/nobody-42");
    assert.equal(res.status, 404);
    assert.equal(res.body.code, "NOT_FOUND");
    assert.equal(res.body.message, "Customer 'nobody-42' not found");
    assert.deepEqual(res.body.details, { customer_id: "nobody-42" });
    assert.equal((await http.get("/api/v1/customers/has.dot")).status, 422);
  });

  it("counts scored customers per probability bucket and the most common factors of high-risk ones", async () => {
    const scored = Number((await platform.db("customer_state").whereNotNull("churn_probability").count({ n: "*" }))[0]!.n);
    const buckets = await riskDistribution(platform.db, 10);
    assert.equal(buckets.length, 10);
    assert.deepEqual([buckets[0]!.bucket, buckets[0]!.upper, buckets[9]!.upper], [0, 0.1, 1]);
    assert.equal(buckets.reduce((s, b) => s + b.count, 0), scored);
    const high = Number((await platform.db("customer_state").where("risk_level", "High").count({ n: "*" }))[0]!.n);
    assert.equal(buckets.slice(6).reduce((s, b) => s + b.count, 0), high, "High is p ≥ 0.6");
    await assert.rejects(riskDistribution(platform.db, 0), { name: "ValidationError" });

    const top = await topFactors(platform.db, 5);
    assert.equal(top.high_risk_customers, high);
    assert.ok(top.factors.length > 0 && top.factors.length <= 5);
    assert.ok(top.factors.every((f, i) => i === 0 || f.customers <= top.factors[i - 1]!.customers));
    assert.ok(top.factors.every((f) => f.share === Number((f.customers / high).toFixed(4))));
  });
  it("serves seed 003's dashboard: distribution, top factors and headline figures now and a period ago", async () => {
    const distribution = await http.get("/api/dashboard/distribution?buckets=10");
    assert.equal(distribution.status, 200, distribution.text);
    assert.deepEqual(distribution.body, { success: true, data: await riskDistribution(platform.db, 10) });
    const features = await http.get("/api/dashboard/features?limit=3");
    const top = await topFactors(platform.db, 3);
    assert.deepEqual(features.body.data, top.factors.map((f) => ({ name: f.feature, value: f.share, customers: f.customers })));
    assert.equal(features.body.high_risk_customers, top.high_risk_customers);

    const scores: Array<{ churn_probability: number; model: string; model_version: string }> = await platform.db("customer_state").whereNotNull("churn_probability").select("churn_probability", "model", "model_version");
    const mean = (ps: number[]) => Math.round((ps.reduce((a, b) => a + b, 0) / ps.length) * 1000) / 10;
    const high = scores.filter((s) => s.churn_probability >= 0.6);
    let metrics = await http.get("/api/dashboard/metrics");
    assert.equal(metrics.status, 200, metrics.text);
    let d = metrics.body.data;
    assert.equal(d.churnRate.current, mean(scores.map((s) => s.churn_probability)));
    assert.deepEqual([d.churnRate.previous, d.churnRate.change], [null, null], "every score is newer than a week");
    assert.deepEqual([d.predictedChurners.count, d.predictedChurners.change], [high.length, `+${high.length}`]);
    assert.equal(d.predictedChurners.confidence, `${Math.round((high.reduce((a, s) => a + s.churn_probability, 0) / high.length) * 100)}%`);
    assert.equal(d.scoredCustomers, scores.length);
    // sub-* customers (8 + 4) outnumber tel-* ones: the subscription model scored most
    const card = platform.registry.scoredBy("churn_subscription", d.modelAuc.version).card;
    assert.deepEqual([d.modelAuc.model, d.modelAuc.score], ["churn_subscription", card.metrics.validation.auc]);

    // two customers' histories move back ten days: the week-ago figures are their latest scores then
    await platform.db("churn_history").whereIn("customer_id", ["sub-0", "sub-11"]).update({ created_at: platform.db.raw("now() - interval '10 days'") });
    const then: number[] = (await platform.db("churn_history").whereIn("customer_id", ["sub-0", "sub-11"]).orderBy("stream_seq", "desc").select("customer_id", "churn_probability"))
      .filter((row, i, rows) => rows.findIndex((r) => r.customer_id === row.customer_id) === i)
      .map((row) => row.churn_probability);
    metrics = await http.get("/api/dashboard/metrics?period_days=7");
    d = metrics.body.data;
    assert.equal(d.churnRate.previous, mean(then));
    assert.equal(d.churnRate.change, `${d.churnRate.current >= d.churnRate.previous ? "+" : ""}${Math.round((d.churnRate.current - d.churnRate.previous) * 10) / 10}%`);
    assert.equal(d.predictedChurners.change, `+${high.length - then.filter((p) => p >= 0.6).length}`);
    assert.equal((await http.get("/api/dashboard/metrics?period_days=0")).status, 422);
    assert.equal((await http.get("/api/dashboard/distribution?buckets=1000")).status, 422);
    assert.equal((await client(platform.url!).get("/api/dashboard/metrics")).status, 401);
  });
  it("serves seed 003's segments, latest results and the subscription model's performance, status and features", async () => {
    const levels: Array<{ risk_level: string; n: string | number }> = await platform.db("customer_state").whereNotNull("risk_level").select("risk_level").count({ n: "*" }).groupBy("risk_level");
    const count = (level: string) => Number(levels.find((l) => l.risk_level === level)?.n ?? 0);
    const segments = await http.post("/api/customers/segment");
    assert.equal(segments.status, 200, segments.text);
    assert.deepEqual(segments.body, { success: true, data: { segments: [{ segment: "High Risk", count: count("High") }, { segment: "Medium Risk", count: count("Medium") }, { segment: "Low Risk", count: count("Low") }] } });

    const results = await http.get("/api/predictions/results?limit=5");
    const scored: Array<{ customer_id: string; churn_probability: number; model: string }> = await platform.db("customer_state").whereNotNull("churn_probability").orderBy([{ column: "scored_at", order: "desc" }, "customer_id"]).select("customer_id", "churn_probability", "model");
    assert.equal(results.body.data.total, scored.length);
    assert.deepEqual(results.body.data.predictions.map((p: { customer_id: string }) => p.customer_id), scored.slice(0, 5).map((r) => r.customer_id));
    for (const p of results.body.data.predictions as Array<{ churn_probability: number; confidence: number; model: string }>) {
      const threshold = platform.registry.get(p.model).card.threshold!;
      assert.equal(p.confidence, Math.round((p.churn_probability >= threshold ? p.churn_probability : 1 - p.churn_probability) * 1e6) / 1e6);
    }
    assert.equal((await http.get("/api/predictions/results?limit=0")).status, 422);

    const card = platform.registry.get("churn_subscription").card;
    const performance = await http.get("/api/predictions/performance");
    assert.deepEqual(
      [performance.body.data.auc, performance.body.data.f1_score, performance.body.data.training_samples, performance.body.data.model_version],
      [card.metrics.validation.auc, card.metrics.validation.f1, card.training.split.train_rows, card.version],
    );
    const status = await http.get("/api/model/status");
    assert.deepEqual([status.body.data.version, status.body.data.auc_score, status.body.data.features], [card.version, card.metrics.validation.auc, card.features.length]);
    const features = (await http.get("/api/model/features")).body.data.features as Array<{ name: string; importance: number }>;
    assert.equal(features.length, Object.keys(card.feature_importance).length);
    assert.deepEqual(features.map((f) => f.importance), [...features.map((f) => f.importance)].sort((a, b) => b - a));
    for (const path of ["/api/model/status", "/api/predictions/results"]) assert.equal((await client(platform.url!).get(path)).status, 401, path);
  });
  it("shows the scores of a model no longer served, without its card", async () => {
    await platform.db("customer_state").insert({ customer_id: "retired-1", churn_probability: 0.8, risk_level: "High", model: "retired_model", model_version: "0.9.0", scored_at: new Date(Date.now() + 60_000) });
    const results = await http.get("/api/predictions/results?limit=1");
    assert.equal(results.status, 200, results.text);
    assert.deepEqual(results.body.data.predictions.map((p: { customer_id: string; confidence: number }) => [p.customer_id, p.confidence]), [["retired-1", 0.8]]);
    assert.equal((await http.get("/api/dashboard/metrics")).status, 200);
  });
});

describe("seed 003's model status compares the active version with the one before it", () => {
  let dir: string;
  let config: ReturnType<typeof isolatedConfig>;
  let platform: Platform;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tidecast-models-"));
    const shipped = join(ROOT_DIR, "models", "churn_subscription", "1.0.0");
    await cp(shipped, join(dir, "churn_subscription", "1.0.0"), { recursive: true });
    // a newer version whose card records a better AUC: the same model files, a changed figure
    await cp(shipped, join(dir, "churn_subscription", "1.1.0"), { recursive: true });
    const cardPath = join(dir, "churn_subscription", "1.1.0", "card.json");
    const card = JSON.parse(await readFile(cardPath, "utf8"));
    card.version = "1.1.0";
    card.metrics.validation.auc = Math.round((card.metrics.validation.auc + 0.01) * 1e6) / 1e6;
    await writeFile(cardPath, JSON.stringify(card));
    config = isolatedConfig({ MODELS_DIR: dir });
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the improvement from 1.0.0 to 1.1.0", async () => {
    const http = (await signedInClient(platform)).http;
    const { data } = (await http.get("/api/model/status")).body;
    const before = platform.registry.listVersions("churn_subscription").find((m) => m.version === "1.0.0")!.card.metrics.validation.auc!;
    assert.equal(data.version, "1.1.0");
    assert.deepEqual([data.performance.improved, data.performance.previous_version, data.performance.previous_auc], [true, "1.0.0", before]);
    assert.equal(data.performance.improvement, `+0.01 (+${Math.round((0.01 / before) * 1000) / 10}%)`);
  });
});
