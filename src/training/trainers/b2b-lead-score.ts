/**
 * `b2b_lead_score` 1.0.0: seed 002's 50-feature B2B lead scorer, with its buckets 1–5 and tiers A–E.
 * L2 logistic regression, by the shared recipe in binary-linear.ts, on SYNTHETIC leads from
 * src/training/synthetic/b2b-leads.ts: no public dataset has these fields with outcomes. The card
 * says so and carries the generator's whole causal structure.
 *
 * Buckets are the quintiles of the validation scores: the card's `score_buckets.cut_points` are the
 * 20th, 40th, 60th and 80th percentiles (each the midpoint between two neighbouring validation
 * scores, so float32 serving cannot move a validation row across a cut), bucket 5 = tier A.
 */
import { ModelCardSchema, type ModelCard, type ScoreBuckets } from "../../models/card.ts";
import { createEncoder, encodeBatch } from "../../models/encode.ts";
import { evaluationSetFor, trainBinaryLinear, type BinaryLinearSpec } from "../binary-linear.ts";
import type { DeclaredFeature } from "../features.ts";
import { sigmoid } from "../logistic.ts";
import { rocAuc } from "../metrics.ts";
import { stratifiedSplit } from "../split.ts";
import { B2B_FEATURE_NAMES, describeB2bGenerator, generateB2bLeads } from "../synthetic/b2b-leads.ts";
import { describeGenerator, roundTo } from "../synthetic/random.ts";
import { TrainingError, type LabelledRows, type TrainedModel, type TrainerEntry } from "../trainer.ts";
import { generatorOf, withGenerator } from "../synthetic/card.ts";

const NAME = "b2b_lead_score";
const VERSION = "1.0.0";
export const B2B_ROWS = 20_000;
export const B2B_GENERATOR_SEED = 20240631;
const SPLIT_SEED = 20240632;
const VALIDATION_FRACTION = 0.2;
const BUCKETS = 5;
/** bucket 1 first */
const TIERS = ["E", "D", "C", "B", "A"];
/** seed 002's wording */
const TIER_DEFINITIONS: Record<string, string> = {
  A: "Highest conversion likelihood (bucket 5)",
  B: "High conversion likelihood (bucket 4)",
  C: "Medium conversion likelihood (bucket 3)",
  D: "Low conversion likelihood (bucket 2)",
  E: "Lowest conversion likelihood (bucket 1)",
};

type Kind = "number" | "integer" | "boolean";

/** Every feature of seed 002 with its JSON type and meaning. */
const DECLARATIONS: Record<(typeof B2B_FEATURE_NAMES)[number], [Kind, string]> = {
  company_revenue: ["number", "annual revenue (USD)"],
  company_employee_count: ["integer", "employees"],
  company_age_years: ["number", "years since founding"],
  company_funding_total: ["number", "total external funding raised (USD); 0 when none"],
  company_growth_rate: ["number", "year-over-year growth as a fraction (0.35 = 35%)"],
  industry_tech_score: ["number", "how technology-driven the industry is (0–1)"],
  geographic_tier: ["integer", "market tier of the company's region (1 = primary, 3 = tertiary)"],
  company_public_status: ["boolean", "publicly traded (1) or not (0)"],
  parent_company_exists: ["boolean", "has a parent company"],
  subsidiary_count: ["integer", "number of subsidiaries"],
  website_visits_30d: ["integer", "website visits in the last 30 days"],
  page_views_30d: ["integer", "page views in the last 30 days"],
  avg_session_duration_sec: ["number", "average session duration (seconds)"],
  bounce_rate: ["number", "share of single-page sessions (0–1)"],
  pricing_page_visits: ["integer", "pricing page visits"],
  demo_page_visits: ["integer", "demo page visits"],
  documentation_views: ["integer", "documentation page views"],
  email_open_rate: ["number", "share of marketing emails opened (0–1)"],
  email_click_rate: ["number", "share of marketing emails clicked (0–1)"],
  emails_received: ["integer", "marketing emails received"],
  whitepaper_downloads: ["integer", "whitepapers downloaded"],
  webinar_attendance: ["integer", "webinars attended"],
  social_media_engagement: ["integer", "social media interactions"],
  customer_success_interactions: ["integer", "interactions with customer success"],
  support_ticket_count: ["integer", "support tickets opened"],
  days_since_first_touch: ["number", "days since the first touchpoint"],
  days_since_last_touch: ["number", "days since the latest touchpoint"],
  total_touchpoints: ["integer", "touchpoints across channels"],
  multi_channel_engagement: ["boolean", "engaged on more than one channel"],
  decision_maker_contacted: ["boolean", "a decision maker has been contacted"],
  champion_identified: ["boolean", "an internal champion is identified"],
  budget_confirmed: ["boolean", "budget is confirmed"],
  timeline_confirmed: ["boolean", "purchase timeline is confirmed"],
  competitor_evaluation: ["boolean", "the lead is evaluating competitors"],
  technical_evaluation_started: ["boolean", "a technical evaluation has started"],
  contract_reviewed: ["boolean", "the contract has been reviewed"],
  security_questionnaire_completed: ["boolean", "the security questionnaire is completed"],
  roi_calculator_used: ["boolean", "the ROI calculator was used"],
  custom_demo_requested: ["boolean", "a custom demo was requested"],
  integration_questions_asked: ["integer", "integration questions asked"],
  lead_source_quality: ["number", "quality of the lead source (0–1)"],
  attribution_touchpoints: ["integer", "touchpoints credited by attribution"],
  paid_channel_source: ["boolean", "came from a paid channel"],
  referral_source: ["boolean", "came from a referral"],
  event_source: ["boolean", "came from an event"],
  product_tier_interest: ["integer", "product tier of interest (1 = entry, 3 = top)"],
  feature_requests_count: ["integer", "feature requests made"],
  use_case_alignment: ["number", "fit of the use case with the product (0–1)"],
  integration_requirements: ["integer", "integrations required"],
  deployment_preference: ["integer", "0 = cloud, 1 = hybrid, 2 = on-premise"],
};

export const B2B_FEATURES: DeclaredFeature[] = B2B_FEATURE_NAMES.map((name) => {
  const [type, description] = DECLARATIONS[name];
  return {
    name,
    type,
    required: true,
    description: type === "boolean" ? `${description}: 0/1 (or true/false)` : `${description}; outside the training range it is clipped, with a warning`,
    out_of_range: "clip",
  };
});

function spec(notes: string): BinaryLinearSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "B2B lead score (synthetic)",
    description:
      "Probability that a B2B lead converts, from seed 002's 50 features (firmographics, web and email engagement, sales-funnel " +
      "milestones, source and product interest), with ranked buckets 1–5 and tiers A–E (`score_buckets`: quintiles of the " +
      "validation scores, bucket 5 = tier A). TRAINED ON SYNTHETIC DATA: no public dataset has these fields with outcomes, so a " +
      "documented, seeded generator (src/training/synthetic/b2b-leads.ts; its causal structure is in training.notes and " +
      "training.hyperparameters.synthetic_generator) stands in. The metrics measure how well the model recovers that generator, " +
      "not performance on real leads; retrain on reported outcomes before relying on it. L2-regularised logistic regression " +
      "(seed 002 used XGBoost); `probabilities[:,1]` is P(convert). All 50 features are required; values outside the training " +
      "range are clipped, with a warning.",
    features: B2B_FEATURES,
    classLabels: ["not_converted", "converted"],
    l2Grid: [1e-5, 1e-4, 1e-3, 1e-2, 3e-2],
    split: { validationFraction: VALIDATION_FRACTION, seed: SPLIT_SEED },
    training: { dataset: "synthetic/b2b-leads", source: "src/training/synthetic/b2b-leads.ts", files: [], synthetic: true, notes },
    parityRows: 50,
  };
}

export function b2bData(rows: number, seed: number) {
  const generated = generateB2bLeads(rows, seed);
  const data: LabelledRows = { rows: generated.rows, labels: generated.labels, origin: (i) => `synthetic B2B lead ${i} (seed ${seed})` };
  return { generated, data };
}

/**
 * Quintile buckets of `scores`: each cut point is the midpoint between the two sorted scores around
 * the k/5 quantile. Fails when ties make two cut points equal (too few distinct scores).
 */
export function quantileBuckets(scores: ArrayLike<number>, labels: ArrayLike<number>, buckets: number): Pick<ScoreBuckets, "cut_points" | "positive_rate"> {
  const n = scores.length;
  const sorted = Array.from(scores).sort((a, b) => a - b);
  const cut_points: number[] = [];
  for (let k = 1; k < buckets; k++) {
    const at = Math.round((k * n) / buckets);
    const cut = (sorted[at - 1]! + sorted[at]!) / 2;
    if (cut_points.length > 0 && !(cut > cut_points[cut_points.length - 1]!)) throw new TrainingError(`quantile buckets: cut point ${k} repeats (tied scores)`);
    cut_points.push(cut);
  }
  const positives = new Array<number>(buckets).fill(0);
  const counts = new Array<number>(buckets).fill(0);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (const cut of cut_points) if (scores[i]! >= cut) b++;
    counts[b]!++;
    positives[b]! += labels[i]!;
  }
  return { cut_points, positive_rate: positives.map((p, b) => roundTo(p / counts[b]!, 4)) };
}

export function trainB2bLeadScore(rows: number, seed: number, options: { log?: (line: string) => void; now?: Date } = {}): TrainedModel {
  const log = options.log ?? (() => {});
  const { generated, data } = b2bData(rows, seed);
  const positives = generated.labels.reduce((s, y) => s + y, 0);
  const generator = describeB2bGenerator(rows, seed, positives / rows);
  const { validation } = stratifiedSplit(data.labels, VALIDATION_FRACTION, SPLIT_SEED);
  const validationY = Uint8Array.from(validation, (i) => data.labels[i]!);
  const oracleAuc = rocAuc(validationY, Float64Array.from(validation, (i) => generated.trueProbability[i]!));
  const notes =
    `${describeGenerator(generator)} The generator's own probabilities (which know the latent intent) reach a validation AUC of ` +
    `${oracleAuc.toFixed(4)}: the ceiling for any model of these inputs. The logistic regression is linear in the raw features, so ` +
    "it can only approximate the generator's log-scale count effects, its decision-maker × budget interaction and the on-premise step " +
    "in deployment_preference (see oracle_validation_auc against the validation AUC for what that costs).";
  const trained = trainBinaryLinear(spec(notes), data, options);

  // validation scores as the trainer computes them (float64 on the encoded vector) → quintile cut points
  const card0 = trained.card;
  const explainer = card0.explainer;
  if (explainer?.kind !== "linear") throw new TrainingError(`${NAME}: the recipe wrote no linear explainer`);
  const evaluation = evaluationSetFor(card0, data);
  const batch = encodeBatch(createEncoder(card0), evaluation.features);
  if (batch.n !== evaluation.features.length) throw new TrainingError(`${NAME}: ${evaluation.features.length - batch.n} validation rows do not encode`);
  const width = explainer.coefficients.length;
  const scores = new Float64Array(batch.n);
  for (let r = 0; r < batch.n; r++) {
    let z = explainer.intercept;
    for (let j = 0; j < width; j++) z += explainer.coefficients[j]! * batch.flat[r * width + j]!;
    scores[r] = sigmoid(z);
  }
  const quantiles = quantileBuckets(scores, evaluation.labels, BUCKETS);
  log(`${NAME}: quintile cut points ${quantiles.cut_points.map((c) => c.toFixed(4)).join(", ")}; positive rate by bucket ${quantiles.positive_rate!.join(", ")}`);

  const card: ModelCard = ModelCardSchema.parse({
    ...withGenerator(card0, generator, oracleAuc),
    score_buckets: {
      method: `quintiles of the ${batch.n} validation scores (midpoints between neighbouring sorted scores); bucket 5 = tier A`,
      cut_points: quantiles.cut_points,
      tiers: TIERS,
      tier_definitions: TIER_DEFINITIONS,
      positive_rate: quantiles.positive_rate,
    },
  });
  return { ...trained, card };
}

export const b2bLeadScore: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "seed 002 B2B lead score (50 features, buckets/tiers), logistic regression on SYNTHETIC leads (documented generator)",
  async train({ log, now }) {
    log(`${NAME}: generating ${B2B_ROWS} synthetic B2B leads (seed ${B2B_GENERATOR_SEED})`);
    return trainB2bLeadScore(B2B_ROWS, B2B_GENERATOR_SEED, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card) {
    // the data is generated, so it is always available: same rows from the card's generator seed
    const generator = generatorOf(card);
    return generator && evaluationSetFor(card, b2bData(generator.rows, generator.seed).data);
  },
};
