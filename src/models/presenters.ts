import { scoreBucket, type ModelCard } from "./card.ts";
import type { Contributions } from "./explain.ts";
import type { RowOutputs } from "./onnx-runtime.ts";
import type { LoadedModel } from "./registry.ts";

/** What every prediction stores and returns, whatever the model. */
export interface PredictionOutput {
  /**
   * positive-class probability, the regression value, the segment id of a clustering, or the
   * best recommended item's score
   */
  score: number;
  /** 0/1 for binary classifiers (score ≥ the card's threshold), the segment id for clustering, null otherwise */
  label: number | null;
  /** probability of the predicted class for classifiers; null for regressors */
  confidence: number | null;
  /** top contributions to the raw score, when the model can be explained */
  contributions: Contributions | null;
  /**
   * the model family's own fields (seed 000 shapes), e.g. churn risk level; a model whose card has
   * `score_buckets` adds its `bucket` (1-based) and `tier` (seed 002)
   */
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

/**
 * A scored row as every caller sees it. `outputs` (from `scoreWithOutputs`) carries the graph's other
 * outputs for models whose details need them: a clustering's distances, a recommender's items, a
 * regression's interval; without them those details are left out.
 */
export function presentPrediction(
  model: LoadedModel,
  score: number,
  contributions: Contributions | null,
  outputs?: RowOutputs,
): PredictionOutput {
  const isBinary = model.card.task === "binary_classification";
  const threshold = model.card.threshold ?? 0.5;
  const label = isBinary ? (score >= threshold ? 1 : 0) : model.card.task === "clustering" ? Math.round(score) : null;
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
  if (model.card.score_buckets) {
    const { bucket, tier } = scoreBucket(model.card.score_buckets, score);
    Object.assign(details, tier === undefined ? { bucket } : { bucket, tier });
  }
  if (outputs) Object.assign(details, outputDetails(model.card, score, outputs));
  return {
    score: rounded,
    label,
    confidence: confidence === null ? null : round(confidence, 6),
    contributions: top?.map((c) => ({ feature: c.feature, contribution: round(c.contribution, 6) })) ?? null,
    details,
  };
}

/** Details built from the graph's extra outputs, by what the card says they are. */
function outputDetails(card: ModelCard, score: number, outputs: RowOutputs): Record<string, unknown> {
  if (card.task === "clustering" && card.segments) {
    const { list, distances_output } = card.segments;
    const id = Math.round(score);
    const segment = list.find((s) => s.id === id);
    const distances = outputs[distances_output] ?? [];
    return {
      segment_id: id,
      segment: segment?.name ?? `segment ${id}`,
      description: segment?.description ?? "",
      distances: Object.fromEntries(list.map((s) => [s.name, round(distances[s.id] ?? NaN, 4)])),
    };
  }
  if (card.task === "recommendation" && card.items) {
    const { vocabulary, items_output, scores_output } = card.items;
    const items = outputs[items_output] ?? [];
    const scores = outputs[scores_output] ?? [];
    const recommendations: Array<{ rank: number; product_id: string; description: string; score: number }> = [];
    items.forEach((index, k) => {
      const item = index >= 0 ? vocabulary[index] : undefined;
      if (item && scores[k]! >= 0) recommendations.push({ rank: recommendations.length + 1, product_id: item.id, description: item.label, score: round(scores[k]!, 6) });
    });
    return { recommendations };
  }
  if (card.task === "regression" && card.interval) {
    const { target, level, lower_output, upper_output } = card.interval;
    const lower = outputs[lower_output]?.[0];
    const upper = outputs[upper_output]?.[0];
    if (lower === undefined || upper === undefined) return {};
    return {
      [`forecasted_${target}`]: round(score, 4),
      confidence_interval: { lower: round(lower, 4), upper: round(upper, 4), level },
    };
  }
  return {};
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
