/**
 * A binary classifier that blends an L2 logistic regression and cross-fitted gradient-boosted trees
 * in log-odds: logit = w · (linear logit) + (1 − w) · (trees' raw score), on one encoded vector.
 *
 * The two families err differently (the linear model extrapolates smoothly in tenure-like columns,
 * the trees catch interactions), so the blend can rank better than either. Every choice is made by
 * repeated k-fold cross-validation on the training rows, never on the validation split:
 *
 *   for each fold assignment (one per seed) and fold: the logistic regression at every L2 strength,
 *   and the cross-fitted trees of every tree grid entry, fitted on the other folds and scored on the
 *   held-out fold
 *   → L2 strength by the linear model's mean fold AUC (ties → stronger)
 *   → tree grid entry and blend weight w together by the blend's mean fold AUC (ties → earlier)
 *   → threshold by the best F1 of the blended out-of-fold scores
 *   → both models refitted on all training rows → validation metrics, ONNX, parity, explainer.
 *
 * Explanations are exact in the same sense as each member's: Shapley values are linear in the
 * model, so a column's contribution is w × its linear contribution + (1 − w) × its TreeSHAP value.
 */
import { ModelCardSchema, type BlendExplainer, type ModelCard } from "../models/card.ts";
import { createExplainer } from "../models/explain.ts";
import { createTreeShap } from "../models/tree-shap.ts";
import { binaryCardBase, mean, meanAndSd, prepareBinaryData, round, roundMetrics, type BinaryCardSpec, type TrainOptions } from "./binary-data.ts";
import { linearExplainer } from "./binary-linear.ts";
import { parityFile, runtimeParity, snakeCase, treeExplainer } from "./gbdt/binary-recipe.ts";
import { assignFolds, fitCrossFitted, rowsOf } from "./gbdt/cross-fit.ts";
import { predictRaw } from "./gbdt/tree.ts";
import type { GbdtData, GbdtParams } from "./gbdt/booster.ts";
import { crossValidateL2, type CrossValidation } from "./linear-cv.ts";
import { fitLogistic, predictLogits, sigmoid, type Matrix } from "./logistic.ts";
import { bestF1Threshold, binaryMetrics, rocAuc } from "./metrics.ts";
import { exportBlendClassifier } from "./tree-onnx-export.ts";
import { TrainingError, type LabelledRows, type TrainedModel } from "./trainer.ts";

export interface BinaryBlendSpec extends BinaryCardSpec {
  inputName?: string;
  outputName?: string;
  linear: { l2Grid: number[]; maxIterations?: number };
  /**
   * boosting parameters shared by every tree grid entry (objective is always binary log loss), the
   * entries tried (each merged over `params`), and the cross-fitting of the shipped trees
   */
  trees: { params: Partial<GbdtParams>; grid: Partial<GbdtParams>[]; folds: number; seed: number };
  /**
   * the outer folds every choice is made on; inside each, the trees are cross-fitted with the same
   * fold count as the shipped ones and fold seed = outer seed + 1
   */
  crossValidation: CrossValidation;
  /** weights of the linear model to try (the trees get 1 − w); must hold 0 and 1, the members alone */
  linearWeights: number[];
  /** validation rows written to parity.json */
  parityRows?: number;
}

interface WeightScore {
  /** index into the tree grid */
  entry: number;
  weight: number;
  foldAucs: number[];
  meanAuc: number;
  sdAuc: number;
}

export async function trainBinaryBlend(spec: BinaryBlendSpec, data: LabelledRows, options: TrainOptions = {}): Promise<TrainedModel> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const inputName = spec.inputName ?? "features";
  const outputName = spec.outputName ?? "probabilities";
  if (!spec.linearWeights.includes(0) || !spec.linearWeights.includes(1) || spec.linearWeights.some((w) => !(w >= 0 && w <= 1))) {
    throw new TrainingError(`${spec.name}: linearWeights must lie in [0, 1] and hold 0 and 1`);
  }
  const { split, typed, features, encoding, encoder, train, validation, trainY, validationY } = prepareBinaryData(spec, data, inputName, log);
  const width = encoder.width;
  const rows = split.train.length;
  const trainMatrix: Matrix = { data: train.x, rows, cols: width };
  const validationMatrix: Matrix = { data: validation.x, rows: split.validation.length, cols: width };
  const trainData: GbdtData = { x: train.x, rows, cols: width, y: trainY };
  const validationData: GbdtData = { x: validation.x, rows: split.validation.length, cols: width, y: validationY };
  if (spec.trees.grid.length === 0) throw new TrainingError(`${spec.name}: empty tree grid`);
  const treeParams = spec.trees.grid.map((entry): Partial<GbdtParams> => ({ ...spec.trees.params, ...entry, objective: "binary_logloss" }));
  const maxIterations = spec.linear.maxIterations ?? 100;
  const cv = spec.crossValidation;

  // the linear member: every L2 strength on the outer folds, the best mean fold AUC wins (ties → stronger)
  const l2Grid = [...spec.linear.l2Grid].sort((a, b) => a - b);
  const linearCv = crossValidateL2(trainMatrix, trainY, l2Grid, cv, maxIterations);
  const chosenLinear = linearCv.reduce((best, c) => (c.meanAuc >= best.meanAuc ? c : best));
  log(`${spec.name}: linear member l2=${chosenLinear.l2}, cross-validated AUC ${chosenLinear.meanAuc.toFixed(4)} ± ${chosenLinear.sdAuc.toFixed(4)}`);
  const linearOof = chosenLinear.outOfFoldLogits;

  // each tree grid entry on the same outer folds: out-of-fold raw scores, one block of `rows` per seed
  const folds = cv.seeds.map((seed) => assignFolds(trainY, cv.folds, seed, true));
  const treeOofs = treeParams.map((params, e) => {
    const t0 = performance.now();
    const oof = new Float64Array(rows * cv.seeds.length);
    const counts: number[] = [];
    folds.forEach((fold, s) => {
      for (let k = 0; k < cv.folds; k++) {
        const fit: number[] = [];
        const held: number[] = [];
        for (let i = 0; i < rows; i++) (fold[i] === k ? held : fit).push(i);
        const member = fitCrossFitted(rowsOf(trainData, fit), params, spec.trees.folds, cv.seeds[s]! + 1);
        counts.push(member.model.trees.length);
        const raw = predictRaw(member.model, rowsOf(trainData, held).x, held.length);
        held.forEach((row, j) => (oof[s * rows + row] = raw[j]!));
      }
    });
    log(`${spec.name}: tree grid ${e + 1}/${treeParams.length} ${JSON.stringify(spec.trees.grid[e])} on ${counts.length} outer folds (mean ${Math.round(mean(counts))} trees) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return oof;
  });

  const blendOf = (w: number, linear: number, trees: number) => w * linear + (1 - w) * trees;
  const scores: WeightScore[] = treeOofs.flatMap((treeOof, entry) =>
    spec.linearWeights.map((weight) => {
      const foldAucs = folds.flatMap((fold, s) =>
        Array.from({ length: cv.folds }, (_, k) => {
          const labels: number[] = [];
          const blended: number[] = [];
          for (let i = 0; i < rows; i++) {
            if (fold[i] !== k) continue;
            labels.push(trainY[i]!);
            blended.push(blendOf(weight, linearOof[s * rows + i]!, treeOof[s * rows + i]!));
          }
          return rocAuc(labels, blended);
        }),
      );
      const { mean: meanAuc, sd: sdAuc } = meanAndSd(foldAucs);
      log(`${spec.name}: tree grid ${entry + 1}, linear weight ${weight}: cross-validated AUC ${meanAuc.toFixed(4)} ± ${sdAuc.toFixed(4)}`);
      return { entry, weight, foldAucs, meanAuc, sdAuc };
    }),
  );
  const chosen = scores.reduce((best, s) => (s.meanAuc > best.meanAuc ? s : best));
  const w = chosen.weight;
  const treeOof = treeOofs[chosen.entry]!;
  const ofEntry = scores.filter((s) => s.entry === chosen.entry);
  const alone = { linear: ofEntry.find((s) => s.weight === 1)!, trees: ofEntry.find((s) => s.weight === 0)! };
  const betterFolds = (than: WeightScore) => chosen.foldAucs.filter((a, i) => a > than.foldAucs[i]!).length;

  const oofProbabilities = Float64Array.from(linearOof, (l, i) => sigmoid(blendOf(w, l, treeOof[i]!)));
  const { threshold } = bestF1Threshold(Uint8Array.from({ length: oofProbabilities.length }, (_, i) => trainY[i % rows]!), oofProbabilities);

  // the shipped members, refitted on every training row
  const linear = fitLogistic(trainMatrix, trainY, { l2: chosenLinear.l2, maxIterations });
  if (!linear.converged) throw new TrainingError(`${spec.name}: Newton did not converge with l2=${linear.l2}`);
  const trees = fitCrossFitted(trainData, treeParams[chosen.entry]!, spec.trees.folds, spec.trees.seed);
  const model = trees.model;
  const blendedProbabilities = (x: Matrix): Float64Array => {
    const linearLogits = predictLogits(linear.raw, x);
    const treeRaw = predictRaw(model, x.data, x.rows);
    return Float64Array.from(linearLogits, (l, i) => sigmoid(blendOf(w, l, treeRaw[i]!)));
  };
  const validationP = blendedProbabilities(validationMatrix);
  const metrics = binaryMetrics(validationY, validationP, threshold);
  const trainAuc = rocAuc(trainY, blendedProbabilities(trainMatrix));
  const baseline = binaryMetrics(validationY, new Float64Array(validationY.length).fill(mean(trainY)), 0.5);
  log(`${spec.name}: linear weight ${w}; validation AUC ${metrics.auc.toFixed(4)}, F1 ${metrics.f1.toFixed(4)} at threshold ${threshold.toFixed(4)}`);

  const members = [
    { weight: w, explainer: linearExplainer(linear) },
    { weight: 1 - w, explainer: treeExplainer(model, createTreeShap(model.trees, width)) },
  ];
  const explainer: BlendExplainer = {
    kind: "blend",
    link: "logit",
    base_value: members.reduce((sum, m) => sum + m.weight * m.explainer.base_value, 0),
    members,
  };
  const importance = meanAbsContributions({ encoding, explainer }, validation.x, validationData.rows);

  const onnx = exportBlendClassifier({
    model,
    linear: linear.raw,
    linearWeight: w,
    treeWeight: 1 - w,
    inputName,
    outputName,
    graphName: spec.name,
    docString: `${spec.displayName} ${spec.version}: logistic regression and gradient-boosted trees (${model.trees.length}) blended in log-odds; column 1 of "${outputName}" is P(${spec.classLabels[1]})`,
    metadata: { model: spec.name, version: spec.version },
  });
  const served = { encoding, outputs: { score_output: outputName, probability_index: 1 } };
  const runtime = await runtimeParity(spec.name, onnx, served, validationData, validationP, threshold, log);

  const p = trees.members[0]!.params;
  const folded = (s: WeightScore) => ({ mean_auc: round(s.meanAuc), sd_auc: round(s.sdAuc) });
  const base = binaryCardBase(spec, { split, features, encoding }, { algorithm: "logistic_regression_and_gradient_boosted_trees_blend", outputName, threshold, rows: data.rows.length, now: options.now });
  const card: ModelCard = ModelCardSchema.parse({
    ...base,
    training: {
      ...base.training,
      hyperparameters: {
        blend: "log-odds = linear_weight × linear logit + (1 − linear_weight) × trees' raw score",
        linear_weight: w,
        linear_weight_grid: spec.linearWeights,
        tree_grid: spec.trees.grid.map(snakeCase),
        tree_grid_entry: chosen.entry,
        selection:
          "l2 by the linear model's mean cross-validated AUC (ties → stronger); tree grid entry and linear_weight together by the blend's mean cross-validated AUC (ties → earlier); threshold by the best F1 of the blended out-of-fold scores; all on the training rows",
        cross_validation: {
          method: "stratified k-fold on the training rows, repeated with one fold assignment per seed; inside each, the trees are cross-fitted with fold seed = seed + 1",
          folds: cv.folds,
          seeds: cv.seeds,
          auc_by_tree_entry_and_linear_weight: treeParams.map((_, e) => Object.fromEntries(scores.filter((s) => s.entry === e).map((s) => [String(s.weight), folded(s)]))),
          linear_auc_by_l2: Object.fromEntries(linearCv.map((c) => [String(c.l2), round(c.meanAuc)])),
          chosen_fold_aucs: chosen.foldAucs.map((a) => round(a)),
          folds_better_than_linear_alone: betterFolds(alone.linear),
          folds_better_than_its_trees_alone: betterFolds(alone.trees),
        },
        validation_fraction: spec.split.validationFraction,
        linear: {
          l2: linear.l2,
          l2_grid: spec.linear.l2Grid,
          optimizer: "Newton (IRLS) with backtracking line search, float64",
          newton_iterations: linear.iterations,
          objective: "mean log loss + l2/2 · ||w||² on standardised columns; intercept not penalised",
        },
        trees: {
          objective: "binary log loss (second-order boosting), raw score = log-odds",
          n_trees: model.trees.length,
          member_trees: trees.members.map((m) => m.bestRounds),
          cross_fit: { folds: spec.trees.folds, fold_seed: spec.trees.seed, method: "member k fits the other folds and early-stops on fold k; model = mean of members' raw scores" },
          max_trees: p.maxTrees,
          early_stopping_rounds: p.earlyStoppingRounds,
          learning_rate: p.learningRate,
          max_depth: p.maxDepth,
          max_leaves: p.maxLeaves,
          min_samples_leaf: p.minSamplesLeaf,
          l2: p.l2,
          subsample: p.subsample,
          colsample: p.colsample,
          max_bins: p.maxBins,
          seed: `${trees.members.map((m) => m.params.seed).join(", ")} (one per member)`,
          base_score: model.baseScore,
          implementation: "Tidecast's own histogram GBDT (src/training/gbdt), float64 gradients, float32 leaf values",
        },
        one_hot: "full one-hot per category; unknown or missing-without-default category → all its columns 0",
      },
      notes: [
        spec.training.notes,
        `Cross-validated AUC over ${chosen.foldAucs.length} folds of the ${rows} training rows: blend ${chosen.meanAuc.toFixed(4)} ± ${chosen.sdAuc.toFixed(4)} at linear weight ${w}, ` +
          `with tree grid entry ${chosen.entry + 1} of ${treeParams.length}; linear alone ${alone.linear.meanAuc.toFixed(4)}, those trees alone ${alone.trees.meanAuc.toFixed(4)}; the blend was better than the linear model on ${betterFolds(alone.linear)} of the folds and than the trees on ${betterFolds(alone.trees)}.`,
        `Every choice was made on the training rows, so the ${split.validation.length} validation rows chose nothing and every validation metric is an untouched estimate.`,
        `Training-rows AUC of the shipped blend ${trainAuc.toFixed(4)}.`,
        `onnxruntime reproduces the trainer on all ${validationData.rows} validation rows within ${runtime.worst.toExponential(1)} (${runtime.flipped} thresholded decisions differ).`,
        `Validation rows with a clipped or unknown value: ${validation.rowsWithWarnings}.`,
        "Feature importance is the mean |blended contribution| (log-odds) per feature over the validation rows.",
      ].join(" "),
    },
    metrics: { validation: roundMetrics(metrics), baseline: roundMetrics(baseline) },
    feature_importance: importance,
    explainer,
  });

  const parity = parityFile(spec, typed, split.validation, validationP, encoder, (x) => blendedProbabilities({ data: x, rows: 1, cols: width })[0]!);
  log(`${spec.name}: trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { card, onnx, parity };
}

/** Mean over rows of |contribution| per feature, with serving's own explainer; largest first. */
function meanAbsContributions(card: Pick<ModelCard, "encoding" | "explainer">, x: Float32Array, rows: number): Record<string, number> {
  const explain = createExplainer(card)!;
  const sums = new Map<string, number>();
  const width = card.encoding.columns.length;
  for (let r = 0; r < rows; r++) {
    for (const { feature, contribution } of explain(x, r * width)) sums.set(feature, (sums.get(feature) ?? 0) + Math.abs(contribution));
  }
  return Object.fromEntries([...sums].map(([f, s]) => [f, round(s / rows)] as const).sort((a, b) => b[1] - a[1]));
}
