import assert from "node:assert/strict";
import { cpus, totalmem } from "node:os";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

describe("health, status and resources (seed 002), without signing in", () => {
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
});
