import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { FeatureSpecSchema, ModelCardSchema, type ModelCard } from "../../src/models/card.ts";
import { createEncoder, MAX_MULTIPLE_VALUES } from "../../src/models/encode.ts";
import type { LoadedModel } from "../../src/models/registry.ts";
import { readCard, readParity } from "../../src/training/artifacts.ts";
import { movielensHistories } from "../../src/training/recommender-benchmark.ts";
import { perUserHoldout, rankingMetrics } from "../../src/training/recommender-eval.ts";
import { cooccurrence, fitItemKnn, itemCounts, itemNeighbours, popularityRanker, scoreHistory, topN } from "../../src/training/recommender.ts";
import { mulberry32 } from "../../src/training/split.ts";
import { buildRecommendRetail, RECOMMEND_DEFAULTS, type BasketLine, type RecommendParityRow } from "../../src/training/trainers/recommend-retail.ts";
import { loadedModel, predict, shippedModel } from "../helpers/loaded-model.ts";

const DAY = 86_400_000;
const START = Date.UTC(2021, 0, 4);

/**
 * Seeded purchase lines over 16 weeks: 6 product families of 12 items; each customer mostly buys
 * from one family, sometimes anything; two best sellers everyone buys now and then.
 */
function basketLines(seed: number): BasketLine[] {
  const random = mulberry32(seed);
  const lines: BasketLine[] = [];
  const item = (g: number, i: number) => `G${g}-${String(i).padStart(2, "0")}`;
  for (let c = 0; c < 240; c++) {
    const family = c % 6;
    const purchases = 8 + Math.floor(random() * 14);
    for (let p = 0; p < purchases; p++) {
      const r = random();
      const code = r < 0.1 ? `BEST-${Math.floor(random() * 2)}` : r < 0.85 ? item(family, Math.floor(random() * 12)) : item(Math.floor(random() * 6), Math.floor(random() * 12));
      lines.push({ customerId: String(20000 + c), stockCode: code, description: ` item ${code} `, time: START + Math.floor(random() * 112 * DAY) });
    }
  }
  return lines;
}

const SOURCE = { dataset: "fixture", source: "generated in test", files: [], notes: "" };
const OPTIONS = {
  ...RECOMMEND_DEFAULTS,
  testDays: 21,
  validationDays: 21,
  k: 5,
  maxN: 10,
  defaultN: 5,
  grid: { neighbours: [5, 10], shrinkage: [0, 5], popularityWeight: [0.001] },
  parityRows: 24,
  parityBasket: 10,
};

/** Same items, except neighbours whose scores are within `tolerance` may swap. */
function assertSameRanking(actual: string[], expected: string[], scores: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} items, expected ${expected.length}`);
  actual.forEach((id, k) => {
    if (id === expected[k]) return;
    const tiedWith = expected.findIndex((e, j) => e === id && Math.abs(scores[j]! - scores[k]!) <= tolerance);
    assert.ok(tiedWith >= 0, `${what}: position ${k} is ${id}, expected ${expected[k]} (score ${scores[k]})`);
  });
}

describe("ItemKNN core", () => {
  // users: 0 {0,1,2}, 1 {0,1}, 2 {1,2,3}, 3 {3}
  const data = { items: 4, histories: [[0, 1, 2], [0, 1], [1, 2, 3], [3]].map((h) => Int32Array.from(h)) };

  it("counts co-occurrences and cosine similarities with shrinkage", () => {
    const co = cooccurrence(data);
    assert.deepEqual([...co], [0, 2, 1, 0, 2, 0, 2, 1, 1, 2, 0, 1, 0, 1, 1, 0]);
    const counts = itemCounts(data);
    assert.deepEqual([...counts], [2, 3, 2, 2]);
    const lists = itemNeighbours(co, counts, 1, 2);
    // item 0: sim(0,1) = 2 / (sqrt(6) + 1), sim(0,2) = 1 / (2 + 1)
    assert.deepEqual([...lists.index.subarray(0, 2)], [1, 2]);
    assert.ok(Math.abs(lists.sim[0]! - 2 / (Math.sqrt(6) + 1)) < 1e-7);
    assert.ok(Math.abs(lists.sim[1]! - 1 / 3) < 1e-7);
    // item 2: sim(2,1) = 0.58 first, then sim(2,0) = sim(2,3) = 1/3, the tie to the lower index
    assert.deepEqual([...lists.index.subarray(4, 6)], [1, 0]);
    // item 3: sim(3,2) = 1/3 > sim(3,1) = 1 / (sqrt(6) + 1)
    assert.deepEqual([...lists.index.subarray(6, 8)], [2, 1]);
    // an item with fewer neighbours than slots pads with itself at similarity 0
    const wide = itemNeighbours(co, counts, 1, 3);
    assert.deepEqual([...wide.index.subarray(9, 12)], [2, 1, 3]);
    assert.equal(wide.sim[11], 0);
  });

  it("scores a candidate from its own neighbours in the history, never recommends the history", () => {
    const model = fitItemKnn(data, { neighbours: 1, shrinkage: 0, popularityWeight: 0 });
    // each item keeps only its single most similar item (ties → lower index)
    const scores = scoreHistory(model, [1]);
    assert.equal(scores[1], -Infinity);
    // item 0's nearest is 1 (2/sqrt(6)); item 2's nearest is 1 (2/sqrt(6)); item 3's nearest is 2 (1/sqrt(4))
    assert.ok(Math.abs(scores[0]! - Math.fround(2 / Math.sqrt(6))) < 1e-12);
    assert.ok(Math.abs(scores[2]! - Math.fround(2 / Math.sqrt(6))) < 1e-12);
    assert.equal(scores[3], 0);
    assert.deepEqual(topN(scores, 2), [0, 2]);
  });

  it("falls back to popularity for an empty history", () => {
    const model = fitItemKnn(data, { neighbours: 2, shrinkage: 0, popularityWeight: 0.01 });
    assert.equal(topN(scoreHistory(model, []), 1)[0], 1, "the most bought item");
    assert.deepEqual(popularityRanker(itemCounts(data))([1], 2), [0, 2]);
  });

  it("ranking metrics match a hand computation", () => {
    const ranker = () => [5, 1, 7];
    const cases = [
      { history: Int32Array.from([0]), relevant: new Set([1, 9]) }, // hit at rank 2
      { history: Int32Array.from([0]), relevant: new Set([5]) }, // hit at rank 1
    ];
    const m = rankingMetrics(ranker, cases, 3, 10);
    assert.ok(Math.abs(m.precision - (1 / 3 + 1 / 3) / 2) < 1e-12);
    assert.ok(Math.abs(m.recall - (1 / 2 + 1) / 2) < 1e-12);
    const ndcg1 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    assert.ok(Math.abs(m.ndcg - (ndcg1 + 1) / 2) < 1e-12);
    assert.equal(m.hit_rate, 1);
    assert.equal(m.catalogue_coverage, 0.3);
  });

  it("per-user holdout is seeded, disjoint and keeps every item", () => {
    const histories = Array.from({ length: 30 }, (_, u) => Int32Array.from({ length: 3 + (u % 7) }, (_, i) => i * 2 + (u % 2)));
    const a = perUserHoldout(histories, 0.2, 7);
    const b = perUserHoldout(histories, 0.2, 7);
    assert.deepEqual(a, b);
    a.cases.forEach((c) => {
      for (const i of c.relevant) assert.ok(!c.history.includes(i));
      assert.equal(c.relevant.size + c.history.length, histories[a.train.indexOf(c.history)]!.length);
    });
    assert.equal(a.cases.length, 30);
  });

  it("maps MovieLens-style ratings to dense histories", () => {
    const { histories, items } = movielensHistories([
      { user: 2, item: 50, rating: 3, timestamp: 1 },
      { user: 1, item: 7, rating: 5, timestamp: 2 },
      { user: 1, item: 50, rating: 1, timestamp: 3 },
    ]);
    assert.equal(items, 2);
    assert.deepEqual(histories.map((h) => [...h]), [[0, 1], [1]]);
  });
});

describe("set-valued category features (multiple)", () => {
  const card = {
    features: [
      FeatureSpecSchema.parse({ name: "items", type: "category", required: true, categories: ["a", "b", "c"], multiple: true }),
      FeatureSpecSchema.parse({ name: "strict", type: "category", required: false, categories: ["x", "y"], multiple: true, unknown_category: "reject" }),
    ],
    encoding: {
      input_name: "x",
      columns: [
        { kind: "onehot" as const, feature: "items", category: "a" },
        { kind: "onehot" as const, feature: "items", category: "b" },
        { kind: "onehot" as const, feature: "items", category: "c" },
        { kind: "onehot" as const, feature: "strict", category: "x" },
        { kind: "onehot" as const, feature: "strict", category: "y" },
      ],
    },
  };
  const encode = createEncoder(card);

  it("encodes arrays and ';' strings multi-hot, duplicates once", () => {
    const r = encode({ items: ["c", "a", "a"] });
    assert.ok(r.ok);
    assert.deepEqual([...r.vector], [1, 0, 1, 0, 0]);
    const s = encode({ items: " b; c ;", strict: ["y"] });
    assert.ok(s.ok);
    assert.deepEqual([...s.vector], [0, 1, 1, 0, 1]);
    const empty = encode({ items: [] });
    assert.ok(empty.ok && empty.vector.every((v) => v === 0));
  });

  it("warns about unknown values, or rejects them when the feature says so", () => {
    const r = encode({ items: ["a", "zz", "yy"] });
    assert.ok(r.ok);
    assert.deepEqual([...r.vector], [1, 0, 0, 0, 0]);
    assert.match(r.warnings[0]!, /items: 2 unknown value\(s\) ignored: "zz", "yy"/);
    const s = encode({ items: [], strict: ["q"] });
    assert.ok(!s.ok);
    assert.match(s.errors["strict"]![0]!, /1 unknown value/);
  });

  it("rejects non-lists, non-strings and oversized lists", () => {
    for (const items of [3, [1, 2], { a: 1 }, ["a", null]]) {
      const r = encode({ items });
      assert.ok(!r.ok, JSON.stringify(items));
      assert.match(r.errors["items"]![0]!, /array of strings/);
    }
    const big = encode({ items: Array.from({ length: MAX_MULTIPLE_VALUES + 1 }, () => "a") });
    assert.ok(!big.ok);
    assert.match(big.errors["items"]![0]!, /at most 1000/);
  });
});

describe("recommend_retail trainer on a generated fixture", () => {
  const lines = basketLines(5);
  const trained = buildRecommendRetail(lines, SOURCE, OPTIONS, () => {}, new Date("2020-01-01T00:00:00Z"));
  const card: ModelCard = trained.card;
  let model: LoadedModel | undefined;
  const load = async () => (model ??= await loadedModel(card, trained.onnx));
  after(async () => model?.session.release());

  it("writes a valid card: time split, metrics against popularity, vocabulary", () => {
    ModelCardSchema.parse(card);
    assert.equal(card.task, "recommendation");
    const v = card.items!.vocabulary.length;
    assert.equal(v, 74);
    assert.equal(card.encoding.columns.length, v + 1);
    assert.deepEqual(card.features.map((f) => f.name), ["items", "n", "customer_id"]);
    assert.equal(card.items!.vocabulary.find((i) => i.id === "G0-00")?.label, "item G0-00");
    assert.match(card.training.split.method, /^time-based/);
    const ndcg = card.metrics.validation["ndcg_at_5"]!;
    assert.ok(ndcg > card.metrics.baseline!["ndcg_at_5"]! + 0.1, `ItemKNN ${ndcg} vs popularity ${card.metrics.baseline!["ndcg_at_5"]}`);
    for (const key of ["precision_at_5", "recall_at_5", "ndcg_at_5", "rows"]) assert.equal(typeof card.metrics.validation[key], "number", key);
    assert.equal((card.training.hyperparameters["tuning_results"] as unknown[]).length, 4);
    assert.equal(card.benchmarks, undefined, "no benchmark without MovieLens");
  });

  it("onnxruntime reproduces the trainer's recommendations through the scorer's path", async () => {
    const m = await load();
    const rows = trained.parity.rows as RecommendParityRow[];
    assert.ok(rows.length >= 20);
    const { outputs } = await predict(m, rows.map((r) => r.features));
    rows.forEach((row, i) => {
      const recs = outputs[i]!.details["recommendations"] as Array<{ product_id: string; score: number; rank: number }>;
      assertSameRanking(recs.map((r) => r.product_id), row.items, row.scores, 1e-5, `row ${i}`);
      recs.forEach((r, k) => assert.ok(Math.abs(r.score - row.scores[k]!) <= 1e-5, `row ${i} score ${k}`));
      assert.ok(Math.abs(outputs[i]!.score - row.probability) <= 1e-5);
      const basket = new Set(row.features["items"] as string[]);
      assert.ok(recs.every((r) => !basket.has(r.product_id)), "never recommends the basket");
    });
  });

  it("returns n items (default, clipped), best sellers for an empty basket, warnings for unknown codes", async () => {
    const m = await load();
    const basket = ["G2-01", "G2-03", "G2-05"];
    const { outputs, warnings } = await predict(m, [
      { items: basket },
      { items: basket, n: 2 },
      { items: basket, n: 500, customer_id: 20002 },
      { items: [] },
      { items: ["NOPE", "G2-01"] },
      { items: "G2-01;G2-03;G2-05" },
    ]);
    const recs = outputs.map((o) => (o.details["recommendations"] as Array<{ product_id: string; rank: number }>).map((r) => r.product_id));
    assert.equal(recs[0]!.length, 5);
    assert.deepEqual(recs[1], recs[0]!.slice(0, 2));
    assert.equal(recs[2]!.length, 10);
    assert.match(warnings[2]![0]!, /n: 500 is outside/);
    assert.ok(recs[0]!.filter((id) => id.startsWith("G2-")).length >= 4, `family items first: ${recs[0]}`);
    assert.deepEqual(recs[3]!.slice(0, 2).sort(), ["BEST-0", "BEST-1"]);
    assert.match(warnings[4]![0]!, /items: 1 unknown value\(s\) ignored: "NOPE"/);
    assert.deepEqual(recs[5], recs[0]);
    assert.equal(outputs[0]!.label, null);
  });

  it("is deterministic", () => {
    const again = buildRecommendRetail(lines, SOURCE, OPTIONS, () => {}, new Date("2020-01-01T00:00:00Z"));
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });
});

describe("shipped models/recommend_retail/1.0.0", () => {
  const dir = fileURLToPath(new URL("../../models/recommend_retail/1.0.0/", import.meta.url));

  it("parity.json is reproduced by onnxruntime through the scorer's path", async () => {
    const model = await shippedModel(dir);
    try {
      const parity = await readParity(dir);
      assert.equal(parity.model, "recommend_retail");
      assert.ok(parity.tolerance <= 1e-5);
      const rows = parity.rows as RecommendParityRow[];
      assert.ok(rows.length >= 40);
      const { outputs } = await predict(model, rows.map((r) => r.features));
      rows.forEach((row, i) => {
        const recs = outputs[i]!.details["recommendations"] as Array<{ product_id: string; score: number }>;
        assertSameRanking(recs.map((r) => r.product_id), row.items, row.scores, parity.tolerance, `row ${i}`);
        // details round scores to 6 decimals
        recs.forEach((r, k) => assert.ok(Math.abs(r.score - row.scores[k]!) <= parity.tolerance + 5e-7, `row ${i} score ${k}`));
      });
    } finally {
      await model.session.release();
    }
  });

  it("has a card with retail metrics above popularity and the MovieLens benchmark numbers only", async () => {
    const card = await readCard(dir);
    assert.equal(card.training.dataset, "online-retail", "trained on retail data, never on MovieLens");
    assert.ok(card.metrics.validation["precision_at_10"]! > card.metrics.baseline!["precision_at_10"]!);
    assert.ok(card.metrics.validation["ndcg_at_10"]! > card.metrics.baseline!["ndcg_at_10"]!);
    assert.equal(card.items?.vocabulary.length, card.encoding.columns.length - 1);
    const bench = card.benchmarks?.find((b) => b.dataset.startsWith("movielens-100k"));
    assert.ok(bench, "MovieLens benchmark recorded");
    assert.equal(bench.command, "npm run eval:recs");
    assert.ok(bench.metrics["precision_at_10"]! > bench.baselines["popularity"]!["precision_at_10"]!);
  });
});
