import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { after, before, describe, it } from "node:test";
import { insertAlerts, publishAlerts } from "../../src/alerts/index.ts";
import type { Platform } from "../../src/platform.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../src/webhooks/index.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { webhookReceiver } from "../helpers/webhook-receiver.ts";
import { signedInClient } from "../helpers/users.ts";

const CUSTOMER = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month" };

describe("webhooks: signed deliveries of platform events, with retries", () => {
  const config = isolatedConfig({ WEBHOOK_ATTEMPTS: "3", WEBHOOK_RETRY_DELAY_MS: "200", CREDIT_LOW_THRESHOLD: "10" });
  let platform: Platform;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  let alice: Awaited<ReturnType<typeof signedInClient>>;
  let bob: Awaited<ReturnType<typeof signedInClient>>;

  const configure = async (who: typeof alice, path: string, events: string[]) => {
    const res = await who.http.post("/api/webhooks/configure", { url: hooks.url(path), events });
    assert.equal(res.status, 201, res.text);
    return res.body as { id: string; secret: string };
  };
  const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined) => eventually(async () => probe(), 15_000, what);
  const deliveries = async (who: typeof alice, webhookId: string) => (await who.http.get(`/api/webhooks/${webhookId}/deliveries?page_size=100`)).body.items as Array<Record<string, unknown>>;

  before(async () => {
    hooks = await webhookReceiver();
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer", "webhooks", "recommendations"], jobs: true });
    alice = await signedInClient(platform);
    bob = await signedInClient(platform);
  });
  after(async () => {
    await platform?.close();
    await hooks?.close();
    await dropIsolated(config);
  });

  it("registers an endpoint, shows its secret once, and refuses what it cannot deliver to", async () => {
    const created = await alice.http.post("/api/webhooks/configure", { url: hooks.url("/crud"), events: ["prediction.completed", "model.updated"], description: "crm" });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.body.events, ["prediction.completed", "model.updated"]);

    const listed = await alice.http.get("/api/webhooks");
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.items.map((w: { id: string }) => w.id), [created.body.id]);
    assert.equal(listed.body.items[0].secret, undefined, "the secret is not shown again");
    assert.ok(listed.body.supported_events.some((e: { name: string; scope: string }) => e.name === "user.credit_low" && e.scope === "owner"));
    assert.equal((await bob.http.get(`/api/webhooks/${created.body.id}`)).status, 404, "another user's webhook is not found");
    assert.equal((await bob.http.get("/api/webhooks")).body.total, 0);

    const badEvent = await alice.http.post("/api/webhooks/configure", { url: hooks.url("/x"), events: ["prediction.done"] });
    assert.equal(badEvent.status, 422);
    assert.ok(badEvent.body.details["events.0"], badEvent.text);
    const ftp = await alice.http.post("/api/webhooks/configure", { url: "ftp://example.com/hook", events: ["alert.triggered"] });
    assert.equal(ftp.status, 422);
    assert.deepEqual(ftp.body.details.url, ["must be an http or https URL"]);
    assert.equal((await alice.http.post("/api/webhooks/configure", { url: hooks.url("/x"), events: [] })).status, 422);
    assert.equal((await alice.http.post("/api/webhooks/configure", { url: hooks.url("/x"), events: ["alert.triggered"], secret: "short" })).status, 422);

    const rotated = await alice.http.patch(`/api/webhooks/${created.body.id}`, { rotate_secret: true, events: ["alert.triggered"] });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.body.secret, created.body.secret);
    assert.deepEqual(rotated.body.events, ["alert.triggered"]);
    assert.equal((await bob.http.delete(`/api/webhooks/${created.body.id}`)).status, 404);
    assert.equal((await alice.http.delete(`/api/webhooks/${created.body.id}`)).status, 204);
    assert.equal((await alice.http.get(`/api/webhooks/${created.body.id}`)).status, 404);
  });

  it("delivers prediction.completed for the owner's predictions only, signed with the endpoint's secret", async () => {
    const hook = await configure(alice, "/predictions", ["prediction.completed"]);
    await configure(bob, "/bob-predictions", ["prediction.completed"]);
    // the scorer learns of the new endpoint within moments: predict until a delivery arrives
    const mine = new Set<string>();
    const first = await until("a prediction.completed delivery", async () => {
      const res = await alice.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER });
      assert.equal(res.status, 200, res.text);
      mine.add(res.body.prediction_id);
      return hooks.at("/predictions")[0];
    });
    const bobs = await bob.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER });
    assert.equal(bobs.status, 200);
    await until("bob's own delivery", () => hooks.at("/bob-predictions").find((r) => r.body.data.prediction_id === bobs.body.prediction_id));
    const last = await alice.http.post("/api/v1/predict", { model_id: "lead_scoring", features: { company_size: "51-200", budget: 250000, industry_score: 8.5 } });
    await until("the last prediction's delivery", () => hooks.at("/predictions").find((r) => r.body.data.prediction_id === last.body.prediction_id));

    assert.equal(first.body.event, "prediction.completed");
    assert.equal(first.headers["x-tidecast-event"], "prediction.completed");
    assert.ok(verifySignature(hook.secret, first.raw, first.headers[SIGNATURE_HEADER] as string), "the signature verifies with the secret");
    assert.ok(!verifySignature(hook.secret, first.raw.replace("churn_telco", "churn_telcx"), first.headers[SIGNATURE_HEADER] as string), "a changed body does not");

    const stored = await alice.http.get(`/api/v1/predictions/${first.body.data.prediction_id}`);
    assert.ok(mine.has(first.body.data.prediction_id as string));
    assert.deepEqual(first.body.data.result, stored.body.output ?? stored.body.result, "the payload carries the stored result");
    assert.equal(first.body.data.user_id, alice.userId);
    assert.equal(first.body.data.model, "churn_telco");
    const received = hooks.at("/predictions");
    assert.ok(received.every((r) => r.body.data.user_id === alice.userId), "bob's prediction is not sent to alice's endpoint");
    assert.equal(new Set(received.map((r) => r.body.id)).size, received.length, "each prediction once");
    const log = await deliveries(alice, hook.id);
    assert.ok(log.length >= 2 && log.every((d) => d.status === "delivered" && d.attempts === 1 && d.response_status === 200), JSON.stringify(log[0]));
  });

  it("retries a failing endpoint with backoff, and fails a delivery for good after its attempts", async () => {
    const flaky = await configure(alice, "/flaky", ["batch.completed"]);
    hooks.script("/flaky", [503]);
    const test = await alice.http.post(`/api/webhooks/${flaky.id}/test`);
    assert.equal(test.status, 202, test.text);
    const delivered = await until("the retried delivery", async () => (await deliveries(alice, flaky.id)).find((d) => d.status === "delivered"));
    assert.equal(delivered.attempts, 2);
    assert.equal(delivered.event, "webhook.test");
    assert.equal(hooks.at("/flaky").length, 2);
    assert.equal(hooks.at("/flaky")[0]!.body.id, hooks.at("/flaky")[1]!.body.id, "a retry sends the same event");

    const down = await configure(alice, "/down", ["batch.completed"]);
    hooks.script("/down", [500, 500, 500, 500]);
    assert.equal((await alice.http.post(`/api/webhooks/${down.id}/test`)).status, 202);
    const failed = await until("the failed delivery", async () => (await deliveries(alice, down.id)).find((d) => d.status === "failed"));
    assert.equal(failed.attempts, 3, "WEBHOOK_ATTEMPTS");
    assert.equal(failed.response_status, 500);
    assert.match(failed.last_error as string, /answered 500: scripted 500/);

    const paused = await alice.http.patch(`/api/webhooks/${down.id}`, { active: false });
    assert.equal(paused.body.active, false);
    assert.equal((await alice.http.post(`/api/webhooks/${down.id}/test`)).status, 409, "an inactive webhook is not tested");
    const redeliver = (id: string) => alice.http.post(`/api/webhooks/${down.id}/deliveries/${id}/redeliver`);
    assert.equal((await redeliver(failed.id as string)).status, 409, "nor redelivered");

    // the endpoint is back: the failed delivery is sent again, with a fresh set of attempts
    hooks.script("/down", []);
    assert.equal((await alice.http.patch(`/api/webhooks/${down.id}`, { active: true })).status, 200);
    const again = await redeliver(failed.id as string);
    assert.equal(again.status, 202, again.text);
    const recovered = await until("the redelivered delivery", async () => (await deliveries(alice, down.id)).find((d) => d.id === failed.id && d.status === "delivered"));
    assert.deepEqual([recovered.attempts, recovered.response_status, recovered.last_error], [4, 200, null]);
    assert.equal(hooks.at("/down").at(-1)!.body.id, hooks.at("/down")[0]!.body.id, "the same event");
    assert.equal((await redeliver("00000000-0000-4000-8000-000000000000")).status, 404);
    assert.equal((await bob.http.post(`/api/webhooks/${down.id}/deliveries/${failed.id}/redeliver`)).status, 404, "not bob's");
  });

  it("sends alerts under the most specific event each endpoint subscribed to", async () => {
    const specific = await configure(bob, "/churn", ["churn.alert", "alert.triggered"]);
    const general = await configure(alice, "/alerts", ["alert.triggered"]);
    const alerts = await insertAlerts(platform.db, [
      { dedupKey: `test:${Date.now()}`, type: "churn_risk", severity: "high", source: "churn", entityType: "customer", entityId: "c-9", message: "moved to High", data: { churn_probability: 0.81 } },
    ]);
    await publishAlerts(platform.db, platform.bus, platform.metrics, alerts);
    const churn = await until("the churn alert", () => hooks.at("/churn")[0]);
    const alert = await until("the alert", () => hooks.at("/alerts")[0]);
    assert.equal(churn.body.event, "churn.alert");
    assert.equal(alert.body.event, "alert.triggered");
    assert.equal(churn.body.data.entity_id, "c-9");
    assert.equal(alert.body.data.id, alerts[0]!.id);
    assert.equal((await deliveries(bob, specific.id)).length, 1, "once, although both events match");
    assert.equal((await deliveries(alice, general.id)).length, 1);
  });

  it("sends a shopper's new recommendations to every subscriber while anyone subscribes", async () => {
    await configure(bob, "/recommendations", ["recommendation.generated"]);
    // alice's shopper: a platform event, so bob's endpoint receives it too; the pipeline learns of the
    // endpoint within moments: send events until one is delivered
    let n = 0;
    const first = await until("recommendation.generated", async () => {
      const sent = await alice.http.post("/api/events", { events: [{ domain: "interaction", key: "shopper-7", type: "purchase", id: `s7-${++n}`, data: { item_id: "23166", quantity: 1 } }] });
      assert.equal(sent.status, 202, sent.text);
      return hooks.at("/recommendations")[0];
    });
    assert.equal(first.body.event, "recommendation.generated");
    assert.equal(first.body.data.customer_id, "shopper-7");
    assert.ok((first.body.data.recommendations as unknown[]).length > 0);
    // every event from the first delivered on is published, the last one included: its items are the stored ones
    const stored = await alice.http.get("/api/v1/recommendations/shopper-7?limit=50");
    assert.equal(stored.status, 200, stored.text);
    // the same shape as the API's, updated_at aside (the notice's is when it was published)
    const shown = (r: Record<string, unknown>) => ({ ...r, updated_at: undefined });
    await until("the stored items' delivery", () => hooks.at("/recommendations").find((r) => isDeepStrictEqual(shown(r.body.data), shown(stored.body))));
  });

  it("tells admins' and users' endpoints of a model activation, a batch and low credits", async () => {
    const admin = await signedInClient(platform, "admin");
    const models = await configure(bob, "/models", ["model.updated"]);
    const batches = await configure(bob, "/batches", ["batch.completed", "user.credit_low"]);

    const activated = await admin.http.post("/api/v1/models/churn_telco/activate", { version: "1.1.0" });
    assert.equal(activated.status, 200, activated.text);
    const deployed = await until("model.updated", () => hooks.at("/models")[0]);
    assert.equal(deployed.body.event, "model.updated");
    assert.deepEqual([deployed.body.data.model, deployed.body.data.version, deployed.body.data.previous_version], ["churn_telco", "1.1.0", activated.body.previous_version]);
    assert.equal((await admin.http.post("/api/v1/models/churn_telco/activate", { version: activated.body.previous_version })).status, 200);
    await until("the second activation", () => hooks.at("/models")[1]);
    assert.equal((await deliveries(bob, models.id)).length, 2);

    const batch = await bob.http.post("/api/v1/recommendations/batch", { customer_ids: ["c-1", "c-2"] });
    assert.equal(batch.status, 202, batch.text);
    const done = await until("batch.completed", () => hooks.at("/batches").find((r) => r.body.event === "batch.completed"));
    assert.deepEqual([done.body.data.job_id, done.body.data.status, done.body.data.total_customers], [batch.body.job_id, "completed", 2]);

    // 11 → 10 is not below the threshold of 10; 10 → 9 is, once; 9 → 8 crosses nothing
    await platform.db("users").where({ id: bob.userId }).update({ credits_remaining: 11 });
    for (let i = 0; i < 3; i++) assert.equal((await bob.http.post("/api/v1/predict", { model_id: "churn_telco", features: CUSTOMER })).status, 200);
    const low = await until("user.credit_low", () => hooks.at("/batches").find((r) => r.body.event === "user.credit_low"));
    assert.deepEqual(low.body.data, { user_id: bob.userId, credits_remaining: 9, threshold: 10 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hooks.at("/batches").filter((r) => r.body.event === "user.credit_low").length, 1, "one crossing, one event");
    assert.equal((await deliveries(bob, batches.id)).length, 2);
  });
});
