import type { Contributions } from "./explain.ts";
import type { LoadedModel } from "./registry.ts";

/** What every prediction stores and returns, whatever the model. */
export interface PredictionOutput {
  /** positive-class probability, or the regression value */
  score: number;
  /** 0/1 for binary classifiers (score ≥ the card's threshold), null otherwise */
  label: number | null;
  /** probability of the predicted class for classifiers; null for regressors */
  confidence: number | null;
  /** top contributions to the raw score, when the model can be explained */
  contributions: Contributions | null;
  /** the model family's own fields (seed 000 shapes), e.g. churn risk level */
  details: Record<string, unknown>;
}

export type RiskLevel = "Low" | "Medium" | "High";

/** Churn risk bands on the churn probability: the same bands for the API and the churn pipeline. */
export function churnRiskLevel(probability: number): RiskLevel {
  if (probability >= 0.6) return "High";
  if (probability >= 0.3) return "Medium";
  return "Low";
}

const TOP_CONTRIBUTIONS = 5;
const KEY_FACTORS = 3;

export function presentPrediction(model: LoadedModel, score: number, contributions: Contributions | null): PredictionOutput {
  const isBinary = model.card.task === "binary_classification";
  const threshold = model.card.threshold ?? 0.5;
  const label = isBinary ? (score >= threshold ? 1 : 0) : null;
  const confidence = isBinary ? (label === 1 ? score : 1 - score) : null;
  const top = contributions?.slice(0, TOP_CONTRIBUTIONS) ?? null;
  const rounded = round(score, 6);
  const details: Record<string, unknown> = {};
  if (model.name.startsWith("churn")) {
    Object.assign(details, {
      churn_probability: round(score, 4),
      risk_level: churnRiskLevel(score),
      confidence: round(confidence ?? 0, 4),
      prediction: label,
      key_factors: (contributions ?? []).slice(0, KEY_FACTORS).map((c) => c.feature),
      retention_score: round((1 - score) * 100, 1),
    });
  }
  return {
    score: rounded,
    label,
    confidence: confidence === null ? null : round(confidence, 6),
    contributions: top?.map((c) => ({ feature: c.feature, contribution: round(c.contribution, 6) })) ?? null,
    details,
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
