import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { loadItemKnn, modelTop, type ItemKnn } from "../../pipelines/recommendations/item-knn.ts";
import type { Platform } from "../../src/platform.ts";
import type { EventEnvelope } from "../../src/streams/index.ts";
import { interactionEvents, UNKNOWN_ITEM_PREFIX } from "../fixtures/interaction-events.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

type Event = Pick<EventEnvelope, "domain" | "key" | "type" | "data" | "id">;
const interaction = (key: string, type: string, data: Record<string, unknown>, id: string): Event => ({ domain: "interaction", key, type, data, id });

describe("interaction events and the recommendations pipeline", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;
  let knn: ItemKnn;
  /** every event published through the API, for the exact counts */
  const sent: Event[] = [];

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["recommendations"], jobs: true });
    user = await signedInClient(platform);
    const model = platform.registry.get("recommend_retail");
    knn = loadItemKnn(model.card, new Uint8Array(await readFile(join(config.MODELS_DIR, model.name, model.version, "model.onnx"))));
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  const applied = async () => Number((await platform.db("interaction_state").sum({ n: "events_seen" }))[0]!.n ?? 0);
  const recommendationsOf = (id: string) => platform.db("recommendations").where({ customer_id: id }).first();
  async function publish(events: Event[]) {
    for (let i = 0; i < events.length; i += 1000) {
      const res = await user.http.post("/api/events", { events: events.slice(i, i + 1000) });
      assert.equal(res.status, 202, res.text);
    }
    sent.push(...events);
    await eventually(async () => ((await applied()) === sent.length ? true : undefined), 20_000, `${sent.length} events applied`);
  }

  it("recommends the model's neighbours of a customer's history, never what the customer has or bought", async () => {
    const seen = knn.items[knn.byPrior[200]!]!; // an item with a neighbourhood, not the best seller
    await publish([interaction("c-1", "view", { item_id: seen }, "c1-1"), interaction("c-1", "add_to_cart", { item_id: seen, quantity: 2 }, "c1-2")]);
    const first = await recommendationsOf("c-1");
    // nothing else is popular yet, so the blend is the model's own ranking for this history
    const index = knn.indexOf.get(seen)!;
    const expected = modelTop(knn, [{ index, weight: 1 }], [index], 10);
    assert.deepEqual(first.items.map((r: { item_id: string }) => r.item_id), Array.from(expected.items.subarray(0, expected.count), (i) => knn.items[i]));
    assert.equal(first.items[0].reason, "similar_items");
    assert.equal(first.model, "recommend_retail");
    assert.equal(first.model_version, knn.version);

    const bought = first.items[0].item_id;
    await publish([interaction("c-1", "purchase", { item_id: bought, quantity: 1 }, "c1-3")]);
    const state = await platform.db("interaction_state").where({ customer_id: "c-1" }).first();
    assert.deepEqual(state.purchased, [bought]);
    assert.deepEqual(state.history.map((h: { item_id: string }) => h.item_id), [bought, seen], "most recent first");
    assert.deepEqual(state.counters, { view: 1, add_to_cart: 1, purchase: 1 });
    const second = await recommendationsOf("c-1");
    const ids = second.items.map((r: { item_id: string }) => r.item_id);
    assert.equal(ids.length, 10);
    assert.ok(!ids.includes(bought) && !ids.includes(seen), `${ids} excludes the history`);
    assert.equal(second.stream_seq, state.last_seq);
    const scores = second.items.map((r: { score: number }) => r.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "best first");
  });

  it("keeps item statistics exact and every customer's recommendations clear of its purchases", async () => {
    const events: Event[] = interactionEvents(3000, 60);
    await publish(events);
    const expected = new Map<string, { views: number; carts: number; purchases: number; ratings_sum: number; ratings_count: number }>();
    for (const e of sent) {
      const item = e.data["item_id"] as string;
      const s = expected.get(item) ?? { views: 0, carts: 0, purchases: 0, ratings_sum: 0, ratings_count: 0 };
      if (e.type === "view") s.views++;
      if (e.type === "add_to_cart") s.carts++;
      if (e.type === "purchase") s.purchases++;
      if (e.type === "rating") {
        s.ratings_sum += e.data["rating"] as number;
        s.ratings_count++;
      }
      expected.set(item, s);
    }
    const rows = await platform.db("item_stats").select("item_id", "views", "carts", "purchases", "ratings_sum", "ratings_count");
    assert.deepEqual(new Map(rows.map(({ item_id, ...counts }) => [item_id, counts])), expected);
    assert.ok(rows.some((r) => r.item_id.startsWith(UNKNOWN_ITEM_PREFIX)), "items unknown to the model are counted");

    const purchases = new Map<string, Set<string>>();
    for (const e of events.filter((e) => e.type === "purchase")) {
      purchases.set(e.key, (purchases.get(e.key) ?? new Set()).add(e.data["item_id"] as string));
    }
    const states = await platform.db("interaction_state").whereIn("customer_id", [...purchases.keys()]);
    for (const state of states) {
      const row = await recommendationsOf(state.customer_id);
      assert.equal(row.stream_seq, state.last_seq, state.customer_id);
      for (const item of row.items as Array<{ item_id: string }>) {
        assert.ok(!purchases.get(state.customer_id)!.has(item.item_id), `${state.customer_id} bought ${item.item_id}`);
        assert.ok(!state.history.some((h: { item_id: string }) => h.item_id === item.item_id), `${item.item_id} is in ${state.customer_id}'s history`);
      }
    }
  });

  it("gives a cold-start customer the live best sellers, items unknown to the model included", async () => {
    const hot = `${UNKNOWN_ITEM_PREFIX}HOT`;
    await publish(Array.from({ length: 300 }, (_, i) => interaction(`fan-${i % 30}`, "purchase", { item_id: hot }, `hot-${i}`)));
    await publish([interaction("cold-1", "view", { item_id: `${UNKNOWN_ITEM_PREFIX}OTHER` }, "cold-1")]);
    const row = await recommendationsOf("cold-1");
    const mine = row.items.find((r: { item_id: string }) => r.item_id === hot);
    assert.ok(mine, `${hot} among ${row.items.map((r: { item_id: string }) => r.item_id)}`);
    assert.equal(mine.reason, "popular");
    assert.ok(row.items.every((r: { reason: string }) => r.reason === "popular"), "no known history, no neighbours");
  });

  it("serves a customer's recommendations over the API, and 404 for a customer never seen", async () => {
    const res = await user.http.get("/api/v1/recommendations/c-1");
    assert.equal(res.status, 200, res.text);
    const row = await recommendationsOf("c-1");
    assert.equal(res.body.customer_id, "c-1");
    assert.equal(res.body.model_id, "recommend_retail");
    assert.equal(res.body.model_version, knn.version);
    assert.deepEqual(
      res.body.recommendations.map((r: { product_id: string; score: number; reason: string }) => [r.product_id, r.score, r.reason]),
      row.items.map((r: { item_id: string; score: number; reason: string }) => [r.item_id, r.score, r.reason]),
    );
    assert.deepEqual(res.body.recommendations.map((r: { rank: number }) => r.rank), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const label = platform.registry.get("recommend_retail").card.items!.vocabulary.find((v) => v.id === row.items[0].item_id)!.label;
    assert.equal(res.body.recommendations[0].description, label);

    const few = await user.http.get("/api/v1/recommendations/c-1?limit=3");
    assert.equal(few.body.recommendations.length, 3);
    const byQuery = await user.http.get("/api/v1/recommendations?customer_id=c-1&limit=3");
    assert.deepEqual(byQuery.body, few.body, "seed 004's query form answers the same");
    assert.equal((await user.http.get("/api/v1/recommendations?limit=3")).status, 422, "the customer is required");
    const cold = await user.http.get("/api/v1/recommendations/cold-1");
    assert.equal(cold.body.recommendations.find((r: { product_id: string }) => r.product_id.startsWith(UNKNOWN_ITEM_PREFIX)).description, null);

    const missing = await user.http.get("/api/v1/recommendations/nobody");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "NOT_FOUND");
    assert.match(missing.body.message, /no interaction events seen/);
    assert.equal((await user.http.get("/api/v1/recommendations/c-1?limit=0")).status, 422);
    assert.equal((await user.http.get("/api/v1/recommendations/a%20b")).status, 422);
    assert.equal((await client(platform.url!).get("/api/v1/recommendations/c-1")).status, 401);
  });

  it("answers seed 004's batch: a job for many customers, each one's recommendations or why there are none", async () => {
    const queued = await user.http.post("/api/v1/recommendations/batch", { customer_ids: ["c-1", "cold-1", "nobody", "c-1"] });
    assert.equal(queued.status, 202, queued.text);
    assert.equal(queued.body.status, "pending");
    assert.equal(queued.body.total_customers, 3, "duplicates count once");
    const done = await eventually(async () => {
      const r = await user.http.get(queued.body.status_url);
      assert.equal(r.status, 200, r.text);
      return r.body.status === "completed" ? r.body : undefined;
    }, 10_000, "the batch");
    assert.equal(done.job_id, queued.body.job_id);
    assert.deepEqual([done.processed, done.failed], [2, 1]);
    assert.deepEqual(done.results.map((r: { customer_id: string; status: string }) => [r.customer_id, r.status]), [["c-1", "completed"], ["cold-1", "completed"], ["nobody", "failed"]]);
    const single = await user.http.get("/api/v1/recommendations/c-1");
    const { status: _status, ...first } = done.results[0];
    assert.deepEqual(first, single.body, "the same recommendations as the single route");
    assert.match(done.results[2].error, /no interaction events/);

    const other = await signedInClient(platform);
    assert.equal((await other.http.get(queued.body.status_url)).status, 404, "another user's batch is not theirs to read");
    assert.equal((await user.http.get("/api/v1/recommendations/batch/batch_00000000-0000-4000-8000-000000000000")).status, 404);
    assert.equal((await user.http.get("/api/v1/recommendations/batch/nope")).status, 422);
    for (const body of [{ customer_ids: [] }, { customer_ids: Array.from({ length: 1001 }, (_, i) => i) }, { customer_ids: ["a b"] }, { customer_ids: [-1] }, {}]) {
      const res = await user.http.post("/api/v1/recommendations/batch", body);
      assert.equal(res.status, 422, `${JSON.stringify(body).slice(0, 60)}: ${res.text}`);
    }
    const numeric = await user.http.post("/api/v1/recommendations/batch", { customer_ids: [123] });
    assert.equal(numeric.status, 202, "seed 004 sends numbers");
  });

  it("shows admins the batch queue's statistics, and queues a failed batch again", async () => {
    const admin = await signedInClient(platform, "admin");
    assert.equal((await user.http.get("/api/admin/batch/stats")).status, 403);
    // a batch that cannot be read fails at once (one attempt), as one whose database stayed away would at last
    const broken = `batch_${randomUUID()}`;
    await platform.jobs!.queues.recommendationBatches.add("recommendation-batch", { customerIds: null as unknown as string[], userId: user.userId }, { jobId: broken, attempts: 1 });
    const stats = await eventually(async () => {
      const r = await admin.http.get("/api/admin/batch/stats");
      return r.body.failed_count > 0 ? r.body : undefined;
    }, 10_000, "the broken batch to fail");
    assert.deepEqual(stats.failed_jobs.map((j: { job_id: string }) => j.job_id), [broken]);
    assert.ok(stats.failed_jobs[0].error.length > 0);
    assert.ok(stats.completed_last_hour >= 2, "the earlier batches completed within the hour");
    assert.equal(stats.processing_rate, Math.round((stats.completed_last_hour / 60) * 100) / 100);
    assert.equal((await user.http.get(`/api/v1/recommendations/batch/${broken}`)).body.status, "failed");

    const retried = await admin.http.post(`/api/admin/batch/retry/${broken}`);
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.body, { message: "Job requeued", job_id: broken });
    await eventually(async () => ((await platform.jobs!.queues.recommendationBatches.getJob(broken))?.attemptsMade === 2 ? true : undefined), 10_000, "the retried attempt");
    const done = (await admin.http.post("/api/v1/recommendations/batch", { customer_ids: ["c-1"] })).body.job_id;
    await eventually(async () => ((await admin.http.get(`/api/v1/recommendations/batch/${done}`)).body.status === "completed" ? true : undefined), 10_000, "a batch");
    assert.equal((await admin.http.post(`/api/admin/batch/retry/${done}`)).status, 409, "only a failed batch");
    assert.equal((await admin.http.post(`/api/admin/batch/retry/batch_${randomUUID()}`)).status, 404);
    assert.equal((await user.http.post(`/api/admin/batch/retry/${broken}`)).status, 403);
  });

  it("dead-letters events it cannot use, without stalling the ones behind them", async () => {
    const js = jetstream(platform.bus.nc);
    const subject = `${config.SUBJECT_PREFIX}events.interaction.p-1`;
    const envelope = (id: string, type: string, data: Record<string, unknown>) =>
      JSON.stringify({ id, domain: "interaction", key: "p-1", type, data, timestamp: new Date().toISOString() });
    const before = (await platform.bus.jsm.streams.info(platform.bus.names.dlq)).state.messages;
    await js.publish(subject, "this is not json", { msgID: "poison-1" });
    await js.publish(subject, envelope("poison-2", "rating", { item_id: "22423" }), { msgID: "poison-2" });
    await js.publish(subject, envelope("poison-3", "wishlist", { item_id: "22423" }), { msgID: "poison-3" });
    await js.publish(subject, envelope("poison-4", "view", { item_id: "bad\nid" }), { msgID: "poison-4" });
    await js.publish(subject, envelope("good", "view", { item_id: "22423" }), { msgID: "good-1" });
    const state = await eventually(async () => (await platform.db("interaction_state").where({ customer_id: "p-1" }).first()) ?? undefined, 10_000, "the good event");
    assert.equal(state.events_seen, 1, "the bad events changed nothing");
    const dlq = await eventually(async () => {
      const info = await platform.bus.jsm.streams.info(platform.bus.names.dlq);
      return info.state.messages >= before + 4 ? info : undefined;
    }, 20_000, "four dead letters");
    assert.equal(dlq.state.messages, before + 4);
    const errors: string[] = [];
    for (let seq = dlq.state.last_seq - 3; seq <= dlq.state.last_seq; seq++) {
      const m = await platform.bus.jsm.streams.getMessage(platform.bus.names.dlq, { seq });
      assert.equal(m!.header.get("Tidecast-Dlq-Consumer"), "recommendations");
      assert.equal(m!.header.get("Tidecast-Dlq-Deliveries"), "1", "an invalid message is not retried");
      errors.push(m!.header.get("Tidecast-Dlq-Error"));
    }
    assert.match(errors[0]!, /not an interaction event/);
    assert.match(errors[1]!, /rating/);
    assert.match(errors[2]!, /type/);
    assert.match(errors[3]!, /item_id/);
  });
});
