/**
 * L2-regularised logistic regression, fitted by Newton's method (IRLS) with a backtracking line
 * search on standardised columns. The objective is
 *
 *   f(w, b) = (1/n) Σ log(1 + exp(-ŷᵢ zᵢ)) + (l2 / 2) ‖w‖²,   zᵢ = b + Σⱼ wⱼ (xᵢⱼ − μⱼ) / σⱼ
 *
 * (the intercept is not penalised). It is strictly convex, so the optimum is unique and the fit is
 * fully deterministic: no random initialisation, no data order effects beyond float summation.
 * The standardisation is folded back into raw-scale weights, so the exported model takes the raw
 * encoded vector.
 */
import { choleskySolve } from "./linalg.ts";

/** Row-major dense matrix. */
export interface Matrix {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

export interface LogisticOptions {
  /** L2 strength on the standardised weights (per-row loss scale, as in the objective above) */
  l2: number;
  maxIterations?: number;
  /** stop when half the squared Newton decrement falls below this (default 1e-20: machine precision) */
  tolerance?: number;
}

export interface LinearWeights {
  weights: Float64Array;
  intercept: number;
}

export interface LogisticModel {
  /** weights on the raw encoded columns (standardisation folded in) */
  raw: LinearWeights;
  /** weights on the standardised columns, as fitted */
  standardised: LinearWeights;
  /** per-column training mean μ and scale σ (population standard deviation; 1 for constant columns) */
  means: Float64Array;
  scales: Float64Array;
  l2: number;
  iterations: number;
  converged: boolean;
  /** final value of the objective */
  objective: number;
}

/** half squared Newton decrement below which full steps are taken without a line search */
const LOCAL_REGION = 1e-10;

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + exp(z)) without overflow */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Column means and population standard deviations (σ = 1 where a column is constant). */
export function columnStats(x: Matrix): { means: Float64Array; scales: Float64Array } {
  const { rows, cols, data } = x;
  const means = new Float64Array(cols);
  const scales = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) means[j]! += data[i * cols + j]!;
  for (let j = 0; j < cols; j++) means[j]! /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const d = data[i * cols + j]! - means[j]!;
      scales[j]! += d * d;
    }
  }
  for (let j = 0; j < cols; j++) {
    const sd = Math.sqrt(scales[j]! / rows);
    scales[j] = sd > 1e-12 ? sd : 1;
  }
  return { means, scales };
}

/** Raw-scale weights equivalent to standardised ones: wᵢ/σᵢ, and b − Σ wᵢ μᵢ / σᵢ. */
export function foldStandardisation(
  standardised: LinearWeights,
  means: Float64Array,
  scales: Float64Array,
): LinearWeights {
  const weights = new Float64Array(standardised.weights.length);
  let intercept = standardised.intercept;
  for (let j = 0; j < weights.length; j++) {
    weights[j] = standardised.weights[j]! / scales[j]!;
    intercept -= weights[j]! * means[j]!;
  }
  return { weights, intercept };
}

export function fitLogistic(x: Matrix, y: ArrayLike<number>, options: LogisticOptions): LogisticModel {
  const { rows: n, cols: d } = x;
  if (y.length !== n) throw new RangeError(`fitLogistic: ${n} rows but ${y.length} labels`);
  if (n === 0) throw new RangeError("fitLogistic: no rows");
  const l2 = options.l2;
  if (!(l2 >= 0)) throw new RangeError(`fitLogistic: l2 must be >= 0, got ${l2}`);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-20;

  const { means, scales } = columnStats(x);
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) z[i * d + j] = (x.data[i * d + j]! - means[j]!) / scales[j]!;
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i]!;
    if (label !== 0 && label !== 1) throw new RangeError(`fitLogistic: label ${i} is ${label}, expected 0 or 1`);
    positives += label;
  }

  // θ = [w₀ … w_{d−1}, b]; start from the prior log-odds
  const size = d + 1;
  let theta = new Float64Array(size);
  const prior = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  theta[d] = Math.log(prior / (1 - prior));

  const scores = new Float64Array(n);
  const objective = (t: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let s = t[d]!;
      for (let j = 0; j < d; j++) s += t[j]! * z[i * d + j]!;
      scores[i] = s;
      // −log p(yᵢ) = softplus(s) − yᵢ s
      loss += softplus(s) - y[i]! * s;
    }
    let penalty = 0;
    for (let j = 0; j < d; j++) penalty += t[j]! * t[j]!;
    return loss / n + 0.5 * l2 * penalty;
  };

  let value = objective(theta);
  let iterations = 0;
  let converged = false;
  let previousDecrement = Infinity;
  const gradient = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  while (iterations < maxIterations) {
    iterations++;
    gradient.fill(0);
    hessian.fill(0);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(scores[i]!);
      const residual = p - y[i]!;
      const weight = p * (1 - p);
      const row = i * d;
      for (let j = 0; j < d; j++) {
        const zij = z[row + j]!;
        gradient[j]! += residual * zij;
        const wz = weight * zij;
        const hrow = j * size;
        for (let k = 0; k <= j; k++) hessian[hrow + k]! += wz * z[row + k]!;
        hessian[d * size + j]! += wz;
      }
      gradient[d]! += residual;
      hessian[d * size + d]! += weight;
    }
    for (let j = 0; j < size; j++) {
      gradient[j]! /= n;
      for (let k = 0; k <= j; k++) hessian[j * size + k]! /= n;
    }
    for (let j = 0; j < d; j++) {
      gradient[j]! += l2 * theta[j]!;
      hessian[j * size + j]! += l2;
    }
    // a tiny ridge keeps the factorisation safe when l2 = 0 and columns are collinear
    for (let j = 0; j < size; j++) hessian[j * size + j]! += 1e-12;

    const step = choleskySolve(hessian, gradient, size);
    let decrement = 0;
    for (let j = 0; j < size; j++) decrement += gradient[j]! * step[j]!;
    if (decrement / 2 < tolerance) {
      converged = true;
      break;
    }
    if (decrement / 2 < LOCAL_REGION) {
      // Quadratic convergence region: full Newton steps, no line search (objective differences are
      // now below float resolution, so Armijo tests would be noise). Stop once steps stop helping.
      if (decrement >= previousDecrement) {
        converged = true;
        break;
      }
      previousDecrement = decrement;
      for (let j = 0; j < size; j++) theta[j]! -= step[j]!;
      value = objective(theta);
      continue;
    }
    let t = 1;
    const next = new Float64Array(size);
    let nextValue = Infinity;
    for (let halvings = 0; halvings < 50; halvings++) {
      for (let j = 0; j < size; j++) next[j] = theta[j]! - t * step[j]!;
      nextValue = objective(next);
      if (nextValue <= value - 0.25 * t * decrement) break;
      t /= 2;
    }
    if (!(nextValue < value)) {
      // no further progress possible in floating point: the current point is the optimum
      converged = true;
      break;
    }
    theta = next;
    value = nextValue;
  }

  const standardised: LinearWeights = { weights: theta.slice(0, d), intercept: theta[d]! };
  return {
    raw: foldStandardisation(standardised, means, scales),
    standardised,
    means,
    scales,
    l2,
    iterations,
    converged,
    objective: value,
  };
}

/** Raw scores (log-odds) of each row of `x` under `weights`. */
export function predictLogits(weights: LinearWeights, x: Matrix): Float64Array {
  const { rows, cols, data } = x;
  if (weights.weights.length !== cols) throw new RangeError(`predict: ${cols} columns, ${weights.weights.length} weights`);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = weights.intercept;
    for (let j = 0; j < cols; j++) s += weights.weights[j]! * data[i * cols + j]!;
    out[i] = s;
  }
  return out;
}

/** Positive-class probabilities of each row of `x`. */
export function predictProbabilities(weights: LinearWeights, x: Matrix): Float64Array {
  const logits = predictLogits(weights, x);
  for (let i = 0; i < logits.length; i++) logits[i] = sigmoid(logits[i]!);
  return logits;
}
