import { columnSources, type EncodedColumn, type Explainer, type ModelCard, type TreeArrays } from "./card.ts";
import { createTreeShap, type ShapTree } from "./tree-shap.ts";

/** Per-feature contributions to one prediction's raw score (logit or value), largest |value| first. */
export type Contributions = Array<{ feature: string; contribution: number }>;

/**
 * How per-column contributions become per-feature ones. Column j adds `share[e] × φ_j` to feature
 * `feature[e]` for each entry e in [start[j], start[j + 1]): a numeric, onehot or term column gives
 * all of its φ to its feature; a derived column (product, difference, ratio of two features) gives
 * half to each source feature, or all of it when both sources are the same feature. The shares of
 * a column sum to 1, so Σ over features = Σ over columns, and `base + Σ contributions = margin`
 * holds exactly as it does per column.
 */
export interface ColumnAttribution {
  /** the features contributions are reported for; indices below point into it */
  features: readonly string[];
  start: Int32Array;
  feature: Int32Array;
  share: Float64Array;
}

/**
 * The attribution of `columns`. With `features` the indices refer to that list (every source must
 * be in it); without, to the sources in order of first appearance.
 */
export function columnAttribution(columns: readonly EncodedColumn[], features?: readonly string[]): ColumnAttribution {
  const names = features ? [...features] : [...new Set(columns.flatMap((c) => columnSources(c)))];
  const index = new Map(names.map((name, i) => [name, i]));
  const start = new Int32Array(columns.length + 1);
  const feature: number[] = [];
  const share: number[] = [];
  columns.forEach((column, j) => {
    const sources = [...new Set(columnSources(column))];
    for (const source of sources) {
      const i = index.get(source);
      if (i === undefined) throw new RangeError(`encoding column ${j} reads "${source}", which is not among the features explained`);
      feature.push(i);
      share.push(1 / sources.length);
    }
    start[j + 1] = feature.length;
  });
  return { features: names, start, feature: Int32Array.from(feature), share: Float64Array.from(share) };
}

/** Adds each column's `phi` (from `phiOffset`) to its features' entries of `sums`, by `attribution`. */
export function attributeColumns(attribution: ColumnAttribution, phi: ArrayLike<number>, sums: Float64Array, phiOffset = 0): void {
  const { start, feature, share } = attribution;
  const columns = start.length - 1;
  for (let j = 0; j < columns; j++) {
    const value = phi[phiOffset + j]!;
    if (value === 0) continue;
    for (let e = start[j]!; e < start[j + 1]!; e++) sums[feature[e]!]! += share[e]! * value;
  }
}

/** What each explainer kind's contributions and importances are called in API responses. */
export const EXPLANATION_METHODS: Record<Explainer["kind"], { prediction: string; importance: string }> = {
  linear: { prediction: "linear_contributions", importance: "mean_abs_linear_contribution" },
  tree: { prediction: "tree_shap", importance: "mean_abs_shap_values" },
  blend: { prediction: "blended_linear_and_tree_shap", importance: "mean_abs_blended_contribution" },
};

/** Writes one encoded row's per-column contributions into `phi` (which starts at 0). */
type ColumnExplainer = (flat: Float32Array, offset: number, phi: Float64Array) => void;

function columnExplainer(explainer: Explainer, width: number): ColumnExplainer {
  switch (explainer.kind) {
    case "linear": {
      const { coefficients, column_means } = explainer;
      return (flat, offset, phi) => {
        for (let j = 0; j < coefficients.length; j++) phi[j]! += coefficients[j]! * (flat[offset + j]! - column_means[j]!);
      };
    }
    case "tree": {
      // exact TreeSHAP per encoding column; compiled once per loaded card
      const shap = createTreeShap(explainer.trees.map(shapTree), width);
      return (flat, offset, phi) => shap.explainRow(flat, offset, phi);
    }
    case "blend": {
      const members = explainer.members.map((m) => ({ weight: m.weight, explain: columnExplainer(m.explainer, width) }));
      const own = new Float64Array(width);
      return (flat, offset, phi) => {
        for (const { weight, explain } of members) {
          own.fill(0);
          explain(flat, offset, own);
          for (let j = 0; j < width; j++) phi[j]! += weight * own[j]!;
        }
      };
    }
  }
}

/**
 * Builds the explainer for a card, or null when the card carries none. The returned function reads
 * one encoded row at `offset` of a packed batch.
 */
export function createExplainer(card: Pick<ModelCard, "encoding" | "explainer">): ((flat: Float32Array, offset: number) => Contributions) | null {
  if (!card.explainer) return null;
  const attribution = columnAttribution(card.encoding.columns);
  const { features } = attribution;
  const width = card.encoding.columns.length;
  const explain = columnExplainer(card.explainer, width);
  const phi = new Float64Array(width);
  return (flat, offset) => {
    phi.fill(0);
    explain(flat, offset, phi);
    const sums = new Float64Array(features.length);
    attributeColumns(attribution, phi, sums);
    return features
      .map((feature, i) => ({ feature, contribution: sums[i]! }))
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  };
}

/** A card tree in the form `createTreeShap` reads. */
export function shapTree(tree: TreeArrays): ShapTree {
  const { missing_left, ...rest } = tree;
  return missing_left ? { ...rest, missingLeft: missing_left } : rest;
}
