/**
 * Histogram-based gradient-boosted trees (second-order, XGBoost/LightGBM style), written here
 * because no well-kept JavaScript library trains them: on npm, `ml-cart`/`ml-random-forest` do not
 * boost, `xgboost-scorer` only scores, and `ml-xgboost` is a little-used WebAssembly port of an old
 * XGBoost without a path to our float32/ONNX/TreeSHAP contract. This one is small on purpose: two
 * objectives, best-first trees with depth and leaf limits.
 *
 * One boosting round:
 *   gradients g and hessians h of the loss at the current raw scores
 *   → a row sample (`subsample`, Bernoulli per row) and a column sample (`colsample`, per tree)
 *   → grow one tree best-first: a leaf's split is the (column, bin) that maximises
 *       ½ [G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)]
 *     subject to `minChildWeight` (Σh) and `minSamplesLeaf` on both sides; for each column a row
 *     with a missing value goes to whichever side scores better (learned default direction)
 *   → leaf value −G/(H+λ) × learning rate, rounded to float32 (what the ONNX file stores)
 *   → add the tree; stop when the validation loss has not improved for `earlyStoppingRounds`
 *     rounds and keep the trees up to the best round.
 *
 * Histograms: the root's is built from its rows; for each split only the smaller child's is
 * built and the larger child's is the parent's minus it (the subtraction trick), so each round
 * touches every sampled row about once per tree level, over the sampled columns only.
 *
 * Deterministic: the only randomness is mulberry32(seed); ties between splits go to the lower
 * column, then the lower bin.
 */
import { mulberry32 } from "../split.ts";
import { applyBins, fitBins, MAX_BINS, type BinMapper } from "./binning.ts";
import type { Objective, Tree, TreeEnsemble } from "./tree.ts";
import { leafIndex } from "./tree.ts";

export interface GbdtParams {
  objective: Objective;
  /** shrinkage applied to every leaf value */
  learningRate: number;
  /** most boosting rounds (trees); early stopping usually ends sooner */
  maxTrees: number;
  /** deepest allowed leaf (root = depth 0) */
  maxDepth: number;
  /** most leaves per tree */
  maxLeaves: number;
  /** least Σ hessian in a child (XGBoost's min_child_weight) */
  minChildWeight: number;
  /** least training rows in a child */
  minSamplesLeaf: number;
  /** L2 penalty λ on leaf values */
  l2: number;
  /** least gain for a split to be made (XGBoost's gamma) */
  minSplitGain: number;
  /** share of rows each tree sees (Bernoulli sample per round) */
  subsample: number;
  /** share of columns each tree may split on */
  colsample: number;
  /** bins per column including the missing bin, ≤ 255 */
  maxBins: number;
  /** share of each column's bins cut at equal widths instead of quantiles (see binning.ts) */
  uniformBinShare: number;
  /** stop after this many rounds without a better validation loss (needs validation data) */
  earlyStoppingRounds: number;
  seed: number;
}

export const DEFAULT_PARAMS: GbdtParams = {
  objective: "binary_logloss",
  learningRate: 0.1,
  maxTrees: 300,
  maxDepth: 6,
  maxLeaves: 31,
  minChildWeight: 1e-3,
  minSamplesLeaf: 20,
  l2: 1,
  minSplitGain: 0,
  subsample: 1,
  colsample: 1,
  maxBins: 255,
  uniformBinShare: 0,
  earlyStoppingRounds: 30,
  seed: 1,
};

/** Rows packed row-major: `x[r * cols + c]`, with one target per row (0/1 for binary). */
export interface GbdtData {
  x: Float32Array;
  rows: number;
  cols: number;
  y: ArrayLike<number>;
}

export interface FitResult {
  model: TreeEnsemble;
  params: GbdtParams;
  /** trees kept: the round with the best validation loss (all rounds without validation data) */
  bestRounds: number;
  /** rounds actually run */
  roundsRun: number;
  /** validation loss after each round (log loss or RMSE); empty without validation data */
  validationLoss: number[];
  /** validation loss of the kept model */
  bestValidationLoss: number;
}

/** A split candidate for one leaf. */
interface Split {
  gain: number;
  column: number;
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  leftC: number;
}

interface OpenLeaf {
  node: number;
  depth: number;
  /** this leaf's rows are order[start, end) */
  start: number;
  end: number;
  g: number;
  h: number;
  c: number;
  hist: Float64Array | null;
  split: Split | null;
}

/** Largest finite float32: the threshold of a split that sends only missing values right. */
const FLOAT32_MAX = 3.4028234663852886e38;

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Checks the parameters, filling the unset ones from DEFAULT_PARAMS. */
export function resolveParams(params: Partial<GbdtParams>): GbdtParams {
  const p = { ...DEFAULT_PARAMS, ...params };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`GBDT parameter ${what}`);
  };
  check(p.objective === "binary_logloss" || p.objective === "squared_error", `objective "${p.objective}" is not binary_logloss or squared_error`);
  check(p.learningRate > 0 && p.learningRate <= 1, `learningRate must be in (0, 1], got ${p.learningRate}`);
  check(Number.isInteger(p.maxTrees) && p.maxTrees >= 1, `maxTrees must be a positive integer, got ${p.maxTrees}`);
  check(Number.isInteger(p.maxDepth) && p.maxDepth >= 1, `maxDepth must be a positive integer, got ${p.maxDepth}`);
  check(Number.isInteger(p.maxLeaves) && p.maxLeaves >= 2, `maxLeaves must be an integer ≥ 2, got ${p.maxLeaves}`);
  check(p.minChildWeight >= 0, `minChildWeight must be ≥ 0, got ${p.minChildWeight}`);
  check(Number.isInteger(p.minSamplesLeaf) && p.minSamplesLeaf >= 1, `minSamplesLeaf must be a positive integer, got ${p.minSamplesLeaf}`);
  check(p.l2 >= 0, `l2 must be ≥ 0, got ${p.l2}`);
  check(p.minSplitGain >= 0, `minSplitGain must be ≥ 0, got ${p.minSplitGain}`);
  check(p.subsample > 0 && p.subsample <= 1, `subsample must be in (0, 1], got ${p.subsample}`);
  check(p.colsample > 0 && p.colsample <= 1, `colsample must be in (0, 1], got ${p.colsample}`);
  check(p.uniformBinShare >= 0 && p.uniformBinShare < 1, `uniformBinShare must be in [0, 1), got ${p.uniformBinShare}`);
  check(Number.isInteger(p.maxBins) && p.maxBins >= 3 && p.maxBins <= MAX_BINS, `maxBins must be an integer in [3, ${MAX_BINS}], got ${p.maxBins}`);
  check(Number.isInteger(p.earlyStoppingRounds) && p.earlyStoppingRounds >= 1, `earlyStoppingRounds must be a positive integer, got ${p.earlyStoppingRounds}`);
  check(Number.isInteger(p.seed), `seed must be an integer, got ${p.seed}`);
  return p;
}

function checkData(data: GbdtData, what: string, objective: Objective): void {
  if (data.x.length !== data.rows * data.cols) throw new RangeError(`${what}: ${data.rows}×${data.cols} needs ${data.rows * data.cols} values, got ${data.x.length}`);
  if (data.y.length !== data.rows) throw new RangeError(`${what}: ${data.rows} rows but ${data.y.length} targets`);
  for (let i = 0; i < data.rows; i++) {
    const y = data.y[i]!;
    if (objective === "binary_logloss" ? y !== 0 && y !== 1 : !Number.isFinite(y)) {
      throw new RangeError(`${what}: target of row ${i} is ${y}, expected ${objective === "binary_logloss" ? "0 or 1" : "a finite number"}`);
    }
  }
}

/** Mean log loss (binary) or root mean squared error of raw scores against targets. */
export function loss(objective: Objective, raw: ArrayLike<number>, y: ArrayLike<number>): number {
  let sum = 0;
  const n = y.length;
  if (objective === "binary_logloss") {
    for (let i = 0; i < n; i++) {
      // log(1 + e^-z) for y = 1, log(1 + e^z) for y = 0, computed without overflow
      const z = y[i] === 1 ? raw[i]! : -raw[i]!;
      sum += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
    }
    return sum / n;
  }
  for (let i = 0; i < n; i++) sum += (raw[i]! - y[i]!) ** 2;
  return Math.sqrt(sum / n);
}

/**
 * Fits a tree ensemble. With `validation` the rounds stop early on its loss (log loss or RMSE)
 * and the model keeps the best round's trees.
 */
export function fitGbdt(train: GbdtData, options: Partial<GbdtParams>, validation?: GbdtData): FitResult {
  const params = resolveParams(options);
  const { objective, l2, learningRate } = params;
  checkData(train, "training data", objective);
  if (validation) {
    checkData(validation, "validation data", objective);
    if (validation.cols !== train.cols) throw new RangeError(`validation data has ${validation.cols} columns, training ${train.cols}`);
  }
  const n = train.rows;
  const cols = train.cols;
  if (n === 0 || cols === 0) throw new RangeError("fitGbdt: no training rows or no columns");

  const allRows = Uint32Array.from({ length: n }, (_, i) => i);
  const mapper = fitBins(train.x, cols, allRows, params.maxBins, params.uniformBinShare);
  const bins = applyBins(mapper, train.x, n, cols);
  const random = mulberry32(params.seed);

  let baseScore = 0;
  for (let i = 0; i < n; i++) baseScore += train.y[i]!;
  baseScore /= n;
  if (objective === "binary_logloss") {
    if (baseScore <= 0 || baseScore >= 1) throw new RangeError("fitGbdt: binary training targets are all one class");
    baseScore = Math.log(baseScore / (1 - baseScore));
  }

  const rawTrain = new Float64Array(n).fill(baseScore);
  const rawValid = validation ? new Float64Array(validation.rows).fill(baseScore) : null;
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const grower = new TreeGrower(params, mapper, bins, cols, grad, hess);

  const trees: Tree[] = [];
  const validationLoss: number[] = [];
  let bestLoss = Infinity;
  let bestRounds = 0;

  for (let round = 0; round < params.maxTrees; round++) {
    for (let i = 0; i < n; i++) {
      if (objective === "binary_logloss") {
        const p = sigmoid(rawTrain[i]!);
        grad[i] = p - train.y[i]!;
        hess[i] = Math.max(p * (1 - p), 1e-16);
      } else {
        grad[i] = rawTrain[i]! - train.y[i]!;
        hess[i] = 1;
      }
    }
    const tree = grower.grow(random, learningRate, l2);
    trees.push(tree.tree);
    for (let i = 0; i < n; i++) rawTrain[i]! += tree.tree.value[grower.leafOfBinnedRow(tree, i)]!;

    if (validation && rawValid) {
      for (let i = 0; i < validation.rows; i++) rawValid[i]! += tree.tree.value[leafIndex(tree.tree, validation.x, i * cols)]!;
      const current = loss(objective, rawValid, validation.y);
      validationLoss.push(current);
      if (current < bestLoss - 1e-12) {
        bestLoss = current;
        bestRounds = round + 1;
      } else if (round + 1 - bestRounds >= params.earlyStoppingRounds) {
        break;
      }
    } else {
      bestRounds = round + 1;
    }
  }
  const kept = trees.slice(0, bestRounds);
  return {
    model: { objective, baseScore, trees: kept, columns: cols },
    params,
    bestRounds,
    roundsRun: trees.length,
    validationLoss,
    bestValidationLoss: validation ? bestLoss : NaN,
  };
}

interface GrownTree {
  tree: Tree;
  /** split bin of each internal node (training-time routing on binned rows) */
  splitBin: Int32Array;
}

/** Grows one tree per call; owns the reusable buffers (row order, histograms). */
class TreeGrower {
  private readonly order: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly features: Int32Array;
  /** 1 for the columns this tree may split on */
  private readonly sampled: Uint8Array;
  private readonly pool: Float64Array[] = [];
  private nFeatures = 0;
  /**
   * Each row's bins other than its column's most frequent one, as histogram positions (×3) with
   * their column: row r owns entries [rowStart[r], rowStart[r + 1]). One-hot columns are nearly all
   * 0, so a row has a handful of entries instead of one per column; the most frequent bin's sums
   * are the node's totals minus the other bins' (`fillDefaultBins`).
   */
  private readonly rowStart: Int32Array;
  private readonly entryPos: Int32Array;
  private readonly entryColumn: Int32Array;
  /** histogram position (×3) of each column's most frequent bin */
  private readonly defaultPos: Int32Array;

  constructor(
    private readonly params: GbdtParams,
    private readonly mapper: BinMapper,
    private readonly bins: Uint8Array,
    private readonly cols: number,
    private readonly grad: Float64Array,
    private readonly hess: Float64Array,
  ) {
    const n = bins.length / cols;
    this.order = new Uint32Array(n);
    this.scratch = new Uint32Array(n);
    this.features = new Int32Array(cols);
    this.sampled = new Uint8Array(cols);
    const { offsets, columns } = mapper;
    // most frequent bin per column
    this.defaultPos = new Int32Array(cols);
    const defaultBin = new Int32Array(cols);
    for (let c = 0; c < cols; c++) {
      const counts = new Int32Array(columns[c]!.count);
      for (let r = 0; r < n; r++) counts[bins[r * cols + c]!]!++;
      let best = 0;
      for (let b = 1; b < counts.length; b++) if (counts[b]! > counts[best]!) best = b;
      defaultBin[c] = best;
      this.defaultPos[c] = (offsets[c]! + best) * 3;
    }
    this.rowStart = new Int32Array(n + 1);
    let entries = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < cols; c++) if (bins[r * cols + c] !== defaultBin[c]) entries++;
      this.rowStart[r + 1] = entries;
    }
    this.entryPos = new Int32Array(entries);
    this.entryColumn = new Int32Array(entries);
    let e = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < cols; c++) {
        const b = bins[r * cols + c]!;
        if (b === defaultBin[c]) continue;
        this.entryPos[e] = (offsets[c]! + b) * 3;
        this.entryColumn[e++] = c;
      }
    }
  }

  grow(random: () => number, learningRate: number, l2: number): GrownTree {
    const { params, order, cols } = this;
    const n = order.length;

    // row sample (every row when subsample = 1, without consuming random numbers)
    let rows = 0;
    if (params.subsample < 1) {
      for (let i = 0; i < n; i++) if (random() < params.subsample) order[rows++] = i;
      if (rows === 0) order[rows++] = Math.floor(random() * n);
    } else {
      for (let i = 0; i < n; i++) order[i] = i;
      rows = n;
    }
    // column sample: a seeded partial shuffle, then ascending order
    const all = Array.from({ length: cols }, (_, i) => i);
    let chosen = all;
    if (params.colsample < 1) {
      const k = Math.max(1, Math.round(params.colsample * cols));
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(random() * (cols - i));
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      chosen = all.slice(0, k).sort((a, b) => a - b);
    }
    this.features.set(chosen);
    this.nFeatures = chosen.length;
    this.sampled.fill(0);
    for (const c of chosen) this.sampled[c] = 1;

    const feature: number[] = [-1];
    const threshold: number[] = [0];
    const left: number[] = [-1];
    const right: number[] = [-1];
    const value: number[] = [0];
    const cover: number[] = [rows];
    const missingLeft: number[] = [0];
    const splitBin: number[] = [-1];

    let g = 0;
    let h = 0;
    for (let k = 0; k < rows; k++) {
      g += this.grad[order[k]!]!;
      h += this.hess[order[k]!]!;
    }
    const root: OpenLeaf = { node: 0, depth: 0, start: 0, end: rows, g, h, c: rows, hist: this.take(), split: null };
    this.buildHistogram(root.hist!, root);
    this.findSplit(root);
    const leaves: OpenLeaf[] = [root];

    for (let count = 1; count < params.maxLeaves; count++) {
      let best: OpenLeaf | null = null;
      for (const leaf of leaves) if (leaf.split && (!best || leaf.split.gain > best.split!.gain)) best = leaf;
      if (!best) break;
      const split = best.split!;
      const mid = this.partition(best, split);

      const leftNode = feature.length;
      const rightNode = leftNode + 1;
      const column = split.column;
      const edges = this.mapper.columns[column]!.edges;
      feature[best.node] = column;
      threshold[best.node] = split.bin === edges.length - 1 ? FLOAT32_MAX : edges[split.bin]!;
      left[best.node] = leftNode;
      right[best.node] = rightNode;
      missingLeft[best.node] = split.missingLeft ? 1 : 0;
      splitBin[best.node] = split.bin;
      const lc = mid - best.start;
      const rc = best.end - mid;
      for (const c of [lc, rc]) {
        feature.push(-1);
        threshold.push(0);
        left.push(-1);
        right.push(-1);
        value.push(0);
        cover.push(c);
        missingLeft.push(0);
        splitBin.push(-1);
      }
      const l: OpenLeaf = { node: leftNode, depth: best.depth + 1, start: best.start, end: mid, g: split.leftG, h: split.leftH, c: lc, hist: null, split: null };
      const r: OpenLeaf = { node: rightNode, depth: best.depth + 1, start: mid, end: best.end, g: best.g - split.leftG, h: best.h - split.leftH, c: rc, hist: null, split: null };
      // the smaller child gets a fresh histogram; the larger one is parent − smaller, in place
      const [small, large] = lc <= rc ? [l, r] : [r, l];
      small.hist = this.take();
      this.buildHistogram(small.hist, small);
      large.hist = best.hist!;
      best.hist = null;
      const sh = small.hist;
      const lh = large.hist;
      for (let i = 0; i < lh.length; i++) lh[i]! -= sh[i]!;

      leaves.splice(leaves.indexOf(best), 1, l, r);
      for (const child of [l, r]) {
        this.findSplit(child);
        if (!child.split) this.release(child);
      }
    }
    for (const leaf of leaves) {
      value[leaf.node] = Math.fround((-leaf.g / (leaf.h + l2)) * learningRate);
      this.release(leaf);
    }
    return {
      tree: {
        feature: Int32Array.from(feature),
        threshold: Float64Array.from(threshold),
        left: Int32Array.from(left),
        right: Int32Array.from(right),
        value: Float64Array.from(value),
        cover: Float64Array.from(cover),
        missingLeft: Uint8Array.from(missingLeft),
      },
      splitBin: Int32Array.from(splitBin),
    };
  }

  /** The leaf a training row reaches, routed on its bins exactly as the split search saw it. */
  leafOfBinnedRow(grown: GrownTree, row: number): number {
    const { feature, left, right, missingLeft } = grown.tree;
    const base = row * this.cols;
    let node = 0;
    for (let f = feature[0]!; f >= 0; f = feature[node]!) {
      const b = this.bins[base + f]!;
      const goLeft = b === this.mapper.columns[f]!.missingBin ? missingLeft[node] === 1 : b <= grown.splitBin[node]!;
      node = goLeft ? left[node]! : right[node]!;
    }
    return node;
  }

  private take(): Float64Array {
    const hist = this.pool.pop() ?? new Float64Array(this.mapper.totalBins * 3);
    return hist;
  }

  private release(leaf: OpenLeaf): void {
    if (leaf.hist) this.pool.push(leaf.hist);
    leaf.hist = null;
  }

  /**
   * Σg, Σh and the row count per (sampled column, bin) over the leaf's rows: the rows' non-default
   * entries first, then each column's most frequent bin as the leaf's totals minus its other bins.
   */
  private buildHistogram(hist: Float64Array, leaf: OpenLeaf): void {
    hist.fill(0);
    const { order, grad, hess, rowStart, entryPos, entryColumn, sampled } = this;
    const all = this.nFeatures === this.cols;
    for (let k = leaf.start; k < leaf.end; k++) {
      const r = order[k]!;
      const g = grad[r]!;
      const h = hess[r]!;
      const end = rowStart[r + 1]!;
      for (let e = rowStart[r]!; e < end; e++) {
        if (!all && sampled[entryColumn[e]!] === 0) continue;
        const p = entryPos[e]!;
        hist[p]! += g;
        hist[p + 1]! += h;
        hist[p + 2]! += 1;
      }
    }
    const { offsets, columns } = this.mapper;
    for (let j = 0; j < this.nFeatures; j++) {
      const f = this.features[j]!;
      const d = this.defaultPos[f]!;
      let g = leaf.g;
      let h = leaf.h;
      let c = leaf.c;
      const first = offsets[f]! * 3;
      const last = first + columns[f]!.count * 3;
      for (let p = first; p < last; p += 3) {
        if (p === d) continue;
        g -= hist[p]!;
        h -= hist[p + 1]!;
        c -= hist[p + 2]!;
      }
      hist[d] = g;
      hist[d + 1] = h;
      hist[d + 2] = c;
    }
  }

  /** Best split of a leaf over the sampled columns, or none (sets `leaf.split`). */
  private findSplit(leaf: OpenLeaf): void {
    leaf.split = null;
    const { params } = this;
    if (leaf.depth >= params.maxDepth || leaf.c < 2 * params.minSamplesLeaf || leaf.h < 2 * params.minChildWeight) return;
    const hist = leaf.hist!;
    const { l2, minChildWeight, minSamplesLeaf } = params;
    const G = leaf.g;
    const H = leaf.h;
    const C = leaf.c;
    const parentScore = (G * G) / (H + l2);
    let best: Split | null = null;
    let bestGain = params.minSplitGain;
    const consider = (column: number, bin: number, missingLeft: boolean, gl: number, hl: number, cl: number) => {
      const gr = G - gl;
      const hr = H - hl;
      const cr = C - cl;
      if (cl < minSamplesLeaf || cr < minSamplesLeaf || hl < minChildWeight || hr < minChildWeight) return;
      const gain = 0.5 * ((gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentScore);
      if (gain > bestGain && gain > 1e-12 * Math.abs(parentScore)) {
        bestGain = gain;
        best = { gain, column, bin, missingLeft, leftG: gl, leftH: hl, leftC: cl };
      }
    };
    for (let j = 0; j < this.nFeatures; j++) {
      const f = this.features[j]!;
      const bins = this.mapper.columns[f]!;
      const off = this.mapper.offsets[f]! * 3;
      const m = off + bins.missingBin * 3;
      const mg = hist[m]!;
      const mh = hist[m + 1]!;
      const mc = hist[m + 2]!;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      // a cut after value bin b; the last value bin (edge +∞) only separates values from NaNs
      const lastCut = mc > 0 ? bins.missingBin - 1 : bins.missingBin - 2;
      for (let b = 0; b <= lastCut; b++) {
        const p = off + b * 3;
        gl += hist[p]!;
        hl += hist[p + 1]!;
        cl += hist[p + 2]!;
        if (cl === 0) continue;
        consider(f, b, false, gl, hl, cl);
        if (mc > 0 && b < bins.missingBin - 1) consider(f, b, true, gl + mg, hl + mh, cl + mc);
      }
    }
    leaf.split = best;
  }

  /** Stable partition of the leaf's rows: those going left first. Returns the boundary. */
  private partition(leaf: OpenLeaf, split: Split): number {
    const { order, scratch, bins, cols } = this;
    const missingBin = this.mapper.columns[split.column]!.missingBin;
    let l = leaf.start;
    let r = 0;
    for (let k = leaf.start; k < leaf.end; k++) {
      const row = order[k]!;
      const b = bins[row * cols + split.column]!;
      if (b === missingBin ? split.missingLeft : b <= split.bin) order[l++] = row;
      else scratch[r++] = row;
    }
    order.set(scratch.subarray(0, r), l);
    return l;
  }
}
