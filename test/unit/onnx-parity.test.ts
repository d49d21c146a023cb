import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { ModelCardSchema, type LinearExplainer, type ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { loadOnnxSession, OnnxModelError, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";
import { evaluationSetFor, trainBinaryLinear, type BinaryLinearSpec } from "../../src/training/binary-linear.ts";
import { sigmoid } from "../../src/training/logistic.ts";
import { binaryMetrics } from "../../src/training/metrics.ts";
import { exportLogisticRegression } from "../../src/training/onnx-export.ts";
import { mulberry32, stratifiedSplit } from "../../src/training/split.ts";
import type { LabelledRows } from "../../src/training/trainer.ts";

/** A seeded synthetic dataset with every feature type, blanks in the optional ones, CSV-style strings. */
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
    const amountText = random() < 0.05 ? " " : amount.toFixed(2);
    const z = -1.5 + 0.012 * amount - 0.08 * visits + (member ? -0.9 : 0.4) + (tier === "gold" ? -1 : tier === "silver" ? 0.3 : 0.8) + (channel === "web" ? 0.5 : 0);
    labels[i] = random() < sigmoid(z) ? 1 : 0;
    rows.push({ amount: amountText, visits: String(visits), member: member ? "Yes" : "No", tier, channel });
  }
  return { rows, labels, origin: (i) => `fixture:${i + 2}` };
}

/** The card's explainer, which a logistic-regression card must have in its linear form. */
function linearExplainer(card: ModelCard): LinearExplainer {
  const explainer = card.explainer;
  assert.equal(explainer?.kind, "linear");
  return explainer as LinearExplainer;
}

const SPEC: BinaryLinearSpec = {
  name: "fixture_model",
  version: "0.0.1",
  displayName: "fixture",
  description: "synthetic fixture for the parity test",
  features: [
    { name: "amount", type: "number", required: false, description: "spend" },
    { name: "visits", type: "integer", required: true, description: "visits" },
    { name: "member", type: "boolean", required: true, description: "member" },
    { name: "tier", type: "category", required: true, description: "tier", categories: ["bronze", "silver", "gold"] },
    { name: "channel", type: "category", required: false, description: "channel", categories: ["web", "store"] },
  ],
  classLabels: ["stays", "leaves"],
  l2Grid: [1e-3, 1e-1],
  split: { validationFraction: 0.25, seed: 5 },
  training: { dataset: "fixture", source: "generated in test", files: [], synthetic: true, notes: "" },
  parityRows: 40,
};

describe("ONNX export parity with the trainer", () => {
  const data = fixture(800, 99);
  const trained = trainBinaryLinear(SPEC, data, { now: new Date("2020-01-01T00:00:00Z") });

  it("produces a valid card with measured metrics and an explainer", () => {
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.training.split.train_rows + card.training.split.validation_rows, 800);
    assert.equal(card.encoding.columns.length, 3 + 3 + 2); // amount, visits, member + tier ×3 + channel ×2
    assert.equal(linearExplainer(card).coefficients.length, 8);
    assert.ok(card.metrics.validation["auc"]! > 0.65, `AUC ${card.metrics.validation["auc"]}`);
    assert.equal(card.threshold, card.metrics.validation["threshold"]);
    assert.deepEqual(Object.keys(card.feature_importance).sort(), ["amount", "channel", "member", "tier", "visits"]);
    assert.equal(typeof card.features.find((f) => f.name === "amount")?.default, "number");
    assert.equal(trained.parity.rows.length, 40);
    assert.ok(trained.parity.rows.some((r) => !("amount" in r.features)), "a row exercising a default");
  });

  it("onnxruntime reproduces the trainer's probabilities within 1e-5", async () => {
    const { card, parity } = trained;
    const session = await loadOnnxSession(trained.onnx, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => {
      assert.ok(Math.abs(scores[i]! - row.probability) <= 1e-5, `row ${i}: onnx ${scores[i]} trainer ${row.probability}`);
    });

    // the whole validation split through encoder + onnxruntime gives the card's metrics
    const set = evaluationSetFor(card, data);
    const all = encodeBatch(createEncoder(card), set.features);
    const measured = binaryMetrics(set.labels, await runBatch(session, card, all.flat, all.n), card.threshold!);
    for (const key of ["auc", "accuracy", "f1", "log_loss"] as const) {
      assert.ok(Math.abs(measured[key] - card.metrics.validation[key]!) < 1e-4, `${key}: ${measured[key]} vs ${card.metrics.validation[key]}`);
    }
    await session.release();
  });

  it("explainer contributions add up to the model's logit", async () => {
    const { card, parity } = trained;
    const explainer = linearExplainer(card);
    const encoder = createEncoder(card);
    for (const row of parity.rows.slice(0, 10)) {
      const encoded = encoder(row.features);
      assert.ok(encoded.ok);
      let logit = explainer.base_value;
      encoded.vector.forEach((x, j) => (logit += explainer.coefficients[j]! * (x - explainer.column_means[j]!)));
      assert.ok(Math.abs(sigmoid(logit) - row.probability) < 1e-6);
    }
  });

  it("training is deterministic", () => {
    const again = trainBinaryLinear(SPEC, data, { now: new Date("2020-01-01T00:00:00Z") });
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });
});

describe("linear recipe with a derived column and cross-validated choices", () => {
  const data = fixture(800, 99);
  const CV_SPEC: BinaryLinearSpec = {
    ...SPEC,
    derived: [{ kind: "ratio", name: "amount_per_visit", features: ["amount", "visits"] }],
    l2Grid: [1e-3, 1e-1, 1],
    crossValidation: { folds: 4, seeds: [11, 12] },
  };
  const trained = trainBinaryLinear(CV_SPEC, data, { now: new Date("2020-01-01T00:00:00Z") });

  it("appends the derived column; its importance and contribution are shared by its two sources", () => {
    const { card } = trained;
    assert.equal(card.encoding.columns.length, 8 + 1);
    assert.deepEqual(card.encoding.columns.at(-1), CV_SPEC.derived![0]);
    assert.deepEqual(card.features, trainBinaryLinear(SPEC, data).card.features, "the request schema is unchanged");
    assert.deepEqual(Object.keys(card.feature_importance).sort(), ["amount", "channel", "member", "tier", "visits"]);
    const explain = createExplainer(card)!;
    const explainer = linearExplainer(card);
    for (const row of trained.parity.rows.slice(0, 10)) {
      const encoded = createEncoder(card)(row.features);
      assert.ok(encoded.ok);
      const total = explain(encoded.vector, 0).reduce((sum, c) => sum + c.contribution, explainer.base_value);
      assert.ok(Math.abs(sigmoid(total) - row.probability) < 1e-6);
    }
  });

  it("records the cross-validation and picks the l2 with the best mean fold AUC", () => {
    const hp = trained.card.training.hyperparameters;
    const cv = hp["cross_validation"] as { auc_by_l2: Record<string, number>; folds: number; seeds: number[] };
    assert.equal(cv.folds, 4);
    assert.deepEqual(cv.seeds, [11, 12]);
    const best = Math.max(...Object.values(cv.auc_by_l2));
    assert.equal(cv.auc_by_l2[String(hp["l2"])], best);
    assert.match(String(hp["selection"]), /threshold by out-of-fold F1/);
  });

  it("chooses l2 and threshold without the validation rows: scrambling their features changes no choice", () => {
    const { validation } = stratifiedSplit(data.labels, CV_SPEC.split.validationFraction, CV_SPEC.split.seed);
    const rows = data.rows.map((r) => ({ ...r }));
    for (const i of validation) rows[i]!["visits"] = String((Number(rows[i]!["visits"]) * 7) % 31);
    const other = trainBinaryLinear(CV_SPEC, { ...data, rows }, { now: new Date("2020-01-01T00:00:00Z") });
    assert.equal(other.card.training.hyperparameters["l2"], trained.card.training.hyperparameters["l2"]);
    assert.equal(other.card.threshold, trained.card.threshold);
    assert.notEqual(other.card.metrics.validation["auc"], trained.card.metrics.validation["auc"]);
  });

  it("onnxruntime reproduces parity.json with the derived value computed by the encoder", async () => {
    const { card, parity } = trained;
    const session = await loadOnnxSession(trained.onnx, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= 1e-5, `row ${i}`));
    await session.release();
  });
});

describe("onnx-runtime", () => {
  const card = { encoding: { input_name: "x", columns: [{ kind: "numeric" as const, feature: "a" }, { kind: "numeric" as const, feature: "b" }] }, outputs: { score_output: "probabilities", probability_index: 1 } };
  const onnx = exportLogisticRegression({ inputName: "x", outputName: "probabilities", weights: [2, -1], intercept: 0.5, graphName: "t" });

  it("scores a packed batch, including a view into a larger buffer", async () => {
    const session = await loadOnnxSession(onnx, card);
    const buffer = new Float32Array([99, 99, 1, 0, 0, 3, -2, 1]);
    const scores = await runBatch(session, card, buffer.subarray(2), 3);
    const expected = [sigmoid(2.5), sigmoid(-2.5), sigmoid(-4.5)];
    expected.forEach((p, i) => assert.ok(Math.abs(scores[i]! - p) < 1e-6, `row ${i}`));
    assert.equal((await runBatch(session, card, new Float32Array(0), 0)).length, 0);
    await assert.rejects(runBatch(session, card, new Float32Array(3), 2), RangeError);
    await session.release();
  });

  it("refuses a model whose input or output does not match the card", async () => {
    await assert.rejects(loadOnnxSession(onnx, { ...card, encoding: { ...card.encoding, input_name: "features" } }), OnnxModelError);
    await assert.rejects(loadOnnxSession(onnx, { ...card, outputs: { score_output: "label" } }), OnnxModelError);
    await assert.rejects(loadOnnxSession(new Uint8Array([1, 2, 3])), OnnxModelError);
  });
});

for (const version of ["1.0.0", "1.1.0", "1.2.0"]) describe(`shipped models/churn_telco/${version}`, () => {
  const dir = fileURLToPath(new URL(`../../models/churn_telco/${version}/`, import.meta.url));

  it("parity.json is reproduced by onnxruntime within 1e-5", async () => {
    const card = await readCard(dir);
    const parity = await readParity(dir);
    assert.equal(parity.model, "churn_telco");
    assert.ok(parity.tolerance <= 1e-5);
    assert.ok(parity.rows.length >= 50);
    const session = await loadOnnxSession(`${dir}/${MODEL_FILE}`, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length, "every parity row encodes");
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => {
      assert.ok(Math.abs(scores[i]! - row.probability) <= 1e-5, `row ${i}: onnx ${scores[i]} trainer ${row.probability}`);
    });
    await session.release();
  });

  it("has the card the API relies on", async () => {
    const card = await readCard(dir);
    // 1.2.0 blends the linear model with trees; its linear member reads the same columns
    const linear = card.explainer?.kind === "blend" ? card.explainer.members.find((m) => m.explainer.kind === "linear")!.explainer : card.explainer;
    assert.equal(card.encoding.columns.length, linearExplainer({ ...card, explainer: linear }).coefficients.length);
    assert.deepEqual(card.features.filter((f) => f.required).map((f) => f.name), ["tenure", "monthly_charges", "contract_type"]);
    assert.equal(card.features.length, 19);
    assert.ok(card.metrics.validation["auc"]! >= 0.84, `validation AUC ${card.metrics.validation["auc"]}`);
    for (const key of ["auc", "accuracy", "precision", "recall", "f1", "log_loss", "threshold"]) {
      assert.equal(typeof card.metrics.validation[key], "number", key);
    }
  });
});
