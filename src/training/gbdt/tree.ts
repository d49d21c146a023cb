/**
 * A fitted tree ensemble in flat arrays, the one form the trainer predicts with, the ONNX exporter
 * writes and the card's tree explainer stores. Node 0 is the root; a node is a leaf when
 * `feature[i] === -1`. An internal node sends a row left when `x[feature] <= threshold` (float32
 * values, so the comparison is the one onnxruntime makes with BRANCH_LEQ), and a NaN left exactly
 * when `missingLeft[i]` is 1.
 */

export interface Tree {
  /** encoded column tested at each node; -1 at a leaf */
  feature: Int32Array;
  /** float32-representable split value (0 at leaves) */
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** the leaf's contribution to the raw score, float32-representable (0 at internal nodes) */
  value: Float64Array;
  /** training rows (of this tree's sample) that reached the node */
  cover: Float64Array;
  /** 1 when a missing value (NaN) goes left */
  missingLeft: Uint8Array;
}

export type Objective = "binary_logloss" | "squared_error";

export interface TreeEnsemble {
  objective: Objective;
  /** raw score before any tree: log-odds of the training prior, or the training mean */
  baseScore: number;
  trees: Tree[];
  /** number of encoded columns the trees read */
  columns: number;
}

/** Index of the leaf one row (at `offset` of `x`) reaches in `tree`. */
export function leafIndex(tree: Tree, x: ArrayLike<number>, offset: number): number {
  const { feature, threshold, left, right, missingLeft } = tree;
  let node = 0;
  for (let f = feature[0]!; f >= 0; f = feature[node]!) {
    const v = x[offset + f]!;
    node = v <= threshold[node]! || (v !== v && missingLeft[node] === 1) ? left[node]! : right[node]!;
  }
  return node;
}

/** Raw scores (log-odds or values) of `rows` rows packed row-major in `x`, in float64. */
export function predictRaw(model: TreeEnsemble, x: ArrayLike<number>, rows: number): Float64Array {
  const out = new Float64Array(rows).fill(model.baseScore);
  const cols = model.columns;
  for (const tree of model.trees) {
    for (let r = 0; r < rows; r++) out[r]! += tree.value[leafIndex(tree, x, r * cols)]!;
  }
  return out;
}

/** The model's output: P(label 1) for binary log-loss, the raw value for squared error. */
export function predict(model: TreeEnsemble, x: ArrayLike<number>, rows: number): Float64Array {
  const raw = predictRaw(model, x, rows);
  if (model.objective === "binary_logloss") for (let i = 0; i < rows; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]!));
  return raw;
}

/** Depth of the deepest leaf (a lone root leaf has depth 0). */
export function treeDepth(tree: Tree): number {
  const depth = new Int32Array(tree.feature.length);
  let max = 0;
  for (let i = 0; i < tree.feature.length; i++) {
    if (tree.feature[i]! < 0) continue;
    const d = depth[i]! + 1;
    depth[tree.left[i]!] = d;
    depth[tree.right[i]!] = d;
    if (d > max) max = d;
  }
  return max;
}

/** Cover-weighted mean leaf value: the tree's expected contribution over its training sample. */
export function expectedValue(tree: Tree): number {
  let sum = 0;
  for (let i = 0; i < tree.feature.length; i++) if (tree.feature[i]! < 0) sum += tree.value[i]! * tree.cover[i]!;
  return sum / tree.cover[0]!;
}
