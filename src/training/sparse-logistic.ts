/**
 * L2-regularised logistic regression for wide, sparse inputs (text: thousands of TF-IDF columns,
 * a few dozen non-zero per row). Same model family as `logistic.ts`, with two differences that
 * text needs:
 *
 * - The solver is truncated Newton (Newton–CG): each step solves H s = g by conjugate gradients
 *   using Hessian–vector products (two passes over the non-zeros), never forming the d × d Hessian.
 *   `fitLogistic` forms and factorises it, O(n d² + d³): minutes to hours at d ≈ 4,000.
 * - Columns are NOT standardised. With standardisation a rare term (tiny σ) is penalised far less
 *   than a common one and ends up with a huge raw weight; for TF-IDF the usual and better prior is
 *   one penalty on the raw weights.
 *
 * Objective (intercept not penalised), strictly convex, so the optimum is unique and the fit is
 * deterministic:
 *
 *   f(w, b) = (1/n) Σ log(1 + exp(-ŷᵢ zᵢ)) + (l2 / 2) ‖w‖²,   zᵢ = b + Σⱼ wⱼ xᵢⱼ
 */
import { sigmoid, type LinearWeights } from "./logistic.ts";

/** Compressed sparse rows: row i's entries are `indices/values[indptr[i] .. indptr[i+1])`. */
export interface SparseRows {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  rows: number;
  cols: number;
}

/** Builds CSR rows from dense row-major data (e.g. encoder output), keeping the non-zeros. */
export function sparseFromDense(data: ArrayLike<number>, rows: number, cols: number): SparseRows {
  const indptr = new Int32Array(rows + 1);
  let nnz = 0;
  for (let i = 0; i < rows * cols; i++) if (data[i] !== 0) nnz++;
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let k = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j]!;
      if (v !== 0) {
        indices[k] = j;
        values[k++] = v;
      }
    }
    indptr[i + 1] = k;
  }
  return { indptr, indices, values, rows, cols };
}

/** Stacks CSR blocks with the same number of columns. */
export function concatSparse(blocks: readonly SparseRows[]): SparseRows {
  const cols = blocks[0]?.cols ?? 0;
  const rows = blocks.reduce((s, b) => s + b.rows, 0);
  const nnz = blocks.reduce((s, b) => s + b.values.length, 0);
  const out: SparseRows = { indptr: new Int32Array(rows + 1), indices: new Int32Array(nnz), values: new Float64Array(nnz), rows, cols };
  let r = 0;
  let k = 0;
  for (const b of blocks) {
    if (b.cols !== cols) throw new RangeError(`concatSparse: ${b.cols} columns, expected ${cols}`);
    out.indices.set(b.indices, k);
    out.values.set(b.values, k);
    for (let i = 1; i <= b.rows; i++) out.indptr[r + i] = k + b.indptr[i]!;
    r += b.rows;
    k += b.values.length;
  }
  return out;
}

/** The rows of `x` at `indices`, in that order. */
export function selectRows(x: SparseRows, indices: readonly number[]): SparseRows {
  let nnz = 0;
  for (const i of indices) nnz += x.indptr[i + 1]! - x.indptr[i]!;
  const out: SparseRows = { indptr: new Int32Array(indices.length + 1), indices: new Int32Array(nnz), values: new Float64Array(nnz), rows: indices.length, cols: x.cols };
  let k = 0;
  indices.forEach((i, r) => {
    const start = x.indptr[i]!;
    const end = x.indptr[i + 1]!;
    out.indices.set(x.indices.subarray(start, end), k);
    out.values.set(x.values.subarray(start, end), k);
    k += end - start;
    out.indptr[r + 1] = k;
  });
  return out;
}

export interface SparseLogisticOptions {
  /** L2 strength on the raw weights (per-row loss scale, as in the objective above) */
  l2: number;
  /** Newton steps (default 100) */
  maxIterations?: number;
  /** stop when the gradient's max-norm falls below this (default 1e-10) */
  tolerance?: number;
}

export interface SparseLogisticModel {
  raw: LinearWeights;
  /** per-column mean over the fitted rows (for the linear explainer) */
  means: Float64Array;
  l2: number;
  iterations: number;
  converged: boolean;
  objective: number;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Raw scores b + w·x of each row. */
export function sparseLogits(weights: LinearWeights, x: SparseRows): Float64Array {
  if (weights.weights.length !== x.cols) throw new RangeError(`sparseLogits: ${x.cols} columns, ${weights.weights.length} weights`);
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let s = weights.intercept;
    for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) s += weights.weights[x.indices[k]!]! * x.values[k]!;
    out[i] = s;
  }
  return out;
}

export function sparseProbabilities(weights: LinearWeights, x: SparseRows): Float64Array {
  const z = sparseLogits(weights, x);
  for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]!);
  return z;
}

export function fitSparseLogistic(x: SparseRows, y: ArrayLike<number>, options: SparseLogisticOptions): SparseLogisticModel {
  const { rows: n, cols: d, indptr, indices, values } = x;
  if (y.length !== n) throw new RangeError(`fitSparseLogistic: ${n} rows but ${y.length} labels`);
  if (n === 0) throw new RangeError("fitSparseLogistic: no rows");
  const l2 = options.l2;
  if (!(l2 > 0)) throw new RangeError(`fitSparseLogistic: l2 must be > 0 (the problem is separable without it), got ${l2}`);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-10;

  let positives = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i]!;
    if (label !== 0 && label !== 1) throw new RangeError(`fitSparseLogistic: label ${i} is ${label}, expected 0 or 1`);
    positives += label;
  }
  const means = new Float64Array(d);
  for (let k = 0; k < values.length; k++) means[indices[k]!]! += values[k]!;
  for (let j = 0; j < d; j++) means[j]! /= n;

  // θ = [w₀ … w_{d−1}, b]; start from the prior log-odds
  const size = d + 1;
  let theta = new Float64Array(size);
  const prior = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  theta[d] = Math.log(prior / (1 - prior));

  const scores = new Float64Array(n);
  const margins = (t: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = t[d]!;
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) s += t[indices[k]!]! * values[k]!;
      out[i] = s;
    }
  };
  const objectiveAt = (t: Float64Array, z: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) loss += softplus(z[i]!) - y[i]! * z[i]!;
    let penalty = 0;
    for (let j = 0; j < d; j++) penalty += t[j]! * t[j]!;
    return loss / n + 0.5 * l2 * penalty;
  };

  margins(theta, scores);
  let value = objectiveAt(theta, scores);
  const gradient = new Float64Array(size);
  const curvature = new Float64Array(n);
  const hv = (v: Float64Array, out: Float64Array) => {
    out.fill(0);
    for (let i = 0; i < n; i++) {
      let s = v[d]!;
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) s += v[indices[k]!]! * values[k]!;
      s *= curvature[i]!;
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) out[indices[k]!]! += s * values[k]!;
      out[d]! += s;
    }
    for (let j = 0; j < size; j++) out[j]! /= n;
    for (let j = 0; j < d; j++) out[j]! += l2 * v[j]!;
    out[d]! += 1e-12 * v[d]!; // the intercept is unpenalised; a tiny ridge keeps CG well defined
  };

  let iterations = 0;
  let converged = false;
  const step = new Float64Array(size);
  const residual = new Float64Array(size);
  const direction = new Float64Array(size);
  const hd = new Float64Array(size);
  const next = new Float64Array(size);
  const nextScores = new Float64Array(n);
  while (iterations < maxIterations) {
    gradient.fill(0);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(scores[i]!);
      const r = p - y[i]!;
      curvature[i] = p * (1 - p);
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) gradient[indices[k]!]! += r * values[k]!;
      gradient[d]! += r;
    }
    let gmax = 0;
    let gg = 0;
    for (let j = 0; j < size; j++) {
      gradient[j]! /= n;
      if (j < d) gradient[j]! += l2 * theta[j]!;
      gmax = Math.max(gmax, Math.abs(gradient[j]!));
      gg += gradient[j]! * gradient[j]!;
    }
    if (gmax < tolerance) {
      converged = true;
      break;
    }
    iterations++;

    // conjugate gradients on H s = g, to a relative residual of min(0.1, √‖g‖) (Eisenstat–Walker)
    step.fill(0);
    residual.set(gradient);
    direction.set(gradient);
    let rr = gg;
    const target = Math.min(0.1, Math.sqrt(Math.sqrt(gg))) ** 2 * gg;
    for (let c = 0; c < size && rr > target; c++) {
      hv(direction, hd);
      let dhd = 0;
      for (let j = 0; j < size; j++) dhd += direction[j]! * hd[j]!;
      const alpha = rr / dhd;
      let rrNext = 0;
      for (let j = 0; j < size; j++) {
        step[j]! += alpha * direction[j]!;
        residual[j]! -= alpha * hd[j]!;
        rrNext += residual[j]! * residual[j]!;
      }
      const beta = rrNext / rr;
      rr = rrNext;
      for (let j = 0; j < size; j++) direction[j] = residual[j]! + beta * direction[j]!;
    }

    // backtracking (Armijo) line search along −step
    let decrement = 0;
    for (let j = 0; j < size; j++) decrement += gradient[j]! * step[j]!;
    let t = 1;
    let nextValue = Infinity;
    for (let halvings = 0; halvings < 50; halvings++) {
      for (let j = 0; j < size; j++) next[j] = theta[j]! - t * step[j]!;
      margins(next, nextScores);
      nextValue = objectiveAt(next, nextScores);
      if (nextValue <= value - 1e-4 * t * decrement) break;
      t /= 2;
    }
    if (!(nextValue <= value)) {
      // no further progress in floating point: the current point is the optimum
      converged = true;
      break;
    }
    theta = Float64Array.from(next);
    scores.set(nextScores);
    value = nextValue;
  }
  return { raw: { weights: theta.slice(0, d), intercept: theta[d]! }, means, l2, iterations, converged, objective: value };
}
