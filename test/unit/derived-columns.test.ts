/**
 * Derived encoding columns (product, difference, ratio of two numeric features): the card schema,
 * the encoder's arithmetic, their attribution in explanations, the GBDT recipe with them, the
 * shipped 1.1.0 models that use them, and training a given version by `name@version`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { featuresSchema } from "../../src/api/card-schema.ts";
import {
  columnSources,
  EncodedColumnSchema,
  FeatureSpecSchema,
  isDerivedColumn,
  ModelCardSchema,
  type EncodedColumn,
  type ModelCard,
} from "../../src/models/card.ts";
import { CardEncodingError, coerceStringRow, createEncoder, encodeBatch, type EncodingCard } from "../../src/models/encode.ts";
import { attributeColumns, columnAttribution, createExplainer } from "../../src/models/explain.ts";
import { createTreeShap } from "../../src/models/tree-shap.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { readCard } from "../../src/training/artifacts.ts";
import { fitGbdt, sigmoid } from "../../src/training/gbdt/booster.ts";
import { cardTree, trainBinaryGbdt, type BinaryGbdtSpec } from "../../src/training/gbdt/binary-recipe.ts";
import { predictRaw } from "../../src/training/gbdt/tree.ts";
import { EARLIER_TRAINERS, findTrainer, TRAINERS, trainerVersions } from "../../src/training/registry.ts";
import { mulberry32, stratifiedSplit } from "../../src/training/split.ts";
import type { LabelledRows } from "../../src/training/trainer.ts";

const f32 = Math.fround;
const FLOAT32_MAX = 3.4028234663852886e38;

/** Features a..e and a category; derived columns after the plain ones. Column indices noted. */
function card(derived: EncodedColumn[], overrides: Record<string, Record<string, unknown>> = {}): EncodingCard {
  const feature = (spec: Record<string, unknown>) => FeatureSpecSchema.parse({ ...spec, ...overrides[spec["name"] as string] });
  return {
    features: [
      feature({ name: "torque", type: "number", required: true, min: 0, max: 80 }),
      feature({ name: "rpm", type: "integer", required: true, min: 1000, max: 3000 }),
      feature({ name: "hot", type: "number", required: false, min: 290, max: 320, default: 310 }),
      feature({ name: "cold", type: "number", required: false, min: 290, max: 310, default: 300 }),
      feature({ name: "running", type: "boolean", required: false, default: true }),
      feature({ name: "kind", type: "category", required: true, categories: ["L", "M", "H"] }),
      feature({ name: "text", type: "number", required: false, min: -5, max: 5, default: 0 }),
    ],
    encoding: {
      input_name: "x",
      columns: [
        { kind: "numeric", feature: "torque" }, // 0
        { kind: "numeric", feature: "rpm" }, // 1
        { kind: "onehot", feature: "kind", category: "L" }, // 2
        ...derived, // 3...
      ],
    },
  };
}

const POWER: EncodedColumn = { kind: "product", name: "power_w", features: ["torque", "rpm"], scale: (2 * Math.PI) / 60 };
const DIFF: EncodedColumn = { kind: "difference", features: ["hot", "cold"] };
const RATIO: EncodedColumn = { kind: "ratio", features: ["torque", "text"] };
const row = { torque: 40, rpm: 1500, hot: 311.5, cold: 301, kind: "L" };

function encodeOk(c: EncodingCard, input: Record<string, unknown>) {
  const result = createEncoder(c)(input);
  if (!result.ok) assert.fail(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result;
}

describe("derived encoding columns: card schema", () => {
  it("parses product, difference and ratio columns and keeps the old kinds as they were", () => {
    assert.deepEqual(EncodedColumnSchema.parse(POWER), POWER);
    assert.deepEqual(EncodedColumnSchema.parse({ kind: "difference", features: ["a", "b"] }), { kind: "difference", features: ["a", "b"] });
    assert.deepEqual(EncodedColumnSchema.parse({ kind: "ratio", features: ["a", "b"], on_zero_denominator: -1 }), {
      kind: "ratio",
      features: ["a", "b"],
      on_zero_denominator: -1,
    });
    assert.deepEqual(EncodedColumnSchema.parse({ kind: "numeric", feature: "a" }), { kind: "numeric", feature: "a" });
    for (const bad of [
      { kind: "product", features: ["a"] },
      { kind: "product", features: ["a", "b", "c"] },
      { kind: "product", features: ["a", "b"], scale: 0 },
      { kind: "product", features: ["a", "b"], name: "Power W" },
      { kind: "difference", feature: "a" },
    ]) {
      assert.equal(EncodedColumnSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it("names a column's source features", () => {
    assert.deepEqual(columnSources(POWER), ["torque", "rpm"]);
    assert.deepEqual(columnSources({ kind: "onehot", feature: "kind", category: "L" }), ["kind"]);
    assert.equal(isDerivedColumn(DIFF), true);
    assert.equal(isDerivedColumn({ kind: "numeric", feature: "a" }), false);
  });
});

describe("derived encoding columns: encoder", () => {
  it("computes product (with scale), difference and ratio after the plain columns", () => {
    const c = card([POWER, DIFF, RATIO]);
    const { vector, warnings } = encodeOk(c, { ...row, text: 4 });
    assert.deepEqual(warnings, []);
    assert.deepEqual([...vector], [40, 1500, 1, f32((40 * 1500 * 2 * Math.PI) / 60), f32(311.5 - 301), 10]);
    assert.equal(createEncoder(c).width, 6);
  });

  it("derives from the clipped value and from the imputed default", () => {
    const c = card([POWER, DIFF]);
    const clipped = encodeOk(c, { ...row, torque: 95 });
    assert.equal(clipped.vector[0], 80);
    assert.equal(clipped.vector[3], f32((80 * 1500 * 2 * Math.PI) / 60));
    assert.match(clipped.warnings[0]!, /torque: 95 is outside/);
    const { hot: _hot, cold: _cold, ...withoutTemperatures } = row;
    assert.equal(encodeOk(c, withoutTemperatures).vector[4], 10, "defaults 310 − 300");
    assert.equal(encodeOk(c, { ...withoutTemperatures, cold: 305 }).vector[4], 5);
  });

  it("reads features that have no column of their own, booleans as 0/1", () => {
    const c = card([{ kind: "product", features: ["running", "hot"] }, { kind: "product", features: ["hot", "hot"], scale: 0.5 }]);
    assert.deepEqual([...encodeOk(c, { ...row, running: "No" }).vector].slice(3), [0, f32(311.5 * 311.5 * 0.5)]);
    assert.deepEqual([...encodeOk(c, row).vector].slice(3), [311.5, f32(311.5 * 311.5 * 0.5)], "running defaults to true");
  });

  it("gives a ratio with a zero denominator its on_zero_denominator (default 0), unscaled", () => {
    assert.equal(encodeOk(card([RATIO]), { ...row, text: 0 }).vector[3], 0);
    assert.equal(encodeOk(card([RATIO]), { ...row, text: -0 }).vector[3], 0);
    assert.equal(encodeOk(card([RATIO]), row).vector[3], 0, "text defaults to 0");
    const custom = card([{ kind: "ratio", features: ["torque", "text"], scale: 2, on_zero_denominator: -7 }]);
    assert.equal(encodeOk(custom, { ...row, text: 0 }).vector[3], -7);
    assert.equal(encodeOk(custom, { ...row, text: -4 }).vector[3], -20);
  });

  it("clips a derived value to the float32 range, so no column is ever infinite", () => {
    const c = card([POWER, { kind: "ratio", features: ["rpm", "torque"] }, { kind: "difference", features: ["cold", "hot"], scale: 1e300 }], {
      torque: { out_of_range: "accept" },
      rpm: { out_of_range: "accept" },
    });
    const { vector } = encodeOk(c, { ...row, torque: 1e30, rpm: 1e30 });
    assert.equal(vector[3], f32(FLOAT32_MAX));
    assert.equal(encodeOk(c, { ...row, torque: 1e-300, rpm: 1e30 }).vector[4], f32(FLOAT32_MAX));
    assert.equal(encodeOk(c, row).vector[5], f32(-FLOAT32_MAX));
    for (const v of vector) assert.ok(Number.isFinite(v));
  });

  it("writes nothing for a rejected row, and nothing of one row leaks into the next", () => {
    const encoder = createEncoder(card([POWER, DIFF]));
    const { flat, n, outcomes } = encodeBatch(encoder, [{ ...row, hot: 315 }, { ...row, rpm: "fast" }, { torque: 10, rpm: 2000, kind: "M" }]);
    assert.equal(n, 2);
    assert.equal(outcomes[1]!.ok, false);
    assert.equal(flat.length, 2 * 5);
    assert.equal(flat[4], 14, "row 1: 315 − 301");
    // row 3 has no temperatures: its difference is from the defaults, not row 1's 315
    assert.deepEqual([...flat.subarray(5, 10)], [10, 2000, 0, f32((10 * 2000 * 2 * Math.PI) / 60), 10]);
    const out = new Float32Array(5).fill(9);
    assert.equal(encoder.encodeInto({ ...row, torque: "x" }, out, 0).ok, false);
    assert.deepEqual([...out], [0, 0, 0, 0, 0]);
  });

  it("refuses derived columns over unknown, category or text features, a zero scale and duplicates", () => {
    const text = FeatureSpecSchema.parse({
      name: "note",
      type: "text",
      required: false,
      analyzer: {
        algorithm: "tidecast-text/1",
        normalization: "NFC",
        lowercase: true,
        token_pattern: "\\p{L}+",
        boundary_pattern: "[.!?]",
        ngram_range: [1, 1],
        tf: "binary",
        norm: "none",
        vocabulary: { documents: 0, min_df: 1, idf: "none" },
      },
    });
    const cases: Array<[EncodingCard, RegExp]> = [
      [card([{ kind: "product", features: ["torque", "nope"] }]), /unknown feature "nope"/],
      [card([{ kind: "difference", features: ["kind", "rpm"] }]), /"kind" is not a number, integer or boolean/],
      [{ ...card([{ kind: "ratio", features: ["note", "rpm"] }]), features: [...card([]).features, text] }, /"note" is not a number/],
      [card([{ kind: "product", features: ["torque", "rpm"], scale: 0 }]), /scale must be finite and not 0/],
      [card([POWER, { ...POWER, name: "again" }]), /encoded twice/],
    ];
    for (const [c, message] of cases) assert.throws(() => createEncoder(c), (e: unknown) => e instanceof CardEncodingError && message.test(e.message));
    // the same pair in another kind, or with another scale, is a different column
    assert.equal(createEncoder(card([POWER, { kind: "product", features: ["torque", "rpm"] }, { kind: "ratio", features: ["torque", "rpm"] }])).width, 6);
  });

  it("leaves CSV coercion to the features: a derived column is never a field", () => {
    const c = card([POWER]);
    const typed = coerceStringRow(c, { torque: "40", rpm: "1500", kind: "L" });
    assert.deepEqual(typed, { torque: 40, rpm: 1500, kind: "L" });
    const result = createEncoder(c)({ ...typed, power_w: 6283 });
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.errors, { power_w: ["unknown field"] });
  });
});

describe("derived encoding columns: explanations", () => {
  it("shares a derived column half to each source, all of it when both are the same feature", () => {
    const columns: EncodedColumn[] = [
      { kind: "numeric", feature: "a" },
      { kind: "onehot", feature: "k", category: "x" },
      { kind: "product", features: ["a", "b"] },
      { kind: "product", features: ["b", "b"] },
    ];
    const attribution = columnAttribution(columns);
    assert.deepEqual(attribution.features, ["a", "k", "b"]);
    const sums = new Float64Array(3);
    attributeColumns(attribution, [1, 2, 4, 8], sums);
    assert.deepEqual([...sums], [1 + 2, 2, 2 + 8]);
    assert.deepEqual(columnAttribution(columns, ["b", "a", "k", "unused"]).features, ["b", "a", "k", "unused"]);
    assert.throws(() => columnAttribution(columns, ["a", "k"]), /reads "b"/);
  });

  // a target that is a rule on a product: the trees split on the derived column
  const n = 1500;
  const random = mulberry32(3);
  const x = new Float32Array(n * 4);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = random() * 10;
    const b = random() * 10;
    const c = random() < 0.5 ? 1 : 0;
    x.set([a, b, c, f32(a * b)], i * 4);
    y[i] = a * b > 30 !== random() < 0.1 ? 1 : 0;
  }
  const fit = fitGbdt({ x, rows: n, cols: 4, y }, { maxTrees: 40, maxDepth: 3, maxLeaves: 6, seed: 2 });
  const shap = createTreeShap(fit.model.trees, 4);
  const treeCard: ModelCard = ModelCardSchema.parse({
    name: "derived_fixture",
    version: "0.0.1",
    display_name: "fixture",
    description: "fixture",
    task: "binary_classification",
    algorithm: "gradient_boosted_trees",
    created_at: "2020-01-01T00:00:00.000Z",
    features: [
      { name: "a", type: "number", required: true },
      { name: "b", type: "number", required: true },
      { name: "c", type: "boolean", required: true },
    ],
    encoding: {
      input_name: "x",
      columns: [
        { kind: "numeric", feature: "a" },
        { kind: "numeric", feature: "b" },
        { kind: "numeric", feature: "c" },
        { kind: "product", features: ["a", "b"] },
      ],
    },
    outputs: { score_output: "probabilities", probability_index: 1 },
    training: { dataset: "fixture", source: "test", files: [], rows: n, split: { method: "none", train_rows: n, validation_rows: 0, seed: 0 } },
    metrics: { validation: {} },
    explainer: { kind: "tree", link: "logit", base_score: fit.model.baseScore, base_value: fit.model.baseScore + shap.expectedValue, trees: fit.model.trees.map(cardTree) },
  });

  it("tree explainer: contributions are per card feature, split as documented, and add up to the margin", () => {
    assert.ok(fit.model.trees.some((t) => t.feature.includes(3)), "the trees use the derived column");
    const explain = createExplainer(treeCard)!;
    const raw = predictRaw(fit.model, x, n);
    for (let r = 0; r < 100; r++) {
      const contributions = explain(x, r * 4);
      assert.deepEqual(contributions.map((c) => c.feature).sort(), ["a", "b", "c"]);
      const phi = new Float64Array(4);
      shap.explainRow(x, r * 4, phi);
      const of = (name: string) => contributions.find((c) => c.feature === name)!.contribution;
      assert.ok(Math.abs(of("a") - (phi[0]! + phi[3]! / 2)) < 1e-12);
      assert.ok(Math.abs(of("b") - (phi[1]! + phi[3]! / 2)) < 1e-12);
      assert.ok(Math.abs(of("c") - phi[2]!) < 1e-12);
      const total = contributions.reduce((s, c) => s + c.contribution, treeCard.explainer!.base_value);
      assert.ok(Math.abs(total - raw[r]!) < 1e-6, `row ${r}: ${total} vs ${raw[r]}`);
    }
  });

  it("tree explainer: the card's own encoder feeds it (derived value computed, not sent)", () => {
    const explain = createExplainer(treeCard)!;
    const encoded = createEncoder(treeCard)({ a: 7, b: 6, c: true });
    assert.ok(encoded.ok);
    assert.equal(encoded.vector[3], 42);
    const total = explain(encoded.vector, 0).reduce((s, c) => s + c.contribution, treeCard.explainer!.base_value);
    assert.ok(Math.abs(total - predictRaw(fit.model, encoded.vector, 1)[0]!) < 1e-6);
  });

  it("linear explainer: coefficient × (x − mean) of a derived column is shared the same way", () => {
    const linearCard = ModelCardSchema.parse({
      ...treeCard,
      algorithm: "logistic_regression",
      explainer: { kind: "linear", link: "logit", coefficients: [0.5, -1, 2, 0.25], intercept: -1, column_means: [5, 5, 0.5, 25], base_value: -1 + 2.5 - 5 + 1 + 6.25 },
    });
    const explain = createExplainer(linearCard)!;
    const v = Float32Array.from([2, 4, 1, 8]);
    const of = (name: string) => explain(v, 0).find((c) => c.feature === name)!.contribution;
    assert.equal(of("a"), 0.5 * (2 - 5) + (0.25 * (8 - 25)) / 2);
    assert.equal(of("b"), -1 * (4 - 5) + (0.25 * (8 - 25)) / 2);
    assert.equal(of("c"), 2 * (1 - 0.5));
    const total = explain(v, 0).reduce((s, c) => s + c.contribution, 3.75);
    assert.ok(Math.abs(total - (-1 + 0.5 * 2 - 4 + 2 + 0.25 * 8)) < 1e-12);
  });
});

/** a, b uniform; the label is mostly the rule a × b > 25, which no single split of a or b captures */
function productFixture(n: number, seed: number): LabelledRows {
  const random = mulberry32(seed);
  const rows: Record<string, string>[] = [];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = 10 * random();
    const b = 10 * random();
    const flag = random() < 0.5;
    labels[i] = (a * b > 25 && (flag || a * b > 40)) !== random() < 0.05 ? 1 : 0;
    rows.push({ a: a.toFixed(3), b: b.toFixed(3), flag: flag ? "1" : "0" });
  }
  return { rows, labels, origin: (i) => `product-fixture:${i + 2}` };
}

const PRODUCT_SPEC: BinaryGbdtSpec = {
  name: "derived_trees",
  version: "0.0.1",
  displayName: "fixture",
  description: "synthetic fixture for derived columns in the tree recipe",
  features: [
    { name: "a", type: "number", required: true, description: "a" },
    { name: "b", type: "number", required: false, description: "b" },
    { name: "flag", type: "boolean", required: true, description: "flag" },
  ],
  derived: [{ kind: "product", name: "a_times_b", features: ["a", "b"] }],
  threshold: "out_of_fold",
  classLabels: ["no", "yes"],
  params: { learningRate: 0.1, maxTrees: 200, earlyStoppingRounds: 20, subsample: 0.8, seed: 7 },
  grid: [{ maxDepth: 3, maxLeaves: 6 }],
  split: { validationFraction: 0.25, seed: 5 },
  crossFit: { folds: 4, seed: 6 },
  training: { dataset: "fixture", source: "generated in test", files: [], synthetic: true, notes: "" },
  parityRows: 40,
};

describe("binary GBDT recipe with derived columns and an out-of-fold threshold", async () => {
  const data = productFixture(2000, 11);
  const now = new Date("2020-01-01T00:00:00Z");
  const trained = await trainBinaryGbdt(PRODUCT_SPEC, data, { now });
  const plain = await trainBinaryGbdt({ ...PRODUCT_SPEC, derived: [] }, data, { now });
  const oofAuc = (card: ModelCard) => (card.training.hyperparameters["cross_fit"] as { out_of_fold_auc: number }).out_of_fold_auc;

  it("appends the derived column to the encoding; the features (and so requests) are unchanged", () => {
    const { card } = trained;
    assert.deepEqual(card.features.map((f) => f.name), ["a", "b", "flag"]);
    assert.deepEqual(card.encoding.columns.at(-1), { kind: "product", name: "a_times_b", features: ["a", "b"] });
    assert.deepEqual(card.encoding.columns.slice(0, -1), plain.card.encoding.columns);
    assert.deepEqual(Object.keys(card.feature_importance).sort(), ["a", "b", "flag"]);
    const derivedColumn = card.encoding.columns.length - 1;
    assert.ok(card.explainer?.kind === "tree" && card.explainer.trees.some((t) => t.feature.includes(derivedColumn)), "the trees split on a × b");
    assert.ok(oofAuc(card) > oofAuc(plain.card), `out-of-fold AUC ${oofAuc(card)} vs ${oofAuc(plain.card)} without`);
    assert.match(String(card.training.hyperparameters["selection"]), /threshold by out-of-fold F1/);
  });

  it("onnxruntime reproduces parity.json (imputed b included) and Σ contributions + base = logit", async () => {
    const { card, parity } = trained;
    assert.ok(parity.rows.some((r) => !("b" in r.features)), "a row whose derived value uses b's default");
    const session = await loadOnnxSession(trained.onnx, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    const explain = createExplainer(card)!;
    parity.rows.forEach((r, i) => {
      assert.ok(Math.abs(scores[i]! - r.probability) <= 1e-5, `row ${i}`);
      const logit = explain(batch.flat, i * card.encoding.columns.length).reduce((s, c) => s + c.contribution, card.explainer!.base_value);
      assert.ok(Math.abs(sigmoid(logit) - r.probability) < 1e-6, `row ${i}`);
    });
    await session.release();
  });

  it("chooses the threshold without the validation rows: changing their features changes no choice", async () => {
    const { validation } = stratifiedSplit(data.labels, PRODUCT_SPEC.split.validationFraction, PRODUCT_SPEC.split.seed);
    const altered: LabelledRows = { ...data, rows: data.rows.map((r) => ({ ...r })) };
    for (const i of validation) altered.rows[i]!["a"] = (9.99 - Number(altered.rows[i]!["a"])).toFixed(3);
    const again = await trainBinaryGbdt(PRODUCT_SPEC, altered, { now });
    assert.equal(again.card.threshold, trained.card.threshold);
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.notEqual(again.card.metrics.validation["auc"], trained.card.metrics.validation["auc"]);
    // the default (validation F1) does move with them
    const v1 = await trainBinaryGbdt({ ...PRODUCT_SPEC, threshold: "validation" }, data, { now });
    const v2 = await trainBinaryGbdt({ ...PRODUCT_SPEC, threshold: "validation" }, altered, { now });
    assert.notEqual(v1.card.threshold, v2.card.threshold);
  });

  it("repeated cross-fitting measures the chosen set on more fold assignments and changes nothing else", async () => {
    const repeated = await trainBinaryGbdt({ ...PRODUCT_SPEC, repeatedCrossFit: { seeds: [8, 9] } }, data, { now });
    assert.deepEqual(Buffer.from(repeated.onnx), Buffer.from(trained.onnx));
    assert.equal(repeated.card.threshold, trained.card.threshold);
    assert.deepEqual(repeated.card.metrics, trained.card.metrics);
    const measured = (repeated.card.training.hyperparameters["cross_fit"] as { repeated: { fold_seeds: number[]; fold_aucs: number[]; mean_auc: number; sd_auc: number } }).repeated;
    assert.deepEqual(measured.fold_seeds, [6, 8, 9]);
    assert.equal(measured.fold_aucs.length, 12);
    // three different fold assignments: not one fold AUC repeated three times
    assert.notDeepEqual(measured.fold_aucs.slice(0, 4), measured.fold_aucs.slice(4, 8));
    const mean = measured.fold_aucs.reduce((a, b) => a + b, 0) / 12;
    assert.ok(Math.abs(measured.mean_auc - mean) < 1e-5);
    assert.ok(measured.sd_auc > 0 && Math.abs(measured.mean_auc - oofAuc(trained.card)) < 3 * measured.sd_auc);
    assert.match(repeated.card.training.notes, /over 3 fold assignments: 0\.\d{4} ± 0\.\d{4} \(mean ± sd of 12 folds\)/);
    // without the option the card is as before
    assert.equal((trained.card.training.hyperparameters["cross_fit"] as Record<string, unknown>)["repeated"], undefined);
    assert.doesNotMatch(trained.card.training.notes, /fold assignments/);
  });
});

const modelsDir = fileURLToPath(new URL("../../models/", import.meta.url));

describe("shipped 1.1.0 models with derived columns", () => {
  for (const [name, derived] of [
    ["machine_failure", ["power_w", "temperature_difference_k", "overstrain_min_nm"]],
    ["lead_conversion", ["euribor_minus_emp_var_rate"]],
    ["churn_telco", ["monthly_charges_per_tenure_month"]],
  ] as const) {
    it(`${name} 1.1.0: the 1.0.0 encoding plus ${derived.join(", ")}; the same request schema`, async () => {
      const previous = await readCard(join(modelsDir, name, "1.0.0"));
      const current = await readCard(join(modelsDir, name, "1.1.0"));
      assert.deepEqual(current.features, previous.features);
      assert.deepEqual(current.encoding.columns.slice(0, previous.encoding.columns.length), previous.encoding.columns);
      const added = current.encoding.columns.slice(previous.encoding.columns.length);
      assert.deepEqual(added.map((c) => (isDerivedColumn(c) ? c.name : c.kind)), derived);
      assert.deepEqual(z.toJSONSchema(featuresSchema(current)), z.toJSONSchema(featuresSchema(previous)));
      assert.equal(current.training.split.seed, previous.training.split.seed);
      assert.match(String(current.training.hyperparameters["selection"]), /threshold by out-of-fold F1/);
    });
  }

  it("machine_failure 1.1.0 computes power, temperature difference and overstrain from the readings", async () => {
    const card = await readCard(join(modelsDir, "machine_failure", "1.1.0"));
    const encoded = createEncoder(card)({
      type: "M",
      air_temperature_k: 298.1,
      process_temperature_k: 308.6,
      rotational_speed_rpm: 1551,
      torque_nm: 42.8,
      tool_wear_min: 100,
    });
    assert.ok(encoded.ok);
    assert.deepEqual([...encoded.vector.subarray(-3)], [f32((42.8 * 1551 * 2 * Math.PI) / 60), f32(308.6 - 298.1), f32(4280)]);
  });

  it("lead_conversion 1.2.0: the 1.1.0 encoding plus cons_conf_idx × euribor3m, the same request schema and split", async () => {
    const previous = await readCard(join(modelsDir, "lead_conversion", "1.1.0"));
    const current = await readCard(join(modelsDir, "lead_conversion", "1.2.0"));
    assert.deepEqual(current.features, previous.features);
    assert.deepEqual(current.encoding.columns.slice(0, previous.encoding.columns.length), previous.encoding.columns);
    const added = current.encoding.columns.slice(previous.encoding.columns.length);
    assert.deepEqual(added.map((c) => (isDerivedColumn(c) ? c.name : c.kind)), ["cons_conf_idx_times_euribor3m"]);
    assert.deepEqual(z.toJSONSchema(featuresSchema(current)), z.toJSONSchema(featuresSchema(previous)));
    assert.equal(current.training.split.seed, previous.training.split.seed);
    const encoded = createEncoder(current)({
      age: 40, job: "admin.", contact: "cellular", month: "may", campaign: 2,
      emp_var_rate: -1.8, cons_price_idx: 92.893, cons_conf_idx: -46.2, euribor3m: 1.299, nr_employed: 5099.1,
    });
    assert.ok(encoded.ok);
    assert.deepEqual([...encoded.vector.subarray(-2)], [f32(1.299 - -1.8), f32(-46.2 * 1.299)]);
  });

  it("lead_conversion 1.2.0 beats 1.1.0 on validation AUC and reports its repeated cross-validation", async () => {
    const previous = await readCard(join(modelsDir, "lead_conversion", "1.1.0"));
    const current = await readCard(join(modelsDir, "lead_conversion", "1.2.0"));
    assert.ok(current.metrics.validation["auc"]! > previous.metrics.validation["auc"]!);
    const repeated = (current.training.hyperparameters["cross_fit"] as { repeated: { fold_seeds: number[]; fold_aucs: number[] } }).repeated;
    // the first fold assignment is 1.1.0's, the one the grid was chosen on
    assert.equal(repeated.fold_seeds[0], (previous.training.hyperparameters["cross_fit"] as { fold_seed: number }).fold_seed);
    assert.equal(repeated.fold_aucs.length, 4 * repeated.fold_seeds.length);
  });

  it("beats 1.0.0 on the card's validation metrics", async () => {
    for (const name of ["machine_failure", "lead_conversion", "churn_telco"]) {
      const previous = (await readCard(join(modelsDir, name, "1.0.0"))).metrics.validation;
      const current = (await readCard(join(modelsDir, name, "1.1.0"))).metrics.validation;
      assert.ok(current["auc"]! > previous["auc"]!, `${name} AUC`);
      assert.ok(current["log_loss"]! < previous["log_loss"]!, `${name} log loss`);
    }
  });
});

describe("training a given version", () => {
  it("finds the current trainer by name and any kept version by name@version", () => {
    assert.equal(findTrainer("machine_failure")?.version, "1.2.0");
    assert.equal(findTrainer("lead_conversion")?.version, "1.2.0");
    assert.equal(findTrainer("lead_conversion@1.1.0")?.version, "1.1.0");
    assert.equal(findTrainer("machine_failure@1.0.0")?.version, "1.0.0");
    assert.equal(findTrainer("machine_failure@1.1.0")?.version, "1.1.0");
    assert.equal(findTrainer("machine_failure@1.2.0"), findTrainer("machine_failure"));
    assert.equal(findTrainer("machine_failure@9.9.9"), undefined);
    assert.equal(findTrainer("nope"), undefined);
    assert.deepEqual(trainerVersions("lead_conversion").map((t) => t.version), ["1.2.0", "1.1.0", "1.0.0"]);
    assert.deepEqual(trainerVersions("churn_telco").map((t) => t.version), ["1.2.0", "1.1.0", "1.0.0"]);
    assert.equal(findTrainer("churn_telco@1.1.0")?.version, "1.1.0");
    assert.ok(EARLIER_TRAINERS.every((t) => !TRAINERS.includes(t)));
  });

  it("every shipped model version of a registered model has the trainer of that version", async () => {
    const { listModelDirs } = await import("../../src/training/artifacts.ts");
    for (const { name, version } of await listModelDirs(modelsDir)) {
      if (!findTrainer(name)) continue;
      assert.equal(findTrainer(`${name}@${version}`)?.version, version, `${name}@${version}`);
    }
  });
});
