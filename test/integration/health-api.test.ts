import assert from "node:assert/strict";
import { cpus, totalmem } from "node:os";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { randomUUID } from "node:crypto";
import { insertAlerts } from "../../src/alerts/index.ts";
import { client, dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

describe("health, status, resources (seed 002) and monitoring (seed 000)", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let http: ReturnType<typeof client>;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
    http = client(platform.url!);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("answers the root, health, readiness with each dependency checked, and liveness", async () => {
    const root = await http.get("/");
    assert.equal(root.status, 200);
    assert.equal(root.body.docs, "/docs");
    assert.equal((await http.get("/health")).body.status, "healthy");
    const ready = await http.get("/health/ready");
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(Object.keys(ready.body.checks).sort(), ["models", "nats", "postgres", "redis"]);
    for (const check of Object.values(ready.body.checks) as Array<{ status: string }>) assert.equal(check.status, "ok");
    const live = await http.get("/health/live");
    assert.equal(live.body.status, "alive");
    assert.ok(live.body.uptime_seconds >= 0);
  });

  it("reports the models served in /status", async () => {
    const status = await http.get("/status");
    assert.equal(status.body.status, "operational");
    assert.equal(status.body.model.loaded, true);
    const b2b = status.body.models.find((m: { name: string }) => m.name === "b2b_lead_score");
    assert.equal(b2b.n_features, 50);
  });

  it("reports host and process resources in seed 002's shape, at most a second old", async () => {
    const first = await http.get("/resources");
    assert.equal(first.status, 200, first.text);
    const r = first.body;
    assert.equal(r.status, "ok");
    assert.equal(r.cpu.count, cpus().length);
    assert.equal(r.cpu.per_cpu.length, cpus().length);
    for (const percent of [r.cpu.usage_percent, ...r.cpu.per_cpu, r.memory.usage_percent, r.disk.usage_percent]) {
      assert.ok(percent >= 0 && percent <= 100, `${percent} is a percentage`);
    }
    assert.ok(Math.abs(r.memory.total_mb - totalmem() / 1024 ** 2) < 1);
    assert.ok(Math.abs(r.memory.used_mb + r.memory.available_mb - r.memory.total_mb) < 0.2);
    assert.ok(r.disk.total_gb > 0 && r.disk.used_gb + r.disk.free_gb <= r.disk.total_gb + 0.2);
    const rss = process.memoryUsage.rss() / 1024 ** 2;
    assert.ok(r.process.memory_mb > 0 && r.process.memory_mb <= rss * 1.2, "the platform runs in this test's process");
    assert.ok(r.process.threads >= 1 && r.process.open_files >= 3, "Linux's /proc is read");
    assert.ok(r.network.bytes_recv_mb >= 0 && r.network.bytes_sent_mb >= 0);
    assert.deepEqual(Object.keys(r.alerts).sort(), ["high_cpu", "high_memory", "low_disk"]);
    assert.equal(r.alerts.high_memory, r.memory.usage_percent > 90);

    assert.equal((await http.get("/resources")).body.timestamp, r.timestamp, "a second request within the second reuses the snapshot");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.notEqual((await http.get("/resources")).body.timestamp, r.timestamp, "then a new one is taken");
  });
  it("serves seed 000's monitoring API: health for anyone, models, metrics and alerts for operators", async () => {
    const health = await http.get("/monitoring/api/health");
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "healthy");
    assert.deepEqual(Object.keys(health.body.checks).sort(), ["models", "nats", "postgres", "redis"]);

    const user = await signedInClient(platform);
    const operator = await signedInClient(platform, "operator");
    for (const path of ["/monitoring/api/models", "/monitoring/api/metrics", "/monitoring/api/alerts"]) {
      assert.equal((await http.get(path)).status, 401, path);
      assert.equal((await user.http.get(path)).status, 403, path);
    }
    // two predictions of the operator's tenant: one a minute ago, one two hours ago
    const row = (minutesAgo: number, latency: number) => {
      const id = randomUUID();
      return { id, message_id: id, model: "churn_telco", model_version: "1.2.0", source: "sync", tenant_id: 1, user_id: user.userId, status: "completed", input: "{}", output: JSON.stringify({ confidence: 0.8 }), score: 0.8, latency_ms: latency, created_at: new Date(Date.now() - minutesAgo * 60_000) };
    };
    await platform.db("predictions").insert([row(1, 20), row(120, 40)]);
    const models = await operator.http.get("/monitoring/api/models?window=60");
    assert.equal(models.status, 200, models.text);
    assert.deepEqual(Object.keys(models.body.models).sort(), platform.registry.listActive().map((m) => m.name).sort());
    assert.equal(models.body.models.churn_telco.version, platform.registry.get("churn_telco").version);
    assert.deepEqual(models.body.models.churn_telco.window, { count: 1, success_rate: 100, avg_confidence: 0.8, avg_processing_time: 0.02 });
    assert.equal(models.body.models.lead_scoring.window.count, 0);
    const day = await operator.http.get("/monitoring/api/models?window=1440");
    assert.equal(day.body.models.churn_telco.window.count, 2);

    const metrics = await operator.http.get("/monitoring/api/metrics?window=60");
    assert.equal(metrics.status, 200, metrics.text);
    assert.deepEqual([metrics.body.predictions.count, metrics.body.predictions.per_minute, metrics.body.predictions.p95_processing_time], [1, 0.02, 0.02]);
    assert.equal(metrics.body.system.cpu.count, cpus().length);
    assert.equal((await operator.http.get("/monitoring/api/metrics?window=0")).status, 422);

    const [open, resolved] = await insertAlerts(platform.db, ["open", "resolved"].map((k) => ({ dedupKey: `monitoring-${k}`, type: "test", severity: "high", source: "test", entityType: "test", entityId: k, message: k, data: {} })));
    await platform.db("alerts").where({ id: resolved!.id }).update({ status: "resolved", resolved_at: new Date() });
    const alerts = await operator.http.get("/monitoring/api/alerts");
    assert.equal(alerts.status, 200, alerts.text);
    assert.deepEqual(alerts.body.open.items.map((a: { id: string }) => a.id), [open!.id]);
    assert.equal(alerts.body.acknowledged.items.length, 0);

    // seed 000's enterprise health and model status: the same figures in that family's shapes
    const detailed = await operator.http.get("/api/enterprise/health/detailed");
    assert.equal(detailed.status, 200, detailed.text);
    assert.deepEqual([detailed.body.status, detailed.body.overall_health_score], ["healthy", 100]);
    const { database, cache, api_performance: api } = detailed.body.components;
    assert.ok(database.connections >= 1 && database.connections <= database.max_connections, JSON.stringify(database));
    assert.ok(cache.memory_usage_mb > 0 && cache.keys >= 0, JSON.stringify(cache));
    assert.ok(api.requests > 10 && api.avg_response_time_ms > 0 && api.error_rate === 0, JSON.stringify(api));
    assert.equal((await user.http.get("/api/enterprise/health/detailed")).status, 403);

    const failedId = randomUUID();
    await platform.db("predictions").insert({ ...row(5, 10), id: failedId, message_id: failedId, model: "lead_scoring", status: "failed", output: null, score: null });
    const status = await operator.http.get("/api/enterprise/status/models?hours=24");
    assert.equal(status.status, 200, status.text);
    assert.deepEqual([status.body.models.churn_telco.predictions_count, status.body.models.churn_telco.status], [2, "healthy"]);
    assert.deepEqual([status.body.models.lead_scoring.error_rate, status.body.models.lead_scoring.status], [100, "degraded"]);
    assert.equal(status.body.system_summary.healthy_models, status.body.system_summary.total_models - 1);
    assert.match(status.body.alerts[0].message, /^Model lead_scoring failed 100% /);
  });
});
