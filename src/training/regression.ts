/**
 * Ordinary least squares on derived terms of the inputs (a linear model can still use tv × radio or
 * log1p(tv)), with OLS prediction intervals:
 *
 *   z = (t(x) − μ) / σ            the terms, standardised on the training rows
 *   ŷ = b + wᵀz                   b = mean(y) because the columns of Z are centred
 *   h = 1/n + zᵀ (ZᵀZ)⁻¹ z        leverage of a new point
 *   ŷ ± t_{(1+level)/2, n−p−1} · s · sqrt(1 + h),   s² = RSS / (n − p − 1)
 *
 * The normal equations on standardised columns are small (p ≤ 10) and well conditioned; they are
 * solved by Cholesky (`linalg.ts`). The exporter (`regression-onnx.ts`) builds the same arithmetic
 * from the same numbers.
 */
import { choleskySolve } from "./linalg.ts";
import { mulberry32, shuffle } from "./split.ts";

/** A derived term of named numeric inputs. */
export type Term =
  | { kind: "input"; feature: string }
  | { kind: "product"; a: string; b: string }
  | { kind: "log1p"; feature: string }
  | { kind: "sqrt"; feature: string }
  | { kind: "square"; feature: string };

export function termName(t: Term): string {
  switch (t.kind) {
    case "input":
      return t.feature;
    case "product":
      return `${t.a}*${t.b}`;
    case "log1p":
      return `log1p(${t.feature})`;
    case "sqrt":
      return `sqrt(${t.feature})`;
    case "square":
      return `${t.feature}^2`;
  }
}

/** The features a term reads. */
export function termFeatures(t: Term): string[] {
  return t.kind === "product" ? [t.a, t.b] : [t.feature];
}

export function termValue(t: Term, row: Readonly<Record<string, number>>): number {
  const v = (name: string) => {
    const x = row[name];
    if (typeof x !== "number" || !Number.isFinite(x)) throw new RangeError(`term ${termName(t)}: ${name} is ${x}`);
    return x;
  };
  switch (t.kind) {
    case "input":
      return v(t.feature);
    case "product":
      return v(t.a) * v(t.b);
    case "log1p":
      return Math.log1p(v(t.feature));
    case "sqrt":
      return Math.sqrt(Math.max(0, v(t.feature)));
    case "square":
      return v(t.feature) ** 2;
  }
}

export interface OlsFit {
  terms: Term[];
  /** per term, training mean and population sd (1 for a constant term) */
  means: number[];
  scales: number[];
  /** on the standardised terms */
  weights: number[];
  intercept: number;
  /** (ZᵀZ)⁻¹, row-major p × p, for the leverage */
  inverseGram: number[];
  n: number;
  /** residual degrees of freedom, n − p − 1 */
  df: number;
  /** sqrt(RSS / df) */
  residualSd: number;
}

export function designRow(terms: readonly Term[], row: Readonly<Record<string, number>>): number[] {
  return terms.map((t) => termValue(t, row));
}

export function fitOls(terms: readonly Term[], rows: readonly Readonly<Record<string, number>>[], y: readonly number[]): OlsFit {
  const n = rows.length;
  const p = terms.length;
  if (n !== y.length) throw new RangeError(`${n} rows but ${y.length} targets`);
  if (n <= p + 1) throw new RangeError(`${n} rows cannot fit ${p} terms and an intercept with residual degrees of freedom`);
  const raw = rows.map((r) => designRow(terms, r));
  const means = terms.map((_, j) => raw.reduce((a, x) => a + x[j]!, 0) / n);
  const scales = terms.map((_, j) => {
    const sd = Math.sqrt(raw.reduce((a, x) => a + (x[j]! - means[j]!) ** 2, 0) / n);
    return sd > 1e-12 ? sd : 1;
  });
  const z = raw.map((x) => x.map((v, j) => (v - means[j]!) / scales[j]!));
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const gram = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  z.forEach((row, i) => {
    for (let a = 0; a < p; a++) {
      rhs[a]! += row[a]! * (y[i]! - yMean);
      for (let b = 0; b < p; b++) gram[a * p + b]! += row[a]! * row[b]!;
    }
  });
  const weights = [...choleskySolve(gram, rhs, p)];
  const inverseGram = new Array<number>(p * p);
  for (let c = 0; c < p; c++) {
    const unit = new Float64Array(p);
    unit[c] = 1;
    const column = choleskySolve(gram, unit, p);
    for (let r = 0; r < p; r++) inverseGram[r * p + c] = column[r]!;
  }
  let rss = 0;
  z.forEach((row, i) => (rss += (y[i]! - (yMean + dot(weights, row))) ** 2));
  const df = n - p - 1;
  return { terms: [...terms], means, scales, weights, intercept: yMean, inverseGram, n, df, residualSd: Math.sqrt(rss / df) };
}

/** The standardised terms of one row. */
export function standardise(fit: OlsFit, row: Readonly<Record<string, number>>): number[] {
  return designRow(fit.terms, row).map((v, j) => (v - fit.means[j]!) / fit.scales[j]!);
}

export function predictOls(fit: OlsFit, row: Readonly<Record<string, number>>): number {
  return fit.intercept + dot(fit.weights, standardise(fit, row));
}

/** ŷ and its prediction interval with multiplier `t` (the Student t quantile of the level). */
export function predictInterval(fit: OlsFit, row: Readonly<Record<string, number>>, t: number): { value: number; lower: number; upper: number } {
  const z = standardise(fit, row);
  const p = z.length;
  let leverage = 1 / fit.n;
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) leverage += z[a]! * fit.inverseGram[a * p + b]! * z[b]!;
  const value = fit.intercept + dot(fit.weights, z);
  const half = t * fit.residualSd * Math.sqrt(1 + leverage);
  return { value, lower: value - half, upper: value + half };
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
  rows: number;
}

export function regressionMetrics(y: readonly number[], predicted: readonly number[]): RegressionMetrics {
  if (y.length !== predicted.length || y.length === 0) throw new RangeError(`${y.length} targets, ${predicted.length} predictions`);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  y.forEach((v, i) => {
    sse += (v - predicted[i]!) ** 2;
    sae += Math.abs(v - predicted[i]!);
    sst += (v - mean) ** 2;
  });
  return { rmse: Math.sqrt(sse / y.length), mae: sae / y.length, r2: sst > 0 ? 1 - sse / sst : 0, rows: y.length };
}

/** Seeded random split of `count` row indices: `round(fraction × count)` go to validation. */
export function randomSplit(count: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${fraction}`);
  const order = shuffle(Array.from({ length: count }, (_, i) => i), mulberry32(seed));
  const cut = Math.round(count * fraction);
  return { validation: order.slice(0, cut).sort((a, b) => a - b), train: order.slice(cut).sort((a, b) => a - b) };
}

/**
 * k-fold cross-validation of an OLS term set: out-of-fold predictions for every row (folds by a
 * seeded shuffle), their RMSE, how often the fold model's t interval covered the row, and each row's
 * studentised residual |y − ŷ| / (s · sqrt(1 + h)) — the interval multiplier that would just cover
 * it, from which `conformalMultiplier` calibrates the interval.
 */
export function crossValidate(
  terms: readonly Term[],
  rows: readonly Readonly<Record<string, number>>[],
  y: readonly number[],
  folds: number,
  seed: number,
  level: number,
): { rmse: number; coverage: number; residuals: number[]; studentised: number[] } {
  const order = shuffle(Array.from({ length: rows.length }, (_, i) => i), mulberry32(seed));
  const fold = new Int32Array(rows.length);
  order.forEach((row, k) => (fold[row] = k % folds));
  const residuals = new Array<number>(rows.length);
  const studentised = new Array<number>(rows.length);
  let covered = 0;
  for (let f = 0; f < folds; f++) {
    const train = order.filter((i) => fold[i] !== f);
    const fit = fitOls(terms, train.map((i) => rows[i]!), train.map((i) => y[i]!));
    const t = studentTQuantile((1 + level) / 2, fit.df);
    for (let i = 0; i < rows.length; i++) {
      if (fold[i] !== f) continue;
      const r = predictInterval(fit, rows[i]!, t);
      residuals[i] = y[i]! - r.value;
      studentised[i] = (Math.abs(residuals[i]!) * t) / (r.upper - r.value);
      if (y[i]! >= r.lower && y[i]! <= r.upper) covered++;
    }
  }
  return { rmse: Math.sqrt(residuals.reduce((a, e) => a + e * e, 0) / rows.length), coverage: covered / rows.length, residuals, studentised };
}

/**
 * Split-conformal calibration of the interval multiplier: the ⌈(n + 1) · level⌉-th smallest
 * studentised out-of-fold residual, so that about `level` of new rows fall inside
 * ŷ ± multiplier · s · sqrt(1 + h) without assuming normal errors (Lei et al. 2018, with
 * cross-validation residuals in place of a separate calibration set).
 */
export function conformalMultiplier(studentised: readonly number[], level: number): number {
  const sorted = [...studentised].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.ceil((sorted.length + 1) * level));
  return sorted[rank - 1]!;
}

/** Quantile `p` of Student's t with `df` degrees of freedom (bisection on the CDF, |error| < 1e-10). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile(${p}, ${df})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** P(T ≤ t) for Student's t: 1 − I_{df/(df+t²)}(df/2, 1/2) / 2 for t ≥ 0. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** I_x(a, b) by the continued fraction of Numerical Recipes (modified Lentz). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x > (a + 1) / (a + b + 2)) return 1 - (front * betaFraction(1 - x, b, a)) / b;
  return (front * betaFraction(x, a, b)) / a;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    for (const numerator of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + numerator * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
function logGamma(x: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let a = g[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += g[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
