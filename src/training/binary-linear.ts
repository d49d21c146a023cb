/**
 * The whole recipe for a binary logistic-regression model, shared by every dataset that wants one:
 * seeded stratified split → feature ranges and defaults from the training rows → the serving
 * encoder → L2 strength chosen by validation AUC → threshold chosen by validation F1 → metrics,
 * importances and explainer → ONNX bytes, card and parity rows.
 *
 * With `crossValidation` the L2 strength is chosen by the mean k-fold AUC on the training rows and
 * the threshold by their out-of-fold F1 instead, so no choice looks at the validation rows. `derived`
 * columns (products, differences, ratios of numeric features, card.ts) are appended to the encoding.
 */
import { ModelCardSchema, type LinearExplainer, type ModelCard } from "../models/card.ts";
import { coerceStringRow } from "../models/encode.ts";
import { attributeColumns, columnAttribution, type ColumnAttribution } from "../models/explain.ts";
import { binaryCardBase, mean, pick, prepareBinaryData, round, roundMetrics, type BinaryCardSpec, type TrainOptions } from "./binary-data.ts";
import { crossValidateL2, type CrossValidation, type L2CrossValidation } from "./linear-cv.ts";
import { fitLogistic, predictProbabilities, type LogisticModel, type Matrix } from "./logistic.ts";
import { binaryMetrics, bestF1Threshold, rocAuc } from "./metrics.ts";
import { exportLogisticRegression } from "./onnx-export.ts";
import { stratifiedSplit } from "./split.ts";
import { TrainingError, type EvaluationSet, type LabelledRows, type ParityFile, type TrainedModel } from "./trainer.ts";

export interface BinaryLinearSpec extends BinaryCardSpec {
  inputName?: string;
  outputName?: string;
  /** L2 strengths to try; the one with the best validation AUC wins (ties: the stronger) */
  l2Grid: number[];
  /** choose L2 by the mean cross-validated AUC and the threshold by out-of-fold F1, on the training rows */
  crossValidation?: CrossValidation;
  /** validation rows written to parity.json */
  parityRows?: number;
  maxIterations?: number;
}

const PARITY_TOLERANCE = 1e-5;

export function trainBinaryLinear(spec: BinaryLinearSpec, data: LabelledRows, options: TrainOptions = {}): TrainedModel {
  const log = options.log ?? (() => {});
  const inputName = spec.inputName ?? "features";
  const outputName = spec.outputName ?? "probabilities";
  const { split, typed, features, encoding, encoder, train, validation, trainY, validationY } = prepareBinaryData(spec, data, inputName, log);
  const trainX = asMatrix(train.x, split.train.length, encoder.width);
  const validationX = asMatrix(validation.x, split.validation.length, encoder.width);

  const grid = [...spec.l2Grid].sort((a, b) => a - b);
  const maxIterations = spec.maxIterations ?? 100;
  const cv = spec.crossValidation ? crossValidateL2(trainX, trainY, grid, spec.crossValidation, maxIterations) : undefined;
  for (const c of cv ?? []) log(`${spec.name}: l2=${c.l2} cross-validated AUC ${c.meanAuc.toFixed(4)} ± ${c.sdAuc.toFixed(4)} (${c.foldAucs.length} folds)`);

  // L2 by validation AUC, or by cross-validated AUC when asked (ties: the stronger)
  const aucByL2: Record<string, number> = {};
  let best: { model: LogisticModel; score: number; cv: L2CrossValidation | undefined } | undefined;
  grid.forEach((l2, g) => {
    const model = fitLogistic(trainX, trainY, { l2, maxIterations });
    const auc = rocAuc(validationY, predictProbabilities(model.raw, validationX));
    aucByL2[String(l2)] = round(auc);
    log(`${spec.name}: l2=${l2} validation AUC ${auc.toFixed(4)} (${model.iterations} Newton steps${model.converged ? "" : ", NOT converged"})`);
    const score = cv ? cv[g]!.meanAuc : auc;
    if (!best || score >= best.score) best = { model, score, cv: cv?.[g] };
  });
  if (!best) throw new TrainingError(`${spec.name}: empty l2 grid`);
  const { model, cv: chosenCv } = best;
  if (!model.converged) throw new TrainingError(`${spec.name}: Newton did not converge with l2=${model.l2}`);

  const validationP = predictProbabilities(model.raw, validationX);
  // out of fold: every repetition's scores, each row's label once per repetition
  const { threshold } = chosenCv
    ? bestF1Threshold(Uint8Array.from({ length: chosenCv.outOfFold.length }, (_, i) => trainY[i % trainY.length]!), chosenCv.outOfFold)
    : bestF1Threshold(validationY, validationP);
  const metrics = binaryMetrics(validationY, validationP, threshold);
  const trainAuc = rocAuc(trainY, predictProbabilities(model.raw, trainX));
  const prior = mean(trainY);
  const baseline = binaryMetrics(validationY, new Float64Array(validationY.length).fill(prior), 0.5);
  log(`${spec.name}: chose l2=${model.l2}; validation AUC ${metrics.auc.toFixed(4)}, F1 ${metrics.f1.toFixed(4)} at threshold ${threshold.toFixed(4)}`);

  const importance = featureImportance(model, validationX, columnAttribution(encoding.columns, features.map((f) => f.name)));

  const base = binaryCardBase(spec, { split, features, encoding }, { algorithm: "logistic_regression", outputName, threshold, rows: data.rows.length, now: options.now });
  const card: ModelCard = ModelCardSchema.parse({
    ...base,
    training: {
      ...base.training,
      hyperparameters: {
        l2: model.l2,
        l2_grid: spec.l2Grid,
        validation_auc_by_l2: aucByL2,
        ...(cv
          ? {
              selection: "l2 by mean cross-validated AUC on the training rows (ties → stronger); threshold by out-of-fold F1 of the training rows",
              cross_validation: {
                method: "stratified k-fold on the training rows, repeated with one fold assignment per seed",
                folds: spec.crossValidation!.folds,
                seeds: spec.crossValidation!.seeds,
                auc_by_l2: Object.fromEntries(cv.map((c) => [String(c.l2), round(c.meanAuc)])),
                auc_sd_by_l2: Object.fromEntries(cv.map((c) => [String(c.l2), round(c.sdAuc)])),
              },
            }
          : { selection: "l2 by validation AUC (ties → stronger); threshold by validation F1" }),
        validation_fraction: spec.split.validationFraction,
        optimizer: "Newton (IRLS) with backtracking line search, float64",
        newton_iterations: model.iterations,
        objective: "mean log loss + l2/2 · ||w||² on standardised columns; intercept not penalised",
        standardisation: "per column (x − mean) / sd on the training split, folded into the exported weights",
        one_hot: "full one-hot per category; unknown or missing-without-default category → all its columns 0",
      },
      notes: [
        spec.training.notes,
        `Validation AUC across the l2 grid ranged ${Math.min(...Object.values(aucByL2)).toFixed(4)}–${Math.max(...Object.values(aucByL2)).toFixed(4)}; differences under 0.005 are within noise at ${split.validation.length} validation rows.`,
        `Training-split AUC ${trainAuc.toFixed(4)}. The shipped model is the one fitted on the training split only, so the validation metrics describe exactly this artifact.`,
        chosenCv
          ? `L2 strength and threshold were chosen on the training rows only (cross-validated AUC at the chosen l2 ${chosenCv.meanAuc.toFixed(4)} ± ${chosenCv.sdAuc.toFixed(4)} over ${chosenCv.foldAucs.length} folds), so the validation metrics are not optimistic by selection.`
          : "L2 strength and threshold were chosen on the same validation split the metrics are measured on, so those metrics are slightly optimistic.",
        `Validation rows with a clipped or unknown value: ${validation.rowsWithWarnings}.`,
      ]
        .filter((s) => s !== "")
        .join(" "),
    },
    metrics: { validation: roundMetrics(metrics), baseline: roundMetrics(baseline) },
    feature_importance: importance,
    explainer: linearExplainer(model),
  });

  const onnx = exportLogisticRegression({
    inputName,
    outputName,
    weights: model.raw.weights,
    intercept: model.raw.intercept,
    graphName: spec.name,
    docString: `${spec.displayName} ${spec.version}: logistic regression; column 1 of "${outputName}" is P(${spec.classLabels[1]})`,
    metadata: { model: spec.name, version: spec.version },
  });

  const parity = parityFile(spec, typed, split.validation, validationP);
  return { card, onnx, parity };
}

/** The card's explainer of a fitted logistic regression: contributions on the raw encoded columns. */
export function linearExplainer(model: LogisticModel): LinearExplainer {
  return {
    kind: "linear",
    link: "logit",
    coefficients: [...model.raw.weights],
    intercept: model.raw.intercept,
    column_means: [...model.means],
    base_value: model.raw.intercept + dot(model.raw.weights, model.means),
  };
}

/**
 * Rebuilds the validation rows a card was measured on: same split (seed and fraction from the card),
 * features coerced with the card's own declarations.
 */
export function evaluationSetFor(card: ModelCard, data: LabelledRows): EvaluationSet {
  const fraction = card.training.hyperparameters["validation_fraction"];
  if (typeof fraction !== "number") throw new TrainingError(`${card.name}: card lacks hyperparameters.validation_fraction`);
  const { validation } = stratifiedSplit(data.labels, fraction, card.training.split.seed);
  return {
    features: validation.map((i) => coerceStringRow(card, data.rows[i]!)),
    labels: pick(data.labels, validation),
  };
}

function asMatrix(x: Float32Array, rows: number, cols: number): Matrix {
  return { data: x, rows, cols };
}

/**
 * Mean over rows of |Σ_{j ∈ feature} w_j (x_j − μ_j)|, per feature, largest first; a derived
 * column's term is shared between its source features as explanations share it.
 */
function featureImportance(model: LogisticModel, x: Matrix, attribution: ColumnAttribution): Record<string, number> {
  const names = attribution.features;
  const sums = new Float64Array(names.length);
  const terms = new Float64Array(x.cols);
  const perRow = new Float64Array(names.length);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) terms[j] = model.raw.weights[j]! * (x.data[i * x.cols + j]! - model.means[j]!);
    perRow.fill(0);
    attributeColumns(attribution, terms, perRow);
    for (let f = 0; f < names.length; f++) sums[f]! += Math.abs(perRow[f]!);
  }
  const entries = names.map((f, k) => [f, round(sums[k]! / x.rows)] as const).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries);
}

function parityFile(spec: BinaryLinearSpec, typed: readonly Record<string, unknown>[], validation: readonly number[], probabilities: Float64Array): ParityFile {
  const wanted = Math.min(spec.parityRows ?? 50, validation.length);
  const chosen = new Set<number>();
  // rows that exercise the defaults (an optional feature absent) first, then evenly spaced rows
  const optional = spec.features.filter((f) => !f.required).map((f) => f.name);
  for (let k = 0; k < validation.length && chosen.size < Math.min(5, wanted); k++) {
    if (optional.some((name) => !Object.hasOwn(typed[validation[k]!]!, name))) chosen.add(k);
  }
  const step = validation.length / wanted;
  for (let s = 0; s < wanted && chosen.size < wanted; s++) chosen.add(Math.floor(s * step));
  for (let k = 0; k < validation.length && chosen.size < wanted; k++) chosen.add(k);
  return {
    model: spec.name,
    version: spec.version,
    description: "Validation rows and the trainer's float64 probability for each; onnxruntime must agree within tolerance.",
    tolerance: PARITY_TOLERANCE,
    rows: [...chosen].sort((a, b) => a - b).map((k) => ({ features: typed[validation[k]!]!, probability: probabilities[k]! })),
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
