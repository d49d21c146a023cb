import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { basketOf, blend, CANDIDATES, LIVE_POPULARITY_WEIGHT, LivePopularity, modelView, RECOMMENDATIONS_KEPT } from "../../pipelines/recommendations/blend.ts";
import {
  applyInteraction,
  HISTORY_DECAY,
  HISTORY_LIMIT,
  InteractionEventSchema,
  PURCHASED_LIMIT,
  WEIGHT_DIGITS,
  type History,
  type Interaction,
} from "../../pipelines/recommendations/interaction.ts";
import { loadItemKnn, type ItemKnn } from "../../pipelines/recommendations/item-knn.ts";
import { exportItemKnn } from "../../src/training/recommender-onnx.ts";

/**
 * Four known items, exported to ONNX by the trainer's own exporter and read back as the pipeline
 * reads the shipped model. S (who lists whom as a neighbour): A → B 0.5, C 0.2; B → A 0.5.
 * Training popularity (the graph's prior): D is the best seller.
 */
function tinyKnn(): ItemKnn {
  const items = ["A", "B", "C", "D"];
  // row j: item j's K = 2 neighbours, padded with j itself at similarity 0
  const neighbours = { items: 4, k: 2, index: Int32Array.from([1, 0, 0, 1, 0, 2, 3, 3]), sim: Float32Array.from([0.5, 0, 0.5, 0, 0.2, 0, 0, 0]) };
  const prior = Float32Array.from([0.01, 0.02, 0.03, 0.1]);
  const options = { neighbours: 2, shrinkage: 0, popularityWeight: 0.1 };
  const onnx = exportItemKnn(
    { items: 4, neighbours, prior, counts: Int32Array.from([1, 2, 3, 10]), options },
    { graphName: "tiny", inputName: "basket", itemsOutput: "top_items", scoresOutput: "top_scores", maxN: 4 },
  );
  const vocabulary = items.map((id) => ({ id, label: `item ${id}` }));
  return loadItemKnn({ version: "test", items: { items_output: "top_items", scores_output: "top_scores", vocabulary } }, onnx);
}

const event = (type: Interaction["type"], item_id: string, rating?: number): Interaction => ({ type, data: { item_id, ...(rating ? { rating } : {}) } });
const empty = (): History => ({ history: [], purchased: [] });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

describe("interaction events", () => {
  const envelope = (e: object) => ({ id: "e-1", domain: "interaction", key: "c-1", timestamp: "2026-11-23T10:00:00Z", ...e });

  it("accept the four types, and a rating only with its stars", () => {
    assert.ok(InteractionEventSchema.safeParse(envelope({ type: "purchase", data: { item_id: "85123A", quantity: 2, note: "kept" } })).success);
    assert.ok(InteractionEventSchema.safeParse(envelope({ type: "rating", data: { item_id: "85123A", rating: 5 } })).success);
    assert.equal(InteractionEventSchema.safeParse(envelope({ domain: "customer", type: "view", data: { item_id: "85123A" } })).success, false);
    for (const bad of [
      { type: "rating", data: { item_id: "85123A" } },
      { type: "rating", data: { item_id: "85123A", rating: 6 } },
      { type: "wishlist", data: { item_id: "85123A" } },
      { type: "view", data: { item_id: "" } },
      { type: "view", data: { item_id: " padded" } },
      { type: "view", data: { item_id: "é" } },
      { type: "view", data: {} },
      { type: "purchase", data: { item_id: "x", quantity: -1 } },
    ]) {
      assert.equal(InteractionEventSchema.safeParse(envelope(bad)).success, false, JSON.stringify(bad));
    }
  });
});

describe("a customer's history", () => {
  it("weighs events by type, decays older ones, and keeps the most recent first", () => {
    const h = empty();
    applyInteraction(h, event("view", "A"));
    applyInteraction(h, event("add_to_cart", "B"));
    applyInteraction(h, event("view", "A"));
    assert.deepEqual(h.history.map((i) => i.item_id), ["A", "B"]);
    close(h.history[0]!.weight, 1 * HISTORY_DECAY * HISTORY_DECAY + 1, "A: decayed twice, then +1");
    close(h.history[1]!.weight, 3 * HISTORY_DECAY, "B: decayed once");
    applyInteraction(h, event("rating", "B", 1));
    close(h.history[0]!.weight, 3 * HISTORY_DECAY * HISTORY_DECAY - 4, "a one-star rating subtracts 4");
    assert.deepEqual(h.purchased, []);
  });

  it("remembers purchases most recent first, and stays bounded", () => {
    const h = empty();
    for (let i = 0; i < PURCHASED_LIMIT + 10; i++) applyInteraction(h, event("purchase", `P${i}`));
    applyInteraction(h, event("purchase", "P100"));
    assert.equal(h.history.length, HISTORY_LIMIT);
    assert.equal(h.purchased.length, PURCHASED_LIMIT);
    assert.deepEqual(h.purchased.slice(0, 2), ["P100", `P${PURCHASED_LIMIT + 9}`]);
    assert.ok(!h.purchased.includes("P0"), "the oldest purchase is forgotten first");
    const decimals = 10 ** WEIGHT_DIGITS;
    assert.ok(h.history.every((i) => Math.abs(i.weight * decimals - Math.round(i.weight * decimals)) < 1e-6), "weights are rounded");
  });
});

describe("the model's view of a history", () => {
  const knn = tinyKnn();

  it("scales the basket so the strongest known item counts 1, leaving out unknown and non-positive items", () => {
    const basket = basketOf(knn, [
      { item_id: "A", weight: 4 },
      { item_id: "NEW", weight: 9 },
      { item_id: "B", weight: 1 },
      { item_id: "C", weight: -2 },
    ]);
    assert.deepEqual(basket, [{ index: 0, weight: 1 }, { index: 1, weight: 0.25 }]);
  });

  it("excludes the history and the purchases from the model's candidates", () => {
    const view = modelView(knn, { history: [{ item_id: "A", weight: 1 }], purchased: ["D"] });
    assert.deepEqual([...view.excluded].sort(), ["A", "D"]);
    assert.deepEqual([...view.top.items.subarray(0, view.top.count)].map((i) => knn.items[i]), ["B", "C"]);
    close(view.top.scores[0]!, 0.5 + 0.02, "B: neighbour score + prior");
    close(view.top.neighbours[0]!, 0.5, "B: neighbour score");
  });
});

describe("live popularity", () => {
  const knn = tinyKnn();

  it("keeps the exact top items after every change, ties by item id in byte order", () => {
    // items the model knows (counted by model index) and items it does not
    const ids = [...knn.items, ...Array.from({ length: 40 }, (_, i) => `I${String.fromCharCode(65 + (i % 26))}${i}`)];
    const counts = new Map(ids.map((id, i) => [id, i % 7]));
    const bruteTop = (size: number) =>
      [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, size).map(([id, p]) => ({ item_id: id, popularity: p }));
    const live = new LivePopularity(knn, new Map(counts), bruteTop(5), 5);
    let x = 7;
    for (let step = 0; step < 500; step++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const id = ids[x % ids.length]!;
      const delta = 1 + (x % 5);
      counts.set(id, counts.get(id)! + delta);
      live.add(id, delta);
      assert.deepEqual(live.leaders().map(({ item_id, popularity }) => ({ item_id, popularity })), bruteTop(5), `step ${step}`);
      assert.equal(live.popularity(id), counts.get(id));
    }
    for (const [index, id] of knn.items.entries()) assert.equal(live.popularityAt(index), counts.get(id));
    assert.equal(live.max(), bruteTop(1)[0]!.popularity);
  });

  it("refuses an item whose committed count was not read", () => {
    const live = new LivePopularity(knn, new Map([["A", 1]]), [], 3);
    assert.throws(() => live.add("Z", 1), /not read/);
    assert.throws(() => live.add("B", 1), /not read/, "an item the model knows too");
  });
});

describe("the blend", () => {
  const knn = tinyKnn();

  it("adds live popularity, as a share of the live maximum, to the model's score", () => {
    const view = modelView(knn, { history: [{ item_id: "A", weight: 2 }], purchased: [] });
    const live = new LivePopularity(knn, new Map([["A", 0], ["B", 0], ["C", 0], ["D", 0]]), [], CANDIDATES);
    live.add("C", 10);
    live.add("A", 40); // the maximum, but in the history
    const recs = blend(knn, view, live);
    const byId = new Map(recs.map((r) => [r.item_id, r]));
    close(byId.get("B")!.score, 0.5 + 0.02, "B: no live interactions");
    close(byId.get("C")!.score, 0.2 + 0.03 + (LIVE_POPULARITY_WEIGHT * 10) / 40, "C");
    close(byId.get("D")!.score, 0.1, "D: training popularity alone");
    assert.deepEqual(recs.map((r) => [r.item_id, r.reason]), [["B", "similar_items"], ["C", "similar_items"], ["D", "popular"]]);
  });

  it("ranks items unknown to the model by live popularity alone, for cold starts too", () => {
    const view = modelView(knn, { history: [{ item_id: "NEW-1", weight: 1 }], purchased: [] });
    // the handler reads the counts of the model's candidates and of the batch's items
    const live = new LivePopularity(knn, new Map(["A", "B", "C", "D", "NEW-1", "NEW-2", "NEW-3"].map((id) => [id, 0])), [], CANDIDATES);
    live.add("NEW-2", 30);
    live.add("NEW-3", 4);
    live.add("NEW-1", 50);
    const recs = blend(knn, view, live);
    assert.deepEqual(recs.map((r) => r.item_id), ["D", "NEW-2", "C", "B", "A", "NEW-3"]);
    close(recs[1]!.score, (LIVE_POPULARITY_WEIGHT * 30) / 50, "NEW-2");
    assert.ok(recs.every((r) => r.reason === "popular"));
  });

  it("keeps the best RECOMMENDATIONS_KEPT, ties broken by item id", () => {
    const ids = Array.from({ length: 30 }, (_, i) => `N${String(i).padStart(2, "0")}`);
    const live = new LivePopularity(knn, new Map(ids.map((id) => [id, 0])), [], CANDIDATES);
    for (const id of ids) live.add(id, 5);
    const recs = blend(knn, modelView(knn, { history: [], purchased: ["A", "B", "C", "D"] }), live);
    assert.deepEqual(recs.map((r) => r.item_id), ids.slice(0, RECOMMENDATIONS_KEPT));
  });
});
