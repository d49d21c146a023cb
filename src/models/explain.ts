import type { ModelCard } from "./card.ts";

/** Per-feature contributions to one prediction's raw score (logit or value), largest |value| first. */
export type Contributions = Array<{ feature: string; contribution: number }>;

/**
 * Builds the explainer for a card, or null when the card carries none. The returned function reads
 * one encoded row at `offset` of a packed batch.
 */
export function createExplainer(card: ModelCard): ((flat: Float32Array, offset: number) => Contributions) | null {
  const explainer = card.explainer;
  if (!explainer) return null;
  switch (explainer.kind) {
    case "linear": {
      const { coefficients, column_means } = explainer;
      const features = [...new Set(card.encoding.columns.map((c) => c.feature))];
      const featureIndex = card.encoding.columns.map((c) => features.indexOf(c.feature));
      return (flat, offset) => {
        const sums = new Float64Array(features.length);
        for (let j = 0; j < coefficients.length; j++) {
          sums[featureIndex[j]!]! += coefficients[j]! * (flat[offset + j]! - column_means[j]!);
        }
        return features
          .map((feature, i) => ({ feature, contribution: sums[i]! }))
          .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
      };
    }
  }
}
