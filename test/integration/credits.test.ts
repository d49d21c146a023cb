import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createScorerHandler } from "../../pipelines/scorer/handler.ts";
import { createLogger } from "../../src/log.ts";
import type { Platform } from "../../src/platform.ts";
import { encodeJson, type BatchHandler, type Outcome } from "../../src/streams/index.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

const CUSTOMER = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month", internet_service: "Fiber optic" };

describe("credits: one per completed prediction, charged with the stored result", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let scorer: BatchHandler;
  // stream sequences far above anything the running platform reaches in this file
  let seq = 1_000_000;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"] });
    const { db, bus, registry, metrics } = platform;
    // a second scorer handler, fed here directly: what it is given twice is a redelivery
    scorer = createScorerHandler({ db, bus, registry, metrics, log: createLogger("silent"), config });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  /** A PREDICT message as the scorer receives it; the same object handed over again is a redelivery. */
  function message(body: Record<string, unknown>, deliveryCount = 1): JsMsg {
    const s = ++seq;
    const h = natsHeaders();
    h.set("Nats-Msg-Id", String(body.prediction_id ?? `m${s}`));
    return {
      subject: platform.bus.names.predictSubject("churn_telco"),
      data: encodeJson(body),
      seq: s,
      headers: h,
      info: { stream: platform.bus.names.predict, deliveryCount, pending: 0 },
    } as unknown as JsMsg;
  }

  /** The scorer's outcomes once the commit behind them is on disk, without the promise that says so. */
  async function onDisk(outcomes: Outcome[]): Promise<Outcome[]> {
    return Promise.all(
      outcomes.map(async (outcome) => {
        if (outcome.kind !== "ack") return outcome;
        const { durable, ...rest } = outcome;
        assert.ok(durable, "an ack waits for the commit to reach the disk");
        await durable;
        return rest;
      }),
    );
  }

  it("charges a request once however often it is delivered, also twice in one batch", async () => {
    const user = await signedInClient(platform);
    const msg = message({ features: CUSTOMER, source: "event", user_id: user.userId, tenant_id: 1 });
    assert.deepEqual(await onDisk(await scorer([msg])), [{ kind: "ack" }]);
    assert.equal(await creditsOf(platform, user.userId), 999);
    const rows = await platform.db("predictions").where({ user_id: user.userId });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, "completed");

    assert.deepEqual(await onDisk(await scorer([msg])), [{ kind: "ack" }], "redelivered");
    assert.deepEqual(await onDisk(await scorer([msg, msg])), [{ kind: "ack" }, { kind: "ack" }], "redelivered twice in one batch");
    assert.equal(await creditsOf(platform, user.userId), 999, "no second charge");
    const again = await platform.db("predictions").where({ user_id: user.userId });
    assert.equal(again.length, 1);
    assert.equal(again[0].score, rows[0].score);
  });

  it("charges a request an API left pending (it timed out) once, when the scorer completes it", async () => {
    const user = await signedInClient(platform);
    const id = randomUUID();
    await platform.db("predictions").insert({
      id,
      message_id: id,
      model: "churn_telco",
      model_version: "1.0.0",
      source: "sync",
      tenant_id: 1,
      user_id: user.userId,
      status: "pending",
      input: JSON.stringify(CUSTOMER),
    });
    const msg = message({ prediction_id: id, features: CUSTOMER, source: "sync", user_id: user.userId, tenant_id: 1 });
    await scorer([msg]);
    const row = await platform.db("predictions").where({ id }).first();
    assert.equal(row.status, "completed");
    assert.ok(row.score > 0.5);
    assert.equal(await creditsOf(platform, user.userId), 999);
    await scorer([msg]);
    assert.equal(await creditsOf(platform, user.userId), 999, "completing it again costs nothing");
  });

  it("does not charge for a prediction that failed", async () => {
    const user = await signedInClient(platform);
    const outcomes = await scorer([message({ features: { ...CUSTOMER, tenure: "three" }, source: "event", user_id: user.userId, tenant_id: 1 })]);
    assert.deepEqual(await onDisk(outcomes), [{ kind: "ack" }]);
    const row = await platform.db("predictions").where({ user_id: user.userId }).first();
    assert.equal(row.status, "failed");
    assert.equal(row.error.code, "INVALID_INPUT");
    assert.equal(await creditsOf(platform, user.userId), 1000);
  });

  it("charges each of many concurrent predictions of one user exactly once", async () => {
    const user = await signedInClient(platform);
    const N = 120;
    const responses = await Promise.all(Array.from({ length: N }, (_, i) => user.http.post("/api/predict/churn", { ...CUSTOMER, tenure: 1 + (i % 70) })));
    assert.deepEqual(responses.map((r) => r.status), Array(N).fill(200));
    assert.equal(await creditsOf(platform, user.userId), 1000 - N);
    const counted = await platform.db("predictions").where({ user_id: user.userId, status: "completed" }).count({ n: "*" });
    assert.equal(Number(counted[0]?.n), N);
  });

  it("stores and charges concurrent batches even when one of them cannot be stored", async () => {
    const user = await signedInClient(platform);
    const good = () => message({ features: CUSTOMER, source: "event", user_id: user.userId, tenant_id: 1 });
    const bad = message({ features: CUSTOMER, source: "event", user_id: user.userId, tenant_id: 1 });
    bad.headers!.set("Nats-Msg-Id", "x".repeat(250)); // longer than predictions.message_id allows
    const results = await Promise.allSettled([scorer([good()]), scorer([bad]), scorer([good()]), scorer([good(), good()])]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    assert.equal(await creditsOf(platform, user.userId), 996);
    const counted = await platform.db("predictions").where({ user_id: user.userId }).count({ n: "*" });
    assert.equal(Number(counted[0]?.n), 4);
  });

  it("charges several users in one batch, each for their own predictions", async () => {
    const a = await signedInClient(platform);
    const b = await signedInClient(platform);
    const batch = [a, b, a, a].map((u) => message({ features: CUSTOMER, source: "event", user_id: u.userId, tenant_id: 1 }));
    await scorer(batch);
    assert.equal(await creditsOf(platform, a.userId), 997);
    assert.equal(await creditsOf(platform, b.userId), 999);
  });
  it("does not charge an admin, who is never refused for want of credits", async () => {
    const admin = await signedInClient(platform, "admin");
    await platform.db("users").where({ id: admin.userId }).update({ credits_remaining: 0 });
    const seed = await admin.http.post("/api/predict/churn", CUSTOMER);
    assert.equal(seed.status, 200, seed.text);
    assert.equal(seed.body.credits_consumed, 0);
    const batch = await admin.http.post("/api/v1/batch-predict", { model_id: "churn_telco", instances: [CUSTOMER, CUSTOMER, CUSTOMER] });
    assert.equal(batch.status, 200, batch.text);
    assert.equal(batch.body.completed, 3);
    const stored = await platform.db("predictions").where({ user_id: admin.userId, status: "completed" }).count({ n: "*" });
    assert.equal(Number(stored[0]!.n), 4, "stored like anyone's");
    assert.equal(await creditsOf(platform, admin.userId), 0, "and not charged");
  });

  it("lets admins list accounts and allocate credits, which lift a 402", async () => {
    const admin = await signedInClient(platform, "admin");
    const poor = await signedInClient(platform);
    await platform.db("users").where({ id: poor.userId }).update({ credits_remaining: 0 });
    assert.equal((await poor.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER })).status, 402);
    assert.equal((await poor.http.post(`/api/v1/admin/users/${poor.userId}/credits`, { credits: 10 })).status, 403, "not an admin");
    assert.equal((await poor.http.get("/api/v1/admin/users")).status, 403);

    const total = Number((await platform.db("users").count({ n: "*" }))[0]!.n);
    const list = await admin.http.get("/api/v1/admin/users?page_size=100");
    assert.equal(list.status, 200, list.text);
    const pages = Math.ceil(total / 100);
    assert.deepEqual(list.body.pagination, { total, page: 1, page_size: 100, pages, has_next: pages > 1, has_prev: false });
    const listed = list.body.items.find((u: { user_id: number }) => u.user_id === poor.userId);
    assert.equal(listed.credits_remaining, 0);
    assert.equal(listed.role, "user");

    const given = await admin.http.post(`/api/v1/admin/users/${poor.userId}/credits`, { credits: 10 });
    assert.equal(given.status, 200, given.text);
    assert.equal(given.body.credits_remaining, 10);
    assert.equal((await admin.http.post(`/api/v1/admin/users/${poor.userId}/credits`, { credits: 5 })).body.credits_remaining, 15, "added, not set");
    for (const bad of [{ credits: 0 }, { credits: -5 }, { credits: 1.5 }, { credits: "10" }, {}, { credits: 1, note: "x" }]) {
      assert.equal((await admin.http.post(`/api/v1/admin/users/${poor.userId}/credits`, bad)).status, 422, JSON.stringify(bad));
    }
    const overflow = await admin.http.post(`/api/v1/admin/users/${poor.userId}/credits`, { credits: 2_147_483_647 });
    assert.equal(overflow.status, 422);
    assert.equal(overflow.body.code, "INVALID_INPUT");
    assert.equal(await creditsOf(platform, poor.userId), 15, "an overflow changes nothing");
    const nobody = await admin.http.post("/api/v1/admin/users/999999/credits", { credits: 1 });
    assert.equal(nobody.status, 404);
    // seed 000's own paths answer the same
    assert.equal((await admin.http.post(`/admin/users/${poor.userId}/credits`, { credits: 1 })).body.credits_remaining, 16);
    assert.equal((await poor.http.post(`/admin/users/${poor.userId}/credits`, { credits: 1 })).status, 403);
    assert.equal((await admin.http.get("/admin/users?page_size=100")).body.pagination.total, total);

    await new Promise((r) => setTimeout(r, 5_100)); // the principal cache holds credits for 5 s
    const res = await poor.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER });
    assert.equal(res.status, 200, res.text);
    assert.equal(await creditsOf(platform, poor.userId), 15);
  });
});
