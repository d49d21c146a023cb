import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import { runBatchOutputs, type LoadedModel } from "../../src/models/index.ts";
import { MODEL_FILE, readParity } from "../../src/training/artifacts.ts";
import type { RecommendParityRow } from "../../src/training/trainers/recommend-retail.ts";
import { loadItemKnn, modelTop, neighbourScores, type BasketEntry, type ItemKnn } from "../../pipelines/recommendations/item-knn.ts";
import { shippedModel } from "../helpers/loaded-model.ts";

const DIR = join(ROOT_DIR, "models", "recommend_retail", "1.0.0");
const TOLERANCE = 1e-5;

/** A small deterministic generator (xorshift32), so failures reproduce. */
function generator(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("recommend_retail read sparsely from its ONNX artifact", () => {
  let model: LoadedModel;
  let knn: ItemKnn;

  before(async () => {
    model = await shippedModel(DIR);
    knn = loadItemKnn(model.card, new Uint8Array(await readFile(join(DIR, MODEL_FILE))));
  });
  after(() => model.session.release());

  /** onnxruntime's top-n for weighted baskets: the graph's own input row, n in the last column */
  async function onnxTop(baskets: BasketEntry[][], n: number) {
    const width = model.card.encoding.columns.length;
    const flat = new Float32Array(baskets.length * width);
    baskets.forEach((basket, r) => {
      for (const { index, weight } of basket) flat[r * width + index] = weight;
      flat[r * width + width - 1] = n;
    });
    const out = await runBatchOutputs(model.session, model.card, flat, baskets.length);
    return baskets.map((_, r) => {
      const row = out.row(r);
      const items = row[model.card.items!.items_output]!;
      const scores = row[model.card.items!.scores_output]!;
      return items.flatMap((index, k) => (index >= 0 ? [{ index, score: scores[k]! }] : []));
    });
  }

  /** The same items up to neighbours whose scores differ by less than the tolerance. */
  function assertSameTop(actual: Array<{ index: number; score: number }>, expected: Array<{ index: number; score: number }>, what: string) {
    assert.equal(actual.length, expected.length, `${what}: ${actual.length} items, expected ${expected.length}`);
    actual.forEach((a, k) => {
      assert.ok(Math.abs(a.score - expected[k]!.score) <= TOLERANCE, `${what}: score ${k} ${a.score} vs ${expected[k]!.score}`);
      if (a.index === expected[k]!.index) return;
      const tied = expected.some((e) => e.index === a.index && Math.abs(e.score - a.score) <= TOLERANCE);
      assert.ok(tied, `${what}: position ${k} is ${knn.items[a.index]}, expected ${knn.items[expected[k]!.index]}`);
    });
  }

  const sparseTop = (basket: BasketEntry[], n: number) => {
    const top = modelTop(knn, basket, basket.filter((b) => b.weight > 0.5).map((b) => b.index), n);
    return Array.from(top.items.subarray(0, top.count), (index, k) => ({ index, score: top.scores[k]!, neighbours: top.neighbours[k]! }));
  };

  it("reads the vocabulary, neighbour lists, prior and TopK size of the shipped graph", () => {
    assert.equal(knn.items.length, model.card.items!.vocabulary.length);
    assert.equal(knn.maxN, 50);
    assert.equal(knn.rowStart[knn.items.length], knn.rowItems.length);
    assert.ok(knn.rowItems.length > knn.items.length, "every item has neighbours");
    assert.ok(knn.prior[knn.byPrior[0]!]! >= knn.prior[knn.byPrior[1]!]!);
  });

  it("reproduces the trainer's parity rows", async () => {
    const parity = await readParity(DIR);
    for (const row of parity.rows as RecommendParityRow[]) {
      const items = row.features["items"] as string[];
      const basket = items.flatMap((id) => (knn.indexOf.has(id) ? [{ index: knn.indexOf.get(id)!, weight: 1 }] : []));
      const top = sparseTop(basket, (row.features["n"] as number | undefined) ?? 10);
      const expected = row.items.map((id, k) => ({ index: knn.indexOf.get(id)!, score: row.scores[k]! }));
      assertSameTop(top, expected, JSON.stringify(row.features).slice(0, 60));
    }
  });

  it("gives onnxruntime's items and scores for weighted baskets, masking the items weighted above 0.5", async () => {
    const random = generator(20261123);
    const baskets = Array.from({ length: 40 }, (_, r) => {
      const size = r % 10 === 0 ? 0 : 1 + Math.floor(random() * 30);
      const chosen = new Map<number, number>();
      // clustered like real histories: neighbouring stock codes are often related products
      const start = Math.floor(random() * (knn.items.length - 60));
      while (chosen.size < size) chosen.set(start + Math.floor(random() * 60), r % 2 === 0 ? 1 : 0.05 + random() * 0.95);
      return [...chosen].map(([index, weight]) => ({ index, weight }));
    });
    const expected = await onnxTop(baskets, 50);
    baskets.forEach((basket, r) => {
      const top = sparseTop(basket, 50);
      assertSameTop(top, expected[r]!, `basket ${r}`);
      // asked for the same items, neighbourScores sums in the same order: exactly the same scores
      const again = neighbourScores(knn, basket, top.map((c) => c.index), top.length);
      top.forEach((c, k) => assert.equal(again[k], c.neighbours, `basket ${r}: item ${c.index}`));
    });
  });
});
