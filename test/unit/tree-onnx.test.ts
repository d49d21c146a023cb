import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { ModelCardSchema } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { evaluationSetFor } from "../../src/training/binary-linear.ts";
import { fitGbdt, sigmoid } from "../../src/training/gbdt/booster.ts";
import { trainBinaryGbdt, type BinaryGbdtSpec } from "../../src/training/gbdt/binary-recipe.ts";
import { leafIndex, predict, predictRaw, type TreeEnsemble } from "../../src/training/gbdt/tree.ts";
import { binaryMetrics } from "../../src/training/metrics.ts";
import { mulberry32 } from "../../src/training/split.ts";
import type { LabelledRows } from "../../src/training/trainer.ts";
import { exportTreeClassifier, exportTreeRegressor } from "../../src/training/tree-onnx-export.ts";

/** Rows with continuous, 0/1 and integer columns, NaNs in column 1, and values equal to split points. */
function matrix(n: number, seed: number): { x: Float32Array; y: Uint8Array; target: Float64Array } {
  const random = mulberry32(seed);
  const x = new Float32Array(n * 4);
  const y = new Uint8Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    x[o] = Math.fround(random() * 200 - 100);
    x[o + 1] = random() < 0.1 ? NaN : Math.fround(random());
    x[o + 2] = random() < 0.5 ? 1 : 0;
    x[o + 3] = Math.floor(random() * 10);
    const z = x[o]! / 30 + (Number.isNaN(x[o + 1]!) ? 1.5 : -x[o + 1]!) + x[o + 2]! - 0.2 * x[o + 3]!;
    y[i] = random() < sigmoid(z) ? 1 : 0;
    target[i] = 10 * z + random();
  }
  return { x, y, target };
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number, cols: number): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run({ features: new ort.Tensor("float32", x, [rows, cols]) });
  } finally {
    await session.release();
  }
}

/** Rows whose values sit exactly on, and one float32 step either side of, every threshold of tree 0. */
function boundaryRows(model: TreeEnsemble, base: Float32Array): Float32Array {
  const rows: number[] = [];
  const t = model.trees[0]!;
  t.feature.forEach((f, i) => {
    if (f < 0) return;
    const v = t.threshold[i]!;
    const f32 = new Float32Array([v]);
    const bits = new Int32Array(f32.buffer);
    for (const delta of [-1, 0, 1]) {
      const probe = new Float32Array(1);
      new Int32Array(probe.buffer)[0] = bits[0]! + (v >= 0 ? delta : -delta);
      const row = Array.from(base.subarray(0, 4));
      row[f] = probe[0]!;
      rows.push(...row);
    }
  });
  return Float32Array.from(rows);
}

describe("tree ensemble ONNX export", () => {
  const n = 3000;
  const { x, y, target } = matrix(n, 1);

  it("TreeEnsembleClassifier reproduces the trainer within 1e-5, NaNs and split points included", async () => {
    const fit = fitGbdt({ x, rows: n, cols: 4, y }, { maxTrees: 80, maxDepth: 5, maxLeaves: 16, subsample: 0.8, colsample: 0.75, seed: 2 });
    const bytes = exportTreeClassifier({ model: fit.model, inputName: "features", outputName: "probabilities", graphName: "t" });
    const edges = boundaryRows(fit.model, x);
    const all = new Float32Array(x.length + edges.length);
    all.set(x);
    all.set(edges, x.length);
    const rows = all.length / 4;
    const out = await runOnnx(bytes, all, rows, 4);
    const probabilities = out["probabilities"]!.data as Float32Array;
    const labels = out["label"]!.data as BigInt64Array;
    assert.deepEqual(out["probabilities"]!.dims, [rows, 2]);
    const expected = predict(fit.model, all, rows);
    for (let i = 0; i < rows; i++) {
      assert.ok(Math.abs(probabilities[2 * i + 1]! - expected[i]!) <= 1e-5, `row ${i}: ${probabilities[2 * i + 1]} vs ${expected[i]}`);
      assert.ok(Math.abs(probabilities[2 * i]! + probabilities[2 * i + 1]! - 1) < 1e-6);
      assert.equal(labels[i], expected[i]! > 0.5 ? 1n : 0n);
    }
  });

  it("keeps the logistic and the label when every leaf weight is positive", async () => {
    const stump: TreeEnsemble = {
      objective: "binary_logloss",
      baseScore: -0.3,
      columns: 4,
      trees: [
        {
          feature: Int32Array.from([0, -1, -1]),
          threshold: Float64Array.from([0, 0, 0]),
          left: Int32Array.from([1, -1, -1]),
          right: Int32Array.from([2, -1, -1]),
          value: Float64Array.from([0, Math.fround(0.25), Math.fround(0.75)]),
          cover: Float64Array.from([2, 1, 1]),
          missingLeft: new Uint8Array(3),
        },
      ],
    };
    const rows = Float32Array.from([-1, 0, 0, 0, 1, 0, 0, 0]);
    const out = await runOnnx(exportTreeClassifier({ model: stump, inputName: "features", outputName: "p", graphName: "t" }), rows, 2, 4);
    const p = out["p"]!.data as Float32Array;
    assert.ok(Math.abs(p[1]! - sigmoid(-0.05)) < 1e-6);
    assert.ok(Math.abs(p[3]! - sigmoid(0.45)) < 1e-6);
    assert.deepEqual(Array.from(out["label"]!.data as BigInt64Array), [0n, 1n]);
  });

  it("TreeEnsembleRegressor reproduces the trainer up to float32 summation", async () => {
    const fit = fitGbdt({ x, rows: n, cols: 4, y: target }, { objective: "squared_error", maxTrees: 60, maxDepth: 6, maxLeaves: 31, seed: 3 });
    const bytes = exportTreeRegressor({ model: fit.model, inputName: "features", outputName: "prediction", graphName: "t" });
    const out = await runOnnx(bytes, x, n, 4);
    assert.deepEqual(out["prediction"]!.dims, [n, 1]);
    const values = out["prediction"]!.data as Float32Array;
    const expected = predictRaw(fit.model, x, n);
        // onnxruntime sums the float32 leaf values in float32: the error scales with the magnitude of
    // what is summed, |base| + Σ |leaf reached|, not with the (possibly cancelling) result
    for (let i = 0; i < n; i++) {
      const scale = fit.model.trees.reduce((s, t) => s + Math.abs(t.value[leafIndex(t, x, i * 4)]!), Math.abs(fit.model.baseScore));
      assert.ok(Math.abs(values[i]! - expected[i]!) <= 1e-6 * Math.max(1, scale), `row ${i}: ${values[i]} vs ${expected[i]} (scale ${scale})`);
    }
  });

  it("refuses values that float32 would change, and the wrong objective", () => {
    const fit = fitGbdt({ x: x.subarray(0, 2000), rows: 500, cols: 4, y: y.subarray(0, 500) }, { maxTrees: 2, seed: 1 });
    const tree = fit.model.trees[0]!;
    const bad = { ...fit.model, trees: [{ ...tree, threshold: tree.threshold.map((t, i) => (tree.feature[i]! >= 0 ? t + 1e-9 : t)) }] };
    assert.throws(() => exportTreeClassifier({ model: bad, inputName: "f", outputName: "p", graphName: "t" }), /not a float32/);
    assert.throws(() => exportTreeRegressor({ model: fit.model, inputName: "f", outputName: "p", graphName: "t" }), /objective/);
  });
});

/** A seeded synthetic dataset with every feature type and blanks in the optional ones, as CSV strings. */
function fixture(n: number, seed: number): LabelledRows {
  const random = mulberry32(seed);
  const tiers = ["bronze", "silver", "gold"];
  const rows: Record<string, string>[] = [];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const amount = 20 + 200 * random() * random();
    const visits = Math.floor(random() * 31);
    const member = random() < 0.4;
    const tier = tiers[Math.floor(random() * 3)]!;
    const channel = random() < 0.1 ? "" : random() < 0.5 ? "web" : "store";
    const z = -1 + (amount > 120 ? 2 : 0) - 0.2 * Math.abs(visits - 15) + (member && tier === "gold" ? -2.5 : 1) + (channel === "web" ? 1 : 0);
    labels[i] = random() < sigmoid(z) ? 1 : 0;
    rows.push({ amount: random() < 0.05 ? " " : amount.toFixed(2), visits: String(visits), member: member ? "Yes" : "No", tier, channel });
  }
  return { rows, labels, origin: (i) => `fixture:${i + 2}` };
}

const SPEC: BinaryGbdtSpec = {
  name: "fixture_trees",
  version: "0.0.1",
  displayName: "fixture",
  description: "synthetic fixture for the tree recipe",
  features: [
    { name: "amount", type: "number", required: false, description: "spend" },
    { name: "visits", type: "integer", required: true, description: "visits" },
    { name: "member", type: "boolean", required: true, description: "member" },
    { name: "tier", type: "category", required: true, description: "tier", categories: ["bronze", "silver", "gold"] },
    { name: "channel", type: "category", required: false, description: "channel", categories: ["web", "store"] },
  ],
  classLabels: ["stays", "leaves"],
  params: { learningRate: 0.1, maxTrees: 300, earlyStoppingRounds: 20, subsample: 0.8, seed: 7 },
  grid: [{ maxDepth: 2, maxLeaves: 4 }, { maxDepth: 4, maxLeaves: 12, minSamplesLeaf: 10 }],
  split: { validationFraction: 0.25, seed: 5 },
  crossFit: { folds: 4, seed: 6 },
  training: { dataset: "fixture", source: "generated in test", files: [], synthetic: true, notes: "" },
  parityRows: 40,
};

describe("binary GBDT recipe", async () => {
  const data = fixture(2400, 99);
  const trained = await trainBinaryGbdt(SPEC, data, { now: new Date("2020-01-01T00:00:00Z") });

  it("produces a valid card with measured metrics, hyperparameters and a tree explainer", () => {
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.algorithm, "gradient_boosted_trees");
    assert.equal(card.training.split.train_rows + card.training.split.validation_rows, 2400);
    assert.equal(card.encoding.columns.length, 3 + 3 + 2);
    assert.ok(card.metrics.validation["auc"]! > 0.7, `AUC ${card.metrics.validation["auc"]}`);
    assert.equal(card.threshold, card.metrics.validation["threshold"]);
    const h = card.training.hyperparameters;
    assert.equal(h["validation_fraction"], 0.25);
    assert.equal(typeof h["n_trees"], "number");
    assert.equal((h["member_trees"] as number[]).reduce((a, b) => a + b, 0), h["n_trees"]);
    assert.equal((h["grid"] as unknown[]).length, 2);
    assert.deepEqual(Object.keys(card.feature_importance).sort(), ["amount", "channel", "member", "tier", "visits"]);
    assert.equal(card.explainer?.kind, "tree");
    assert.equal(card.features.find((f) => f.name === "amount")?.out_of_range, "clip");
    assert.equal(card.features.find((f) => f.name === "channel")?.unknown_category, "map_unknown");
    for (const f of card.features) if (!f.required) assert.notEqual(f.default, undefined, f.name);
  });

  it("onnxruntime reproduces parity.json within 1e-5, defaults included, and the card's metrics", async () => {
    const { card, parity } = trained;
    assert.equal(parity.tolerance, 1e-5);
    assert.ok(parity.rows.some((r) => !("amount" in r.features) || !("channel" in r.features)), "a row exercising a default");
    const session = await loadOnnxSession(trained.onnx, card);
    const encoder = createEncoder(card);
    const batch = encodeBatch(encoder, parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    for (const value of batch.flat) assert.ok(Number.isFinite(value), "the encoder imputes: no NaN reaches the model");
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= 1e-5, `row ${i}`));

    const set = evaluationSetFor(card, data);
    const all = encodeBatch(encoder, set.features);
    const measured = binaryMetrics(set.labels, await runBatch(session, card, all.flat, all.n), card.threshold!);
    for (const key of ["auc", "accuracy", "f1", "log_loss"] as const) {
      assert.ok(Math.abs(measured[key] - card.metrics.validation[key]!) < 1e-4, `${key}: ${measured[key]} vs ${card.metrics.validation[key]}`);
    }
    await session.release();
  });

  it("explains parity rows so that base_value + Σ contributions is the logit", () => {
    const { card, parity } = trained;
    const explain = createExplainer(card)!;
    const encoder = createEncoder(card);
    for (const row of parity.rows.slice(0, 20)) {
      const encoded = encoder(row.features);
      assert.ok(encoded.ok);
      const contributions = explain(encoded.vector, 0);
      assert.equal(contributions.length, 5);
      const logit = contributions.reduce((s, c) => s + c.contribution, card.explainer!.base_value);
      assert.ok(Math.abs(sigmoid(logit) - row.probability) < 1e-6);
    }
  });

  it("is deterministic", async () => {
    const again = await trainBinaryGbdt(SPEC, data, { now: new Date("2020-01-01T00:00:00Z") });
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
    assert.deepEqual(again.parity, trained.parity);
  });

  it("names the row of a value the encoder rejects", async () => {
    const broken = fixture(400, 1);
    broken.rows[17]!["visits"] = "seven";
    await assert.rejects(trainBinaryGbdt(SPEC, broken), /fixture:19: .*visits/);
  });
});
