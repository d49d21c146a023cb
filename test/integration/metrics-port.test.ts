import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

describe("a process without the API, with METRICS_PORT", () => {
  let platform: Platform;
  let base: string;
  const config = isolatedConfig();

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    platform = await startTestPlatform({ ...config, METRICS_PORT: port }, { api: false, pipelines: ["churn"] });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("serves its pipeline metrics to Prometheus", async () => {
    const event = { id: "m-1", domain: "customer", key: "c-1", type: "profile", data: { tenure: 3 }, timestamp: new Date().toISOString() };
    await platform.bus.publisher.publish("events", platform.bus.names.eventSubject("customer", "c-1"), event, { msgId: event.id });
    const consumed = await eventually(async () => {
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
      return /^tidecast_consumed_messages_total\{[^}]*churn[^}]*\} 1$/m.exec(await res.text())?.[0];
    });
    assert.ok(consumed);
  });

  it("answers liveness, and 404 with the canonical error shape elsewhere", async () => {
    assert.deepEqual(await (await fetch(`${base}/health/live`)).json(), { status: "alive" });
    const res = await fetch(`${base}/api/predict/churn`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, "NOT_FOUND");
  });

  it("is closed with the platform", async () => {
    await platform.close();
    await assert.rejects(fetch(`${base}/metrics`));
  });
});
