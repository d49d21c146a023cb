/**
 * `lead_scoring` 1.0.0: seed 000's lead score (7 inputs). L2 logistic regression, by the shared
 * recipe in binary-linear.ts, on SYNTHETIC leads from src/training/synthetic/lead-scoring.ts: no
 * public dataset has these fields with outcomes. The card says so and carries the generator's
 * whole causal structure.
 */
import { evaluationSetFor, trainBinaryLinear, type BinaryLinearSpec } from "../binary-linear.ts";
import type { DeclaredFeature } from "../features.ts";
import { rocAuc } from "../metrics.ts";
import { stratifiedSplit } from "../split.ts";
import { COMPANY_SIZES, describeLeadScoringGenerator, generateLeadScoring } from "../synthetic/lead-scoring.ts";
import { describeGenerator } from "../synthetic/random.ts";
import type { LabelledRows, TrainedModel, TrainerEntry } from "../trainer.ts";
import { generatorOf, withGenerator } from "../synthetic/card.ts";

const NAME = "lead_scoring";
const VERSION = "1.0.0";
/** seed 000's model status says `training_data_size: 10000` */
export const LEAD_SCORING_ROWS = 10_000;
export const LEAD_SCORING_GENERATOR_SEED = 20240621;
const SPLIT_SEED = 20240622;
const VALIDATION_FRACTION = 0.2;

const score = (name: string, what: string, required: boolean): DeclaredFeature => ({
  name,
  type: "number",
  required,
  description: `${what} (1.0–10.0)${required ? "" : "; when absent, the training median"}`,
  out_of_range: "reject",
});

/** Seed 000's request fields, in its order. */
export const LEAD_SCORING_FEATURES: DeclaredFeature[] = [
  {
    name: "company_size",
    type: "category",
    required: true,
    description: `employees band: ${COMPANY_SIZES.map((s) => `"${s}"`).join(", ")}`,
    categories: [...COMPANY_SIZES],
    unknown_category: "reject",
  },
  { name: "budget", type: "number", required: true, description: "available budget (USD); outside the training range it is clipped, with a warning", out_of_range: "clip" },
  score("industry_score", "industry relevance", true),
  score("engagement_score", "engagement level", false),
  score("demographic_score", "demographic fit", false),
  score("behavioral_score", "behavioural indicators", false),
  score("source_score", "lead source quality", false),
];

export function leadScoringSpec(notes: string): BinaryLinearSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Lead scoring (synthetic)",
    description:
      "Probability that a lead converts, from company size, budget and 1–10 scores for industry relevance, engagement, " +
      "demographic fit, behaviour and source quality (seed 000's lead score). TRAINED ON SYNTHETIC DATA: no public dataset " +
      "has these fields with outcomes, so a documented, seeded generator (src/training/synthetic/lead-scoring.ts; its causal " +
      "structure is in training.notes and training.hyperparameters.synthetic_generator) stands in. The metrics measure how well " +
      "the model recovers that generator, not performance on real leads; retrain on reported outcomes before relying on it. " +
      "L2-regularised logistic regression; `probabilities[:,1]` is P(convert), `threshold` is the best-F1 cut on validation. " +
      "A missing optional score takes its training median; a score outside 1–10 or an unknown company size is rejected (422); " +
      "a budget outside the training range is clipped, with a warning.",
    features: LEAD_SCORING_FEATURES,
    classLabels: ["not_converted", "converted"],
    l2Grid: [1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
    split: { validationFraction: VALIDATION_FRACTION, seed: SPLIT_SEED },
    training: {
      dataset: "synthetic/lead-scoring",
      source: "src/training/synthetic/lead-scoring.ts",
      files: [],
      synthetic: true,
      notes,
    },
    parityRows: 50,
  };
}

export function leadScoringData(rows: number, seed: number) {
  const generated = generateLeadScoring(rows, seed);
  const data: LabelledRows = { rows: generated.rows, labels: generated.labels, origin: (i) => `synthetic lead ${i} (seed ${seed})` };
  return { generated, data };
}

/** Trains on `rows` generated leads; the CLI uses LEAD_SCORING_ROWS and LEAD_SCORING_GENERATOR_SEED. */
export function trainLeadScoring(rows: number, seed: number, options: { log?: (line: string) => void; now?: Date } = {}): TrainedModel {
  const { generated, data } = leadScoringData(rows, seed);
  const positives = generated.labels.reduce((s, y) => s + y, 0);
  const generator = describeLeadScoringGenerator(rows, seed, positives / rows);
  const { validation } = stratifiedSplit(data.labels, VALIDATION_FRACTION, SPLIT_SEED);
  const oracleAuc = rocAuc(
    Uint8Array.from(validation, (i) => data.labels[i]!),
    Float64Array.from(validation, (i) => generated.trueProbability[i]!),
  );
  const notes =
    `${describeGenerator(generator)} The generator's own probabilities (which know the latent intent) reach a validation AUC of ` +
    `${oracleAuc.toFixed(4)}: the ceiling for any model of these inputs. The logistic regression sees budget in dollars while the ` +
    "generator uses its logarithm: a deliberate, realistic mismatch, partly absorbed by company size (one-hot, so its non-monotone " +
    "effect is representable) with which budget is correlated.";
  const trained = trainBinaryLinear(leadScoringSpec(notes), data, options);
  return { ...trained, card: withGenerator(trained.card, generator, oracleAuc) };
}

export const leadScoring: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "seed 000 lead score (7 inputs), logistic regression on SYNTHETIC leads (documented generator)",
  async train({ log, now }) {
    log(`${NAME}: generating ${LEAD_SCORING_ROWS} synthetic leads (seed ${LEAD_SCORING_GENERATOR_SEED})`);
    return trainLeadScoring(LEAD_SCORING_ROWS, LEAD_SCORING_GENERATOR_SEED, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card) {
    // the data is generated, so it is always "on this machine": same rows from the card's generator seed
    const generator = generatorOf(card);
    return generator && evaluationSetFor(card, leadScoringData(generator.rows, generator.seed).data);
  },
};
