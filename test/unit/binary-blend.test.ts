import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BlendExplainer, ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer, EXPLANATION_METHODS } from "../../src/models/explain.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { trainBinaryBlend, type BinaryBlendSpec } from "../../src/training/binary-blend.ts";
import { sigmoid } from "../../src/training/logistic.ts";
import { mulberry32, stratifiedSplit } from "../../src/training/split.ts";
import type { LabelledRows } from "../../src/training/trainer.ts";

/**
 * A seeded dataset with a smooth linear trend (which the linear model follows and trees only step
 * along), a U-shape and an interaction of a category with a threshold (which only the trees catch),
 * so the blend beats either member; blanks in the optional feature.
 */
function fixture(n: number, seed: number): LabelledRows {
  const random = mulberry32(seed);
  const plans = ["basic", "plus", "pro"];
  const rows: Record<string, string>[] = [];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const months = Math.floor(random() * 72);
    const spend = 20 + 100 * random();
    const plan = plans[Math.floor(random() * 3)]!;
    const support = random() < 0.15 ? "" : random() < 0.5 ? "yes" : "no";
    const z = 1 - 0.06 * months + 0.0005 * (spend - 70) ** 2 + (plan === "pro" && spend > 80 ? 1.5 : 0) + (support === "no" ? 0.5 : 0);
    labels[i] = random() < sigmoid(z) ? 1 : 0;
    rows.push({ months: String(months), spend: spend.toFixed(2), plan, support });
  }
  return { rows, labels, origin: (i) => `fixture:${i + 2}` };
}

const SPEC: BinaryBlendSpec = {
  name: "blend_fixture",
  version: "0.0.1",
  displayName: "blend fixture",
  description: "synthetic fixture for the blend recipe",
  features: [
    { name: "months", type: "integer", required: true, description: "tenure in months" },
    { name: "spend", type: "number", required: true, description: "monthly spend" },
    { name: "plan", type: "category", required: true, description: "plan", categories: ["basic", "plus", "pro"] },
    { name: "support", type: "category", required: false, description: "support contract", categories: ["yes", "no"] },
  ],
  derived: [{ kind: "ratio", name: "spend_per_month", features: ["spend", "months"] }],
  classLabels: ["stays", "leaves"],
  linear: { l2Grid: [1e-4, 1e-2] },
  trees: {
    params: { learningRate: 0.1, maxTrees: 200, earlyStoppingRounds: 20, minSamplesLeaf: 20, seed: 7 },
    grid: [{ maxDepth: 1, maxLeaves: 2 }, { maxDepth: 3, maxLeaves: 8 }],
    folds: 2,
    seed: 8,
  },
  crossValidation: { folds: 3, seeds: [11, 12] },
  linearWeights: [0, 0.5, 1],
  split: { validationFraction: 0.25, seed: 5 },
  training: { dataset: "fixture", source: "generated in test", files: [], synthetic: true, notes: "" },
  parityRows: 40,
};

const NOW = { now: new Date("2020-01-01T00:00:00Z") };

function blendExplainer(card: ModelCard): BlendExplainer {
  assert.equal(card.explainer?.kind, "blend");
  return card.explainer as BlendExplainer;
}

describe("logistic regression and boosted trees blended in log-odds", async () => {
  const data = fixture(1200, 3);
  const trained = await trainBinaryBlend(SPEC, data, NOW);
  const hp = trained.card.training.hyperparameters;
  const cv = hp["cross_validation"] as {
    auc_by_tree_entry_and_linear_weight: Record<string, { mean_auc: number }>[];
    folds: number;
    seeds: number[];
    chosen_fold_aucs: number[];
  };

  it("chooses the tree shape and weight with the best cross-validated AUC, here a blend over either member", () => {
    const table = cv.auc_by_tree_entry_and_linear_weight.map((byWeight) => Object.fromEntries(Object.entries(byWeight).map(([w, s]) => [w, s.mean_auc])));
    assert.equal(table.length, 2);
    for (const byWeight of table) assert.deepEqual(Object.keys(byWeight).sort(), ["0", "0.5", "1"]);
    const best = Math.max(...table.flatMap((byWeight) => Object.values(byWeight)));
    const entry = hp["tree_grid_entry"] as number;
    assert.equal(table[entry]![String(hp["linear_weight"])], best);
    assert.equal(hp["linear_weight"], 0.5, `cross-validated AUC: ${JSON.stringify(table)}`);
    assert.equal(entry, 1, "the depth-3 trees catch the interaction the stumps cannot");
    assert.equal(cv.chosen_fold_aucs.length, 3 * 2);
    assert.equal(trained.card.algorithm, "logistic_regression_and_gradient_boosted_trees_blend");
  });

  it("onnxruntime reproduces the trainer's probabilities (parity.json) within 1e-5", async () => {
    const { card, parity } = trained;
    assert.ok(parity.rows.length >= 40);
    const session = await loadOnnxSession(trained.onnx, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= 1e-5, `row ${i}: onnx ${scores[i]} trainer ${row.probability}`));
    await session.release();
  });

  it("explains each prediction exactly: base value + Σ contributions is the blended logit", () => {
    const { card, parity } = trained;
    const explainer = blendExplainer(card);
    assert.deepEqual(explainer.members.map((m) => [m.explainer.kind, m.weight]), [["linear", 0.5], ["tree", 0.5]]);
    assert.ok(Math.abs(explainer.base_value - explainer.members.reduce((s, m) => s + m.weight * m.explainer.base_value, 0)) < 1e-12);
    const explain = createExplainer(card)!;
    const encoder = createEncoder(card);
    for (const row of parity.rows) {
      const encoded = encoder(row.features);
      assert.ok(encoded.ok);
      const contributions = explain(encoded.vector, 0);
      assert.deepEqual(contributions.map((c) => c.feature).sort(), ["months", "plan", "spend", "support"]);
      const logit = contributions.reduce((sum, c) => sum + c.contribution, explainer.base_value);
      assert.ok(Math.abs(sigmoid(logit) - row.probability) < 1e-6, `${sigmoid(logit)} vs ${row.probability}`);
    }
    assert.equal(EXPLANATION_METHODS.blend.prediction, "blended_linear_and_tree_shap");
    assert.deepEqual(Object.keys(card.feature_importance).sort(), ["months", "plan", "spend", "support"]);
  });

  it("makes every choice without the validation rows: scrambling their features changes none", async () => {
    const { validation } = stratifiedSplit(data.labels, SPEC.split.validationFraction, SPEC.split.seed);
    const rows = data.rows.map((r) => ({ ...r }));
    for (const i of validation) rows[i]!["months"] = String((Number(rows[i]!["months"]) * 7) % 72);
    const other = await trainBinaryBlend(SPEC, { ...data, rows }, NOW);
    for (const key of ["linear_weight", "tree_grid_entry", "cross_validation"]) assert.deepEqual(other.card.training.hyperparameters[key], hp[key], key);
    assert.equal(other.card.threshold, trained.card.threshold);
    assert.notEqual(other.card.metrics.validation["auc"], trained.card.metrics.validation["auc"]);
  });

  it("is deterministic", async () => {
    const again = await trainBinaryBlend(SPEC, data, NOW);
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });

  it("refuses a weight grid without both members alone, which the card compares against", async () => {
    await assert.rejects(trainBinaryBlend({ ...SPEC, linearWeights: [0.5, 1] }, data), /linearWeights/);
    await assert.rejects(trainBinaryBlend({ ...SPEC, linearWeights: [0, 1.5, 1] }, data), /linearWeights/);
  });
});
