/**
 * The whole recipe for a binary gradient-boosted-trees model, shared by every dataset that wants one:
 *
 *   seeded stratified split (train / validation) → feature ranges and defaults from the training rows
 *   → the serving encoder (one-hot categories; the trees split on the encoded float32 vector)
 *   → for each parameter set of a small grid: K-fold cross-fitted boosting on the training rows
 *     (member k fits the other folds and early-stops on fold k; the model averages the members);
 *     the set with the best out-of-fold AUC (or log loss) wins
 *   → threshold by validation F1, or (`threshold: "out_of_fold"`) by the out-of-fold F1 of the
 *     training rows → metrics, TreeSHAP importances and the tree explainer
 *   → ONNX TreeEnsembleClassifier, checked against onnxruntime on every validation row
 *   → card and parity rows.
 *
 * The validation rows never fit, stop or choose a model: they only set the threshold (unless it is
 * chosen out of fold) and measure. `derived` columns (products, differences, ratios of numeric
 * features, card.ts) are appended to the encoding; callers still send only the features.
 */
import { ModelCardSchema, type ModelCard, type TreeArrays, type TreeExplainer } from "../../models/card.ts";
import type { Encoder } from "../../models/encode.ts";
import { attributeColumns, columnAttribution, type ColumnAttribution } from "../../models/explain.ts";
import { loadOnnxSession, runBatch } from "../../models/onnx-runtime.ts";
import { createTreeShap, type TreeShapExplainer } from "../../models/tree-shap.ts";
import { binaryCardBase, mean, meanAndSd, prepareBinaryData, round, roundMetrics, type BinaryCardSpec, type TrainOptions } from "../binary-data.ts";
import { bestF1Threshold, binaryMetrics, rocAuc, type BinaryMetrics } from "../metrics.ts";
import { TrainingError, type LabelledRows, type ParityFile, type TrainedModel } from "../trainer.ts";
import { exportTreeClassifier } from "../tree-onnx-export.ts";
import { sigmoid, type GbdtData, type GbdtParams } from "./booster.ts";
import { fitCrossFitted, type CrossFitResult } from "./cross-fit.ts";
import { predict, treeDepth, type Tree, type TreeEnsemble } from "./tree.ts";

export interface BinaryGbdtSpec extends BinaryCardSpec {
  inputName?: string;
  outputName?: string;
  /** parameters shared by every grid entry (objective is always binary log loss) */
  params: Partial<GbdtParams>;
  /** the parameter sets tried, each merged over `params`; ties go to the earlier entry */
  grid: Partial<GbdtParams>[];
  /** how the grid winner is chosen, on the out-of-fold scores of the training rows */
  selectBy?: "auc" | "log_loss";
  /**
   * where the F1-maximising threshold is found: on the validation rows (the default), or on the
   * training rows' out-of-fold scores, which leaves the validation rows untouched by any choice
   */
  threshold?: "validation" | "out_of_fold";
  /** cross-fitting: number of folds (members) and the fold assignment's seed */
  crossFit: { folds: number; seed: number };
  /**
   * further fold seeds: the chosen parameter set is cross-fitted again on each (same fold count) and
   * the card reports the mean ± sd of the per-fold AUCs over every assignment, crossFit's included,
   * so the cross-validated estimate does not rest on one lucky or unlucky fold assignment
   */
  repeatedCrossFit?: { seeds: number[] };
  /** validation rows written to parity.json */
  parityRows?: number;
}

/** Largest allowed |onnxruntime − trainer| per probability, in parity.json and at training. */
export const PARITY_TOLERANCE = 1e-5;

export async function trainBinaryGbdt(spec: BinaryGbdtSpec, data: LabelledRows, options: TrainOptions = {}): Promise<TrainedModel> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const inputName = spec.inputName ?? "features";
  const outputName = spec.outputName ?? "probabilities";
  if (spec.grid.length === 0) throw new TrainingError(`${spec.name}: empty parameter grid`);
  const { split, typed, features, encoding, encoder, train: trainX, validation: validationX, trainY, validationY } = prepareBinaryData(spec, data, inputName, log);
  const width = encoder.width;

  const trainData: GbdtData = { x: trainX.x, rows: split.train.length, cols: width, y: trainY };
  const validationData: GbdtData = { x: validationX.x, rows: split.validation.length, cols: width, y: validationY };

  const selectBy = spec.selectBy ?? "auc";
  const { folds } = spec.crossFit;
  const tried: Record<string, unknown>[] = [];
  let best: { fit: CrossFitResult; score: number; index: number; oof: BinaryMetrics } | undefined;
  spec.grid.forEach((entry, index) => {
    const t0 = performance.now();
    const fit = fitCrossFitted(trainData, { ...spec.params, ...entry, objective: "binary_logloss" }, folds, spec.crossFit.seed);
    const oof = binaryMetrics(trainY, Array.from(fit.outOfFold, sigmoid), 0.5);
    const score = selectBy === "auc" ? oof.auc : -oof.log_loss;
    const trees = fit.members.map((m) => m.bestRounds);
    tried.push({ ...snakeCase(entry), member_trees: trees, out_of_fold_auc: round(oof.auc), out_of_fold_log_loss: round(oof.log_loss) });
    log(
      `${spec.name}: grid ${index + 1}/${spec.grid.length} ${JSON.stringify(entry)}: ${folds} members of ${trees.join("/")} trees, ` +
        `out-of-fold AUC ${oof.auc.toFixed(4)}, log loss ${oof.log_loss.toFixed(4)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (!best || score > best.score) best = { fit, score, index, oof };
  });
  const chosen = best!;
  const { fit } = chosen;
  const model = fit.model;
  const validationP = predict(model, validationData.x, validationData.rows);

  const repeated = spec.repeatedCrossFit ? repeatCrossFit(trainData, chosen.fit, spec.repeatedCrossFit.seeds, spec.crossFit.seed) : undefined;
  if (repeated) {
    log(`${spec.name}: chosen set over ${repeated.seeds.length} fold assignments: AUC ${repeated.mean.toFixed(4)} ± ${repeated.sd.toFixed(4)} (${repeated.foldAucs.length} folds)`);
  }

  const thresholdBy = spec.threshold ?? "validation";
  const { threshold } =
    thresholdBy === "out_of_fold" ? bestF1Threshold(trainY, Array.from(fit.outOfFold, sigmoid)) : bestF1Threshold(validationY, validationP);
  const metrics = binaryMetrics(validationY, validationP, threshold);
  const trainAuc = rocAuc(trainY, predict(model, trainData.x, trainData.rows));
  const prior = mean(trainY);
  const baseline = binaryMetrics(validationY, new Float64Array(validationY.length).fill(prior), 0.5);
  log(`${spec.name}: chose grid entry ${chosen.index + 1}; validation AUC ${metrics.auc.toFixed(4)}, F1 ${metrics.f1.toFixed(4)} at threshold ${threshold.toFixed(4)}`);

  // explanations: exact TreeSHAP per validation row, summed per feature
  const shap = createTreeShap(model.trees, width);
  const importance = shapImportance(shap, validationData, columnAttribution(encoding.columns, features.map((f) => f.name)));

  const onnx = exportTreeClassifier({
    model,
    inputName,
    outputName,
    graphName: spec.name,
    docString: `${spec.displayName} ${spec.version}: gradient-boosted trees (${model.trees.length}); column 1 of "${outputName}" is P(${spec.classLabels[1]})`,
    metadata: { model: spec.name, version: spec.version },
  });
  const served = { encoding, outputs: { score_output: outputName, probability_index: 1 } };
  const runtime = await runtimeParity(spec.name, onnx, served, validationData, validationP, threshold, log);

  const p = fit.members[0]!.params;
  const depths = model.trees.map(treeDepth);
  const base = binaryCardBase(spec, { split, features, encoding }, { algorithm: "gradient_boosted_trees", outputName, threshold, rows: data.rows.length, now: options.now });
  const card: ModelCard = ModelCardSchema.parse({
    ...base,
    training: {
      ...base.training,
      hyperparameters: {
        objective: "binary log loss (second-order boosting), raw score = log-odds",
        n_trees: model.trees.length,
        member_trees: fit.members.map((m) => m.bestRounds),
        rounds_run: fit.members.map((m) => m.roundsRun),
        max_trees: p.maxTrees,
        learning_rate: p.learningRate,
        max_depth: p.maxDepth,
        max_leaves: p.maxLeaves,
        deepest_leaf: Math.max(0, ...depths),
        min_child_weight: p.minChildWeight,
        min_samples_leaf: p.minSamplesLeaf,
        l2: p.l2,
        min_split_gain: p.minSplitGain,
        subsample: p.subsample,
        colsample: p.colsample,
        max_bins: p.maxBins,
        seed: `${fit.members.map((m) => m.params.seed).join(", ")} (one per member)`,
        base_score: model.baseScore,
        cross_fit: {
          folds,
          fold_seed: spec.crossFit.seed,
          method: "stratified K-fold of the training rows; member k fits the other folds, early-stops on fold k; model = mean of members' raw scores (leaf values ÷ K)",
          out_of_fold_auc: round(chosen.oof.auc),
          out_of_fold_log_loss: round(chosen.oof.log_loss),
          ...(repeated
            ? {
                repeated: {
                  method: "the chosen parameter set cross-fitted once per fold seed; AUC of each member's held-out fold",
                  fold_seeds: repeated.seeds,
                  fold_aucs: repeated.foldAucs.map((a) => round(a)),
                  mean_auc: round(repeated.mean),
                  sd_auc: round(repeated.sd),
                },
              }
            : {}),
        },
        early_stopping: {
          metric: "log loss on the member's held-out fold",
          rounds: p.earlyStoppingRounds,
          best_log_loss_by_member: fit.members.map((m) => round(m.bestValidationLoss)),
        },
        grid: tried,
        selection: `parameter set by out-of-fold ${selectBy === "auc" ? "AUC" : "log loss"} on the training rows (ties → earlier entry); threshold by ${thresholdBy === "out_of_fold" ? "out-of-fold F1 on the training rows" : "validation F1"}`,
        validation_fraction: spec.split.validationFraction,
        binning:
          p.uniformBinShare === 0
            ? `quantile bins per encoded column (≤ ${p.maxBins - 1} value bins + 1 missing), float32 thresholds, x ≤ threshold goes left`
            : `per encoded column ≤ ${p.maxBins - 1} value bins, ${Math.round(p.uniformBinShare * 100)} % cut at equal widths over the column's range and the rest at quantiles (+ 1 missing), float32 thresholds, x ≤ threshold goes left`,
        one_hot: "full one-hot per category; unknown or missing-without-default category → all its columns 0",
        implementation: "Tidecast's own histogram GBDT (src/training/gbdt), float64 gradients, float32 leaf values",
      },
      notes: [
        spec.training.notes,
        `${folds} cross-fitted members on the ${split.train.length} training rows (out-of-fold AUC ${chosen.oof.auc.toFixed(4)}); the parameter set was chosen among ${spec.grid.length} by out-of-fold ${selectBy === "auc" ? "AUC" : "log loss"}. ` +
          (thresholdBy === "out_of_fold"
            ? `The threshold maximises F1 on the training rows' out-of-fold scores, so the ${split.validation.length} validation rows chose nothing and every validation metric is an untouched estimate.`
            : `The ${split.validation.length} validation rows chose only the threshold (so F1, precision, recall and accuracy are slightly optimistic) and measured everything else untouched.`),
        repeated
          ? `Cross-validated AUC of the chosen parameter set over ${repeated.seeds.length} fold assignments: ${repeated.mean.toFixed(4)} ± ${repeated.sd.toFixed(4)} (mean ± sd of ${repeated.foldAucs.length} folds).`
          : "",
        `Training-rows AUC of the shipped ensemble ${trainAuc.toFixed(4)} (each row was seen by ${folds - 1} of the ${folds} members).`,
        `onnxruntime reproduces the trainer on all ${validationData.rows} validation rows within ${runtime.worst.toExponential(1)} (${runtime.flipped} thresholded decisions differ).`,
        `Validation rows with a clipped or unknown value: ${validationX.rowsWithWarnings}.`,
        "Feature importance is the mean |TreeSHAP| contribution (log-odds) per feature over the validation rows.",
      ]
        .filter((s) => s !== "")
        .join(" "),
    },
    metrics: { validation: roundMetrics(metrics), baseline: roundMetrics(baseline) },
    feature_importance: importance,
    explainer: treeExplainer(model, shap),
  });

  const parity = parityFile(spec, typed, split.validation, validationP, encoder, (x) => predict(model, x, 1)[0]!);
  log(`${spec.name}: trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { card, onnx, parity };
}

/**
 * Per-fold AUCs of the chosen parameter set over its own fold assignment and one more per seed; each
 * fold's AUC is of the member that early-stopped on it (the out-of-fold scores), as in selection.
 */
function repeatCrossFit(
  data: GbdtData,
  chosen: CrossFitResult,
  seeds: readonly number[],
  firstSeed: number,
): { seeds: number[]; foldAucs: number[]; mean: number; sd: number } {
  // member k ran with the shared seed + k, so member 0's parameters are exactly the shared ones
  const params = chosen.members[0]!.params;
  const folds = chosen.members.length;
  const fits = [chosen, ...seeds.map((seed) => fitCrossFitted(data, params, folds, seed))];
  const foldAucs = fits.flatMap((fit) =>
    Array.from({ length: folds }, (_, k) => {
      const labels: number[] = [];
      const scores: number[] = [];
      for (let i = 0; i < data.rows; i++) {
        if (fit.fold[i] !== k) continue;
        labels.push(data.y[i]!);
        scores.push(fit.outOfFold[i]!);
      }
      return rocAuc(labels, scores);
    }),
  );
  return { seeds: [firstSeed, ...seeds], foldAucs, ...meanAndSd(foldAucs) };
}

/**
 * Shortest decimal spelling that reads back (through Math.fround) as the same float32, so cards
 * store "0.5" and "29.475" rather than their 17-digit float64 expansions.
 */
export function float32Text(v: number): number {
  if (!Number.isFinite(v) || Math.fround(v) !== v) throw new RangeError(`${v} is not a float32 value`);
  for (let digits = 1; digits < 10; digits++) {
    const shorter = Number(v.toPrecision(digits));
    if (Math.fround(shorter) === v) return shorter;
  }
  return v;
}

/** The card's explainer of a binary log-loss ensemble; `shap` is TreeSHAP compiled from its trees. */
export function treeExplainer(model: TreeEnsemble, shap: TreeShapExplainer): TreeExplainer {
  return { kind: "tree", link: "logit", base_score: model.baseScore, base_value: model.baseScore + shap.expectedValue, trees: model.trees.map(cardTree) };
}

/** A trainer tree in the card's compact form. */
export function cardTree(tree: Tree): TreeArrays {
  const out: TreeArrays = {
    feature: Array.from(tree.feature),
    threshold: Array.from(tree.threshold, float32Text),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    value: Array.from(tree.value, float32Text),
    cover: Array.from(tree.cover),
  };
  if (tree.missingLeft.some((m) => m === 1)) out.missing_left = Array.from(tree.missingLeft, (m) => (m === 1 ? 1 : 0));
  return out;
}


/**
 * Mean over rows of |Σ_{columns of the feature} φ|, per feature, largest first; a derived column's
 * φ is shared between its source features as serving's explanations share it (explain.ts).
 */
function shapImportance(shap: TreeShapExplainer, data: GbdtData, attribution: ColumnAttribution): Record<string, number> {
  const names = attribution.features;
  const sums = new Float64Array(names.length);
  const perFeature = new Float64Array(names.length);
  const phi = new Float64Array(data.cols);
  for (let r = 0; r < data.rows; r++) {
    phi.fill(0);
    perFeature.fill(0);
    shap.explainRow(data.x, r * data.cols, phi);
    attributeColumns(attribution, phi, perFeature);
    for (let f = 0; f < names.length; f++) sums[f]! += Math.abs(perFeature[f]!);
  }
  const entries = names.map((n, f) => [n, round(sums[f]! / data.rows)] as const).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries);
}

/**
 * Scores the validation rows with onnxruntime: the largest |Δp| and how many decisions flip, logged;
 * throws when a probability differs by more than PARITY_TOLERANCE.
 */
export async function runtimeParity(
  name: string,
  onnx: Uint8Array,
  card: Pick<ModelCard, "encoding" | "outputs">,
  data: GbdtData,
  trainer: Float64Array,
  threshold: number,
  log: (line: string) => void,
): Promise<{ worst: number; flipped: number }> {
  const session = await loadOnnxSession(onnx, card);
  let worst = 0;
  let flipped = 0;
  try {
    const scores = await runBatch(session, card, data.x, data.rows);
    for (let i = 0; i < data.rows; i++) {
      worst = Math.max(worst, Math.abs(scores[i]! - trainer[i]!));
      if (scores[i]! >= threshold !== trainer[i]! >= threshold) flipped++;
    }
  } finally {
    await session.release();
  }
  log(`${name}: onnxruntime on ${data.rows} validation rows: max |Δp| ${worst.toExponential(2)}, ${flipped} decisions differ`);
  if (worst > PARITY_TOLERANCE) throw new TrainingError(`${name}: onnxruntime differs from the trainer by ${worst} (> ${PARITY_TOLERANCE}) on validation rows`);
  return { worst, flipped };
}

/**
 * Evenly spaced validation rows with the trainer's probability, preferring rows with an absent
 * optional feature; when the data has none, a few rows are added with their optional features
 * removed, so the encoder's defaults are checked against onnxruntime too.
 */
export function parityFile(
  spec: Pick<BinaryGbdtSpec, "name" | "version" | "features" | "parityRows">,
  typed: readonly Record<string, unknown>[],
  validation: readonly number[],
  probabilities: Float64Array,
  encoder: Encoder,
  probability: (x: Float32Array) => number,
): ParityFile {
  const wanted = Math.min(spec.parityRows ?? 50, validation.length);
  const chosen = new Set<number>();
  const optional = spec.features.filter((f) => !f.required).map((f) => f.name);
  for (let k = 0; k < validation.length && chosen.size < Math.min(5, wanted); k++) {
    if (optional.some((name) => !Object.hasOwn(typed[validation[k]!]!, name))) chosen.add(k);
  }
  const natural = chosen.size;
  const step = validation.length / wanted;
  for (let s = 0; s < wanted && chosen.size < wanted; s++) chosen.add(Math.floor(s * step));
  for (let k = 0; k < validation.length && chosen.size < wanted; k++) chosen.add(k);
  const rows = [...chosen].sort((a, b) => a - b).map((k) => ({ features: typed[validation[k]!]!, probability: probabilities[k]! }));
  if (natural === 0 && optional.length > 0) {
    const x = new Float32Array(encoder.width);
    for (const row of rows.slice(0, 5)) {
      const features = Object.fromEntries(Object.entries(row.features).filter(([name]) => !optional.includes(name)));
      const outcome = encoder.encodeInto(features, x, 0);
      if (!outcome.ok) throw new TrainingError(`${spec.name}: a parity row without its optional features does not encode`);
      rows.push({ features, probability: probability(x) });
    }
  }
  return {
    model: spec.name,
    version: spec.version,
    description:
      "Validation rows (and, last, some of them without their optional features) with the trainer's float64 probability " +
      "for each; onnxruntime must agree within tolerance.",
    tolerance: PARITY_TOLERANCE,
    rows,
  };
}

/** `{ maxDepth: 4 }` → `{ max_depth: 4 }`, as the card spells hyperparameters. */
export function snakeCase(params: Partial<GbdtParams>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]));
}
