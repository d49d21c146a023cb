import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

describe("dead-letter admin API", () => {
  const config = isolatedConfig();
  let platform: Platform;

  before(async () => {
    platform = await startTestPlatform(config);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("lists dead letters with their error, retries one or all, and is closed to non-operators", async () => {
    const operator = await signedInClient(platform, "operator");
    const user = await signedInClient(platform);
    const js = jetstream(platform.bus.nc);
    const subject = `${config.SUBJECT_PREFIX}events.customer.dl-1`;
    await js.publish(subject, "garbage one", { msgID: "bad-1" });
    await js.publish(subject, JSON.stringify({ id: "x", domain: "customer", key: "dl-1", type: "t", data: { tenure: -5.5 }, timestamp: new Date().toISOString() }), { msgID: "bad-2" });

    const list = await eventually(async () => {
      const res = await operator.http.get("/api/v1/admin/dead-letters");
      return res.body.items?.length === 2 ? res.body : undefined;
    }, 10_000, "two dead letters");
    const [first, second] = list.items;
    assert.equal(first.consumer, "churn");
    assert.equal(first.subject, subject);
    assert.equal(first.payload, "garbage one");
    assert.equal(first.original_msg_id, "bad-1");
    assert.match(first.error, /not a customer event/);
    assert.match(second.error, /tenure/);
    assert.equal(second.payload.data.tenure, -5.5);

    assert.equal((await user.http.get("/api/v1/admin/dead-letters")).status, 403);
    assert.equal((await user.http.post(`/api/v1/admin/dead-letters/${first.id}/retry`)).status, 403);

    const before = (await platform.bus.jsm.streams.info(platform.bus.names.events("customer"))).state.last_seq;
    const retried = await operator.http.post(`/api/v1/admin/dead-letters/${first.id}/retry`);
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.subject, subject);
    assert.ok(retried.body.seq > before, "published again to the original stream");
    assert.equal((await operator.http.post(`/api/v1/admin/dead-letters/${first.id}/retry`)).status, 404, "a retried letter leaves the DLQ");

    // still garbage: it comes back as a new dead letter, and retry-all sends everything again
    await eventually(async () => ((await operator.http.get("/api/v1/admin/dead-letters")).body.items.length === 2 ? true : undefined), 10_000);
    const all = await operator.http.post("/api/v1/admin/dead-letters/retry-all?consumer=churn");
    assert.equal(all.status, 200);
    assert.equal(all.body.retried.length, 2);
    assert.equal((await operator.http.post("/api/v1/admin/dead-letters/999999/retry")).status, 404);
  });
});
