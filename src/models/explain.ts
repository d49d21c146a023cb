import type { ModelCard, TreeArrays } from "./card.ts";
import { createTreeShap, type ShapTree } from "./tree-shap.ts";

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
    case "tree": {
      // exact TreeSHAP per encoding column, summed per feature; compiled once per loaded card
      const width = card.encoding.columns.length;
      const shap = createTreeShap(explainer.trees.map(shapTree), width);
      const features = [...new Set(card.encoding.columns.map((c) => c.feature))];
      const featureIndex = card.encoding.columns.map((c) => features.indexOf(c.feature));
      const phi = new Float64Array(width);
      return (flat, offset) => {
        phi.fill(0);
        shap.explainRow(flat, offset, phi);
        const sums = new Float64Array(features.length);
        for (let j = 0; j < width; j++) sums[featureIndex[j]!]! += phi[j]!;
        return features
          .map((feature, i) => ({ feature, contribution: sums[i]! }))
          .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
      };
    }
  }
}

/** A card tree in the form `createTreeShap` reads. */
export function shapTree(tree: TreeArrays): ShapTree {
  const { missing_left, ...rest } = tree;
  return missing_left ? { ...rest, missingLeft: missing_left } : rest;
}
