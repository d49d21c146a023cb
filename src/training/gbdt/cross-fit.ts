/**
 * Cross-fitted boosting: the training rows are cut into K folds; member k is boosted on the other
 * K − 1 folds and early-stopped on fold k, and the model is the average of the K members' raw scores.
 *
 * Every training row is used to fit (K − 1 members) and, once, to decide early stopping, with no
 * row ever stopping the member that fits it; averaging K members also lowers the variance of a
 * single boosted model. The average is itself one tree ensemble (all members' trees with leaf
 * values ÷ K, exact in float32 for K a power of two), so it exports and explains like any other.
 * Each member's predictions on its own fold are out-of-fold scores for the whole training set: a
 * cross-validated estimate that never looks at the validation split.
 */
import { mulberry32, shuffle, stratifiedSplit } from "../split.ts";
import { fitGbdt, type FitResult, type GbdtData, type GbdtParams } from "./booster.ts";
import { predictRaw, type TreeEnsemble } from "./tree.ts";

export interface CrossFitResult {
  /** the averaged ensemble */
  model: TreeEnsemble;
  members: FitResult[];
  /** fold of each training row */
  fold: Int32Array;
  /** each row's raw score from the member that did not fit it */
  outOfFold: Float64Array;
}

/**
 * Seeded fold assignment: stratified by label for 0/1 targets (each fold keeps the label balance),
 * a plain shuffle otherwise.
 */
export function assignFolds(y: ArrayLike<number>, folds: number, seed: number, stratified: boolean): Int32Array {
  if (!Number.isInteger(folds) || folds < 2 || folds > y.length) throw new RangeError(`folds must be an integer in [2, ${y.length}], got ${folds}`);
  const fold = new Int32Array(y.length);
  if (!stratified) {
    const order = shuffle(Array.from({ length: y.length }, (_, i) => i), mulberry32(seed));
    order.forEach((row, k) => (fold[row] = k % folds));
    return fold;
  }
  // peel off 1/folds, 1/(folds − 1), ... of what is left, each a stratified split
  let rest = Array.from({ length: y.length }, (_, i) => i);
  for (let f = 0; f < folds - 1; f++) {
    const labels = Uint8Array.from(rest, (i) => y[i]!);
    const split = stratifiedSplit(labels, 1 / (folds - f), seed + f);
    for (const k of split.validation) fold[rest[k]!] = f;
    rest = split.train.map((k) => rest[k]!);
  }
  for (const i of rest) fold[i] = folds - 1;
  return fold;
}

/** The given rows of `data`, packed in that order. */
export function rowsOf(data: GbdtData, rows: readonly number[]): GbdtData {
  const { cols } = data;
  const x = new Float32Array(rows.length * cols);
  const y = new Float64Array(rows.length);
  rows.forEach((r, k) => {
    x.set(data.x.subarray(r * cols, (r + 1) * cols), k * cols);
    y[k] = data.y[r]!;
  });
  return { x, rows: rows.length, cols, y };
}

/**
 * Fits `folds` members (member k with seed `params.seed + k`) and returns their average.
 * @param foldSeed seed of the fold assignment
 */
export function fitCrossFitted(data: GbdtData, params: Partial<GbdtParams>, folds: number, foldSeed: number): CrossFitResult {
  const binary = (params.objective ?? "binary_logloss") === "binary_logloss";
  const fold = assignFolds(data.y, folds, foldSeed, binary);
  const members: FitResult[] = [];
  const outOfFold = new Float64Array(data.rows);
  for (let k = 0; k < folds; k++) {
    const fit: number[] = [];
    const stop: number[] = [];
    for (let i = 0; i < data.rows; i++) (fold[i] === k ? stop : fit).push(i);
    const stopData = rowsOf(data, stop);
    const member = fitGbdt(rowsOf(data, fit), { ...params, seed: (params.seed ?? 1) + k }, stopData);
    members.push(member);
    const raw = predictRaw(member.model, stopData.x, stopData.rows);
    stop.forEach((row, j) => (outOfFold[row] = raw[j]!));
  }
  return { model: averageEnsembles(members.map((m) => m.model)), members, fold, outOfFold };
}

/** One ensemble whose raw score is the mean of the given ensembles' raw scores. */
export function averageEnsembles(models: readonly TreeEnsemble[]): TreeEnsemble {
  const first = models[0];
  if (!first) throw new RangeError("averageEnsembles: no models");
  const k = models.length;
  const trees = models.flatMap((m) => {
    if (m.objective !== first.objective || m.columns !== first.columns) throw new RangeError("averageEnsembles: models differ in objective or columns");
    return m.trees.map((t) => ({ ...t, value: t.value.map((v) => Math.fround(v / k)) }));
  });
  const baseScore = models.reduce((sum, m) => sum + m.baseScore, 0) / k;
  return { objective: first.objective, baseScore, trees, columns: first.columns };
}
