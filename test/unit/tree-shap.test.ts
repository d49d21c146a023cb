import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExplainerSchema, ModelCardSchema, TreeSchema, type ModelCard } from "../../src/models/card.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { createTreeShap, type ShapTree } from "../../src/models/tree-shap.ts";
import { fitGbdt } from "../../src/training/gbdt/booster.ts";
import { cardTree } from "../../src/training/gbdt/binary-recipe.ts";
import { predictRaw, type Tree } from "../../src/training/gbdt/tree.ts";
import { mulberry32 } from "../../src/training/split.ts";

/** A tree from nested literals: internal {f, t, l, r, c, m?} (m = 1: NaN goes left) or leaf {v, c}. */
type Literal = { f: number; t: number; l: Literal; r: Literal; c: number; m?: 1 } | { v: number; c: number };
function tree(root: Literal): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const missing: number[] = [];
  // breadth-first, so that children always follow their parent
  const queue: { node: Literal; parent: number; side: "l" | "r" }[] = [{ node: root, parent: -1, side: "l" }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    const { node, parent, side } = item;
    const id = feature.length;
    if (parent >= 0) (side === "l" ? left : right)[parent] = id;
    const leaf = "v" in node;
    feature.push(leaf ? -1 : node.f);
    threshold.push(leaf ? 0 : Math.fround(node.t));
    left.push(-1);
    right.push(-1);
    value.push(leaf ? Math.fround(node.v) : 0);
    cover.push(node.c);
    missing.push(leaf ? 0 : (node.m ?? 0));
    if (!leaf) queue.push({ node: node.l, parent: id, side: "l" }, { node: node.r, parent: id, side: "r" });
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    missingLeft: Uint8Array.from(missing),
  };
}

/** E[f(x) | x_S]: follow x on features in S, average the branches by cover elsewhere (Algorithm 1). */
function conditionalExpectation(t: ShapTree, x: ArrayLike<number>, inS: (feature: number) => boolean, node = 0): number {
  const f = t.feature[node]!;
  if (f < 0) return t.value[node]!;
  const l = t.left[node]!;
  const r = t.right[node]!;
  if (inS(f)) {
    const v = x[f]!;
    const goesLeft = v <= t.threshold[node]! || (v !== v && t.missingLeft?.[node] === 1);
    return conditionalExpectation(t, x, inS, goesLeft ? l : r);
  }
  return (t.cover[l]! * conditionalExpectation(t, x, inS, l) + t.cover[r]! * conditionalExpectation(t, x, inS, r)) / t.cover[node]!;
}

/** Shapley values of v(S) = Σ_trees E[f(x) | x_S] by enumerating every coalition. */
function bruteForceShapley(trees: ShapTree[], x: ArrayLike<number>, m: number): Float64Array {
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const v = (mask: number) => trees.reduce((sum, t) => sum + conditionalExpectation(t, x, (f) => (mask & (1 << f)) !== 0), 0);
  const phi = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let mask = 0; mask < 1 << m; mask++) {
      if (mask & (1 << i)) continue;
      let size = 0;
      for (let b = 0; b < m; b++) if (mask & (1 << b)) size++;
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      phi[i]! += weight * (v(mask | (1 << i)) - v(mask));
    }
  }
  return phi;
}

function randomRows(n: number, m: number, seed: number, nanRate = 0): Float32Array {
  const random = mulberry32(seed);
  const x = new Float32Array(n * m);
  for (let i = 0; i < x.length; i++) x[i] = random() < nanRate ? NaN : Math.fround(random() * 4 - 2);
  return x;
}

describe("TreeSHAP (path-dependent, exact)", () => {
  // feature 0 appears twice on one path; feature 2 only in the second tree; a NaN branch goes left
  const trees: Tree[] = [
    tree({
      f: 0,
      t: 0.5,
      c: 100,
      l: { f: 1, t: -0.25, c: 60, l: { v: 1.5, c: 20 }, r: { f: 0, t: -1, c: 40, l: { v: -2, c: 10 }, r: { v: 0.75, c: 30 } } },
      r: { f: 3, t: 1, c: 40, m: 1, l: { v: 3, c: 25 }, r: { v: -1, c: 15 } },
    }),
    tree({ f: 2, t: 0, c: 100, l: { f: 1, t: 1.25, c: 70, l: { v: 0.5, c: 50 }, r: { v: -0.5, c: 20 } }, r: { v: 2.25, c: 30 } }),
    tree({ v: 0.125, c: 100 }),
  ];
  const m = 4;

  it("matches brute-force Shapley values of E[f(x) | x_S] on a tiny ensemble", () => {
    const shap = createTreeShap(trees, m);
    const x = randomRows(40, m, 11, 0.1);
    for (let r = 0; r < 40; r++) {
      const row = x.subarray(r * m, (r + 1) * m);
      const phi = new Float64Array(m);
      shap.explainRow(row, 0, phi);
      const expected = bruteForceShapley(trees, row, m);
      for (let j = 0; j < m; j++) assert.ok(Math.abs(phi[j]! - expected[j]!) < 1e-9, `row ${r} feature ${j}: ${phi[j]} vs ${expected[j]}`);
    }
  });

  it("matches brute force on a trained ensemble with repeated features and NaNs", () => {
    const n = 600;
    const x = randomRows(n, 5, 3, 0.05);
    const random = mulberry32(4);
    const y = Float64Array.from({ length: n }, (_, i) => {
      const a = x[i * 5]!;
      const b = x[i * 5 + 1]!;
      return random() < 1 / (1 + Math.exp(-(a * b + (Number.isNaN(x[i * 5 + 2]!) ? 1 : 0)))) ? 1 : 0;
    });
    const fit = fitGbdt({ x, rows: n, cols: 5, y }, { maxTrees: 8, maxDepth: 4, maxLeaves: 10, minSamplesLeaf: 5, subsample: 0.8, seed: 9 });
    const shap = createTreeShap(fit.model.trees, 5);
    for (let r = 0; r < 15; r++) {
      const row = x.subarray(r * 5, r * 5 + 5);
      const phi = new Float64Array(5);
      shap.explainRow(row, 0, phi);
      const expected = bruteForceShapley(fit.model.trees, row, 5);
      for (let j = 0; j < 5; j++) assert.ok(Math.abs(phi[j]! - expected[j]!) < 1e-9, `row ${r} feature ${j}`);
    }
  });

  it("matches brute force alike on small trees (tabulated by split pattern) and large ones (tabulated by leaf, or the recursion)", () => {
    const n = 800;
    const x = randomRows(n, 5, 31, 0.05);
    const random = mulberry32(32);
    const y = Float64Array.from({ length: n }, (_, i) => (random() < 1 / (1 + Math.exp(-(x[i * 5]! * x[i * 5 + 3]! + x[i * 5 + 1]!))) ? 1 : 0));
    const data = { x, rows: n, cols: 5, y };
    const small = fitGbdt(data, { maxTrees: 6, maxDepth: 3, maxLeaves: 8, minSamplesLeaf: 5, seed: 1 }).model.trees;
    const large = fitGbdt(data, { maxTrees: 6, maxDepth: 6, maxLeaves: 20, minSamplesLeaf: 5, seed: 2 }).model.trees;
    const splits = (t: Tree) => t.feature.filter((f) => f >= 0).length;
    assert.ok(small.every((t) => splits(t) <= 7) && large.every((t) => splits(t) > 7), "the two kinds are both present");
    const trees = [...small, ...large];
    // the default budget tabulates every large tree's leaves, none leaves them all to the
    // recursion, and a small one splits them between the two
    for (const leafTableBudget of [undefined, 0, 600]) {
      const shap = createTreeShap(trees, 5, { leafTableBudget });
      for (let r = 0; r < 20; r++) {
        const row = x.subarray(r * 5, r * 5 + 5);
        const phi = new Float64Array(5);
        shap.explainRow(row, 0, phi);
        const expected = bruteForceShapley(trees, row, 5);
        for (let j = 0; j < 5; j++) assert.ok(Math.abs(phi[j]! - expected[j]!) < 1e-9, `budget ${leafTableBudget}, row ${r} feature ${j}: ${phi[j]} vs ${expected[j]}`);
      }
    }
  });

  it("Σ φ + base value equals the raw margin within 1e-6", () => {
    const n = 2000;
    const x = randomRows(n, 6, 21, 0.02);
    const y = Float64Array.from({ length: n }, (_, i) => (x[i * 6]! + x[i * 6 + 3]! * x[i * 6 + 4]! > 0 ? 1 : 0));
    const fit = fitGbdt({ x, rows: n, cols: 6, y }, { maxTrees: 60, maxDepth: 6, maxLeaves: 31, colsample: 0.8, subsample: 0.7, seed: 2 });
    const raw = predictRaw(fit.model, x, n);
    const shap = createTreeShap(fit.model.trees, 6);
    const phi = new Float64Array(6);
    for (let r = 0; r < 200; r++) {
      phi.fill(0);
      shap.explainRow(x, r * 6, phi);
      const total = fit.model.baseScore + shap.expectedValue + phi.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - raw[r]!) < 1e-6, `row ${r}: ${total} vs ${raw[r]}`);
      assert.ok(Math.abs(fit.model.baseScore + shap.rawScore(x, r * 6) - raw[r]!) < 1e-9);
    }
  });

  it("gives a feature that no tree uses exactly zero", () => {
    const shap = createTreeShap(trees, 6);
    const phi = new Float64Array(6);
    shap.explainRow([0, 0, 0, 0, 7, 7], 0, phi);
    assert.equal(phi[4], 0);
    assert.equal(phi[5], 0);
  });

  it("refuses malformed trees", () => {
    const good = trees[0]!;
    assert.throws(() => createTreeShap([{ ...good, left: Int32Array.from(good.left, (v, i) => (i === 0 ? 0 : v)) }], m), /invalid child/);
    assert.throws(() => createTreeShap([good], 1), /tests column/);
    assert.throws(() => createTreeShap([{ ...good, cover: Float64Array.from(good.cover, (v, i) => (i === 1 ? 0 : v)) }], m), /cover/);
    assert.throws(() => createTreeShap([{ ...good, value: good.value.subarray(1) }], m), /value has/);
  });
});

describe("card tree explainer", () => {
  const n = 800;
  const x = randomRows(n, 5, 8);
  const y = Float64Array.from({ length: n }, (_, i) => (x[i * 5]! + x[i * 5 + 1]! + x[i * 5 + 4]! > 0.3 ? 1 : 0));
  const fit = fitGbdt({ x, rows: n, cols: 5, y }, { maxTrees: 40, maxDepth: 3, maxLeaves: 8, seed: 1 });
  const shap = createTreeShap(fit.model.trees, 5);
  const card: ModelCard = ModelCardSchema.parse({
    name: "fixture",
    version: "0.0.1",
    display_name: "fixture",
    description: "",
    task: "binary_classification",
    algorithm: "gradient_boosted_trees",
    created_at: "2020-01-01T00:00:00.000Z",
    features: [
      { name: "amount", type: "number", required: true, min: -2, max: 2 },
      { name: "tier", type: "category", required: true, categories: ["a", "b", "c"] },
      { name: "flag", type: "boolean", required: true },
    ],
    encoding: {
      input_name: "x",
      columns: [
        { kind: "numeric", feature: "amount" },
        { kind: "onehot", feature: "tier", category: "a" },
        { kind: "onehot", feature: "tier", category: "b" },
        { kind: "onehot", feature: "tier", category: "c" },
        { kind: "numeric", feature: "flag" },
      ],
    },
    outputs: { score_output: "probabilities", probability_index: 1 },
    training: { dataset: "fixture", source: "test", files: [], rows: n, split: { method: "none", train_rows: n, validation_rows: 0, seed: 0 } },
    metrics: { validation: {} },
    explainer: {
      kind: "tree",
      link: "logit",
      base_score: fit.model.baseScore,
      base_value: fit.model.baseScore + shap.expectedValue,
      trees: fit.model.trees.map(cardTree),
    },
  });

  it("sums each feature's columns, and base_value + Σ contributions is the raw score", () => {
    const explain = createExplainer(card)!;
    const raw = predictRaw(fit.model, x, n);
    for (let r = 0; r < 50; r++) {
      const contributions = explain(x, r * 5);
      assert.deepEqual(contributions.map((c) => c.feature).sort(), ["amount", "flag", "tier"]);
      for (let k = 1; k < contributions.length; k++) {
        assert.ok(Math.abs(contributions[k - 1]!.contribution) >= Math.abs(contributions[k]!.contribution));
      }
      const phi = new Float64Array(5);
      shap.explainRow(x, r * 5, phi);
      const tier = contributions.find((c) => c.feature === "tier")!.contribution;
      assert.ok(Math.abs(tier - (phi[1]! + phi[2]! + phi[3]!)) < 1e-12);
      const total = contributions.reduce((s, c) => s + c.contribution, card.explainer!.base_value);
      assert.ok(Math.abs(total - raw[r]!) < 1e-6);
    }
  });

  it("stores float32 thresholds and leaf values in their shortest spelling, read back exactly", () => {
    const explainer = card.explainer!;
    assert.equal(explainer.kind, "tree");
    if (explainer.kind !== "tree") return;
    const first = explainer.trees[0]!;
    first.threshold.forEach((t, i) => assert.equal(Math.fround(t), fit.model.trees[0]!.threshold[i]));
    first.value.forEach((v, i) => assert.equal(Math.fround(v), fit.model.trees[0]!.value[i]));
    assert.ok(JSON.stringify(first.threshold).length <= JSON.stringify(Array.from(fit.model.trees[0]!.threshold)).length);
  });

  it("keeps the schema backward compatible and checks tree arrays", () => {
    assert.equal(ExplainerSchema.parse({ kind: "linear", link: "logit", coefficients: [1], intercept: 0, column_means: [0], base_value: 0 }).kind, "linear");
    const { explainer: _explainer, ...withoutExplainer } = card;
    assert.equal(ModelCardSchema.parse(withoutExplainer).explainer, undefined);
    const bad = TreeSchema.safeParse({ feature: [0, -1, -1], threshold: [0.5, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1], cover: [2, 1, 1] });
    assert.equal(bad.success, false);
    assert.equal(TreeSchema.safeParse({ feature: [-1], threshold: [0], left: [-1], right: [-1], value: [1], cover: [0] }).success, false);
  });
});
