/**
 * Synthetic leads for seed 000's `lead_scoring` model (7 inputs). No public dataset has these
 * fields with outcomes, so this seeded generator stands in; every number that shapes the data is a
 * named constant below, and `describeLeadScoringGenerator` renders the same constants into the card.
 *
 * Causal structure (one row = one lead):
 *
 *   intent u ~ N(0, 1)                              — latent buying intent, never observed
 *   company_size ~ {1-10: 30%, 11-50: 30%, 51-200: 20%, 201-1000: 12%, 1000+: 8%}
 *   budget = median(size) × exp(0.8 ε₁ + 0.25 u), rounded to $100 (≥ $500)
 *            medians $8k, $25k, $60k, $150k, $400k by size
 *   industry_score    = clamp(5.5 + 2.0 ε₂, 1, 10)                 (1 decimal)
 *   engagement_score  = clamp(5.5 + 1.6 u + 1.2 ε₃, 1, 10)          — driven by intent
 *   demographic_score = clamp(5.5 + 0.4 (size index − 2) + 1.8 ε₄, 1, 10)
 *   behavioral_score  = clamp(5.0 + 1.3 u + 1.5 ε₅, 1, 10)          — driven by intent
 *   source_score      = clamp(5.5 + 2.2 ε₆, 1, 10)
 *
 *   converted ~ Bernoulli(sigmoid(z)),
 *   z = INTERCEPT + 0.6 ln(budget / 25,000) + size effect (−0.5, 0, +0.4, +0.55, +0.3)
 *       + 0.25 (industry − 5.5) + 0.30 (engagement − 5.5) + 0.12 (demographic − 5.5)
 *       + 0.25 (behavioral − 5.5) + 0.10 (source − 5.5) + 0.5 u
 *
 * So budget (on a log scale), engagement, behaviour and industry drive conversion most; mid-market
 * companies convert best; intent acts both through the engagement scores and directly (the part a
 * model cannot see). The optional scores are missing completely at random (15%, 20%, 25%, 30%);
 * conversion depends on their true values, so a missing score is genuinely lost information.
 */
import { clamp, createRandom, roundTo, sigmoid, type Effect, type GeneratorDescription } from "./random.ts";

export const LEAD_SCORING_GENERATOR = "tidecast synthetic/lead-scoring";
export const LEAD_SCORING_GENERATOR_VERSION = "1";

export const COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"] as const;
const SIZE_SHARE = [0.3, 0.3, 0.2, 0.12, 0.08];
const SIZE_BUDGET_MEDIAN = [8_000, 25_000, 60_000, 150_000, 400_000];
const SIZE_EFFECT = [-0.5, 0, 0.4, 0.55, 0.3];

/** log-odds intercept, set so that about 15% of leads convert */
export const LEAD_SCORING_INTERCEPT = -2.8;
const BUDGET_PIVOT = 25_000;
const EFFECT = {
  budget: 0.6,
  industry: 0.25,
  engagement: 0.3,
  demographic: 0.12,
  behavioral: 0.25,
  source: 0.1,
  intent: 0.5,
} as const;

/** share of rows where each optional score is blank */
const MISSING = { engagement_score: 0.15, demographic_score: 0.2, behavioral_score: 0.25, source_score: 0.3 } as const;

export interface GeneratedLeads {
  /** CSV-like string rows; a blank string is a missing optional value */
  rows: Record<string, string>[];
  labels: Uint8Array;
  /** the generator's own P(convert) per row (with the latent intent): the ceiling any model can reach */
  trueProbability: Float64Array;
}

const score = (x: number) => roundTo(clamp(x, 1, 10), 1);

export function generateLeadScoring(n: number, seed: number): GeneratedLeads {
  const random = createRandom(seed);
  const rows: Record<string, string>[] = [];
  const labels = new Uint8Array(n);
  const trueProbability = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = random.normal();
    const sizeIndex = COMPANY_SIZES.indexOf(random.choice(COMPANY_SIZES, SIZE_SHARE));
    const budget = Math.max(500, Math.round((SIZE_BUDGET_MEDIAN[sizeIndex]! * Math.exp(0.8 * random.normal() + 0.25 * u)) / 100) * 100);
    const industry = score(5.5 + 2.0 * random.normal());
    const engagement = score(5.5 + 1.6 * u + 1.2 * random.normal());
    const demographic = score(5.5 + 0.4 * (sizeIndex - 2) + 1.8 * random.normal());
    const behavioral = score(5.0 + 1.3 * u + 1.5 * random.normal());
    const source = score(5.5 + 2.2 * random.normal());
    const z =
      LEAD_SCORING_INTERCEPT +
      EFFECT.budget * Math.log(budget / BUDGET_PIVOT) +
      SIZE_EFFECT[sizeIndex]! +
      EFFECT.industry * (industry - 5.5) +
      EFFECT.engagement * (engagement - 5.5) +
      EFFECT.demographic * (demographic - 5.5) +
      EFFECT.behavioral * (behavioral - 5.5) +
      EFFECT.source * (source - 5.5) +
      EFFECT.intent * u;
    const p = sigmoid(z);
    trueProbability[i] = p;
    labels[i] = random.bernoulli(p) ? 1 : 0;
    const blank = (key: keyof typeof MISSING, value: number) => (random.bernoulli(MISSING[key]) ? "" : String(value));
    rows.push({
      company_size: COMPANY_SIZES[sizeIndex]!,
      budget: String(budget),
      industry_score: String(industry),
      engagement_score: blank("engagement_score", engagement),
      demographic_score: blank("demographic_score", demographic),
      behavioral_score: blank("behavioral_score", behavioral),
      source_score: blank("source_score", source),
    });
  }
  return { rows, labels, trueProbability };
}

export function describeLeadScoringGenerator(n: number, seed: number, positiveRate: number): GeneratorDescription {
  const effects: Effect[] = [
    { feature: "budget", term: `${EFFECT.budget} × ln(budget / ${BUDGET_PIVOT})`, coefficient: EFFECT.budget },
    {
      feature: "company_size",
      term: `size effect (${COMPANY_SIZES.map((s, i) => `${s}: ${SIZE_EFFECT[i]! >= 0 ? "+" : ""}${SIZE_EFFECT[i]}`).join(", ")})`,
      coefficient: Math.max(...SIZE_EFFECT) - Math.min(...SIZE_EFFECT),
    },
    { feature: "industry_score", term: `${EFFECT.industry} × (industry_score − 5.5)`, coefficient: EFFECT.industry },
    { feature: "engagement_score", term: `${EFFECT.engagement} × (engagement_score − 5.5)`, coefficient: EFFECT.engagement },
    { feature: "demographic_score", term: `${EFFECT.demographic} × (demographic_score − 5.5)`, coefficient: EFFECT.demographic },
    { feature: "behavioral_score", term: `${EFFECT.behavioral} × (behavioral_score − 5.5)`, coefficient: EFFECT.behavioral },
    { feature: "source_score", term: `${EFFECT.source} × (source_score − 5.5)`, coefficient: EFFECT.source },
    { feature: "intent (latent)", term: `${EFFECT.intent} × u`, coefficient: EFFECT.intent },
  ];
  return {
    generator: LEAD_SCORING_GENERATOR,
    version: LEAD_SCORING_GENERATOR_VERSION,
    seed,
    rows: n,
    positive_rate: roundTo(positiveRate, 4),
    inputs: {
      "u (latent intent)": "N(0, 1), not observed",
      company_size: COMPANY_SIZES.map((s, i) => `${s}: ${SIZE_SHARE[i]! * 100}%`).join(", "),
      budget: `median by size (${SIZE_BUDGET_MEDIAN.map((m) => `$${m}`).join(", ")}) × exp(0.8 ε + 0.25 u), rounded to $100, at least $500`,
      industry_score: "clamp(5.5 + 2.0 ε, 1, 10), 1 decimal",
      engagement_score: "clamp(5.5 + 1.6 u + 1.2 ε, 1, 10), 1 decimal",
      demographic_score: "clamp(5.5 + 0.4 (size index − 2) + 1.8 ε, 1, 10), size index 0..4",
      behavioral_score: "clamp(5.0 + 1.3 u + 1.5 ε, 1, 10), 1 decimal",
      source_score: "clamp(5.5 + 2.2 ε, 1, 10), 1 decimal",
    },
    intercept: LEAD_SCORING_INTERCEPT,
    effects,
    no_direct_effect: [],
    noise: "the latent intent u is the part of conversion no input fully shows, and the Bernoulli draw adds the rest.",
    missingness: `completely at random: ${Object.entries(MISSING).map(([k, v]) => `${k} ${v * 100}%`).join(", ")}; conversion uses the true value.`,
  };
}
