/**
 * Repeated stratified k-fold cross-validation of L2 logistic regression on the training rows only,
 * so the L2 strength (and the threshold, from the out-of-fold scores) can be chosen without looking
 * at the validation split that the card's metrics are measured on.
 */
import { meanAndSd } from "./binary-data.ts";
import { assignFolds } from "./gbdt/cross-fit.ts";
import { fitLogistic, predictLogits, sigmoid, type Matrix } from "./logistic.ts";
import { rocAuc } from "./metrics.ts";

export interface CrossValidation {
  folds: number;
  /** one fold assignment per seed; the repetitions average out the luck of a single assignment */
  seeds: number[];
}

export interface L2CrossValidation {
  l2: number;
  /** mean and sample standard deviation of the per-fold AUCs (folds × seeds of them) */
  meanAuc: number;
  sdAuc: number;
  foldAucs: number[];
  /** out-of-fold P(1) of every training row, one block of `rows` per seed */
  outOfFold: Float64Array;
  /** the same scores as log-odds, which stay finite where a probability rounds to 0 or 1 */
  outOfFoldLogits: Float64Array;
}

/** Cross-validates every L2 strength of `grid` on the same folds. */
export function crossValidateL2(x: Matrix, y: Uint8Array, grid: readonly number[], cv: CrossValidation, maxIterations: number): L2CrossValidation[] {
  const assignments = cv.seeds.map((seed) => assignFolds(y, cv.folds, seed, true));
  const parts = assignments.flatMap((fold) =>
    Array.from({ length: cv.folds }, (_, k) => {
      const fit: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < x.rows; i++) (fold[i] === k ? held : fit).push(i);
      return { fit: rowsOf(x, fit), fitY: Uint8Array.from(fit, (i) => y[i]!), held, heldX: rowsOf(x, held), heldY: Uint8Array.from(held, (i) => y[i]!) };
    }),
  );
  return grid.map((l2) => {
    const outOfFold = new Float64Array(x.rows * cv.seeds.length);
    const outOfFoldLogits = new Float64Array(x.rows * cv.seeds.length);
    const foldAucs = parts.map((part, p) => {
      const model = fitLogistic(part.fit, part.fitY, { l2, maxIterations });
      const logits = predictLogits(model.raw, part.heldX);
      const probabilities = logits.map(sigmoid);
      const offset = Math.floor(p / cv.folds) * x.rows;
      part.held.forEach((row, k) => {
        outOfFold[offset + row] = probabilities[k]!;
        outOfFoldLogits[offset + row] = logits[k]!;
      });
      return rocAuc(part.heldY, probabilities);
    });
    const { mean: meanAuc, sd: sdAuc } = meanAndSd(foldAucs);
    return { l2, meanAuc, sdAuc, foldAucs, outOfFold, outOfFoldLogits };
  });
}

function rowsOf(x: Matrix, rows: readonly number[]): Matrix {
  const data = new Float64Array(rows.length * x.cols);
  rows.forEach((r, k) => data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), k * x.cols));
  return { data, rows: rows.length, cols: x.cols };
}
