/**
 * Seeded random draws for the synthetic generators, all from one mulberry32 stream so a seed gives
 * the same rows on every machine. Each helper consumes a fixed number of uniforms per call (noted),
 * so adding a column at the end of a generator does not change the earlier columns.
 */
import { mulberry32 } from "../split.ts";

export interface Random {
  /** uniform in [0, 1): 1 draw */
  uniform(): number;
  /** standard normal (Box–Muller, one value per pair of uniforms): 2 draws */
  normal(): number;
  /** true with probability p: 1 draw */
  bernoulli(p: number): boolean;
  /** Poisson(λ) by inversion of the CDF from one uniform (exact for any λ up to ~700): 1 draw */
  poisson(lambda: number): number;
  /** one of `values` with the given weights (need not sum to 1): 1 draw */
  choice<T>(values: readonly T[], weights: readonly number[]): T;
}

export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    uniform: next,
    normal() {
      const u = 1 - next(); // (0, 1]: log is finite
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    bernoulli(p) {
      return next() < p;
    },
    poisson(lambda) {
      if (!(lambda >= 0)) throw new RangeError(`poisson: λ must be ≥ 0, got ${lambda}`);
      const u = next();
      let k = 0;
      let p = Math.exp(-lambda);
      let cdf = p;
      while (u > cdf && k < 10_000) {
        k++;
        p *= lambda / k;
        cdf += p;
      }
      return k;
    },
    choice(values, weights) {
      const total = weights.reduce((s, w) => s + w, 0);
      let u = next() * total;
      for (let i = 0; i < values.length; i++) {
        u -= weights[i]!;
        if (u < 0) return values[i]!;
      }
      return values[values.length - 1]!;
    },
  };
}

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** `x` rounded to `decimals` places, as a number. */
export const roundTo = (x: number, decimals: number): number => Number(x.toFixed(decimals));

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * One documented effect on the conversion log-odds. `coefficient` is used by the generator's code
 * itself (the table below is not a copy), so the card's description cannot drift from the data.
 */
export interface Effect {
  /** the feature (or latent variable) it acts through */
  feature: string;
  /** the exact term added to the log-odds, e.g. "0.55 × ln(budget / 25,000)" */
  term: string;
  coefficient: number;
}

/** What a generator states about itself, copied into the card (`training.hyperparameters.synthetic_generator`). */
export interface GeneratorDescription {
  generator: string;
  version: string;
  seed: number;
  rows: number;
  /** P(label 1) over the generated rows */
  positive_rate: number;
  /** how each input is drawn */
  inputs: Record<string, string>;
  /** log-odds = intercept + Σ effects + noise */
  intercept: number;
  effects: Effect[];
  /** features generated but with no direct effect on conversion (correlated through latents, or pure noise) */
  no_direct_effect: string[];
  noise: string;
  missingness: string;
}

/** One paragraph for a card's notes. */
export function describeGenerator(d: GeneratorDescription): string {
  const effects = d.effects.map((e) => e.term).join(" + ");
  return (
    `SYNTHETIC DATA: ${d.rows} rows drawn by ${d.generator} ${d.version} (seed ${d.seed}); no real lead is in them. ` +
    `Conversion is Bernoulli(sigmoid(z)) with z = ${d.intercept} + ${effects}; ${d.noise} ` +
    `Generated positive rate ${(100 * d.positive_rate).toFixed(1)}%. ` +
    (d.no_direct_effect.length > 0 ? `No direct effect on conversion: ${d.no_direct_effect.join(", ")}. ` : "") +
    `Missing values: ${d.missingness} The metrics say how well the model recovers this generator's structure, not how it will do on real leads.`
  );
}
