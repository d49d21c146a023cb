/**
 * Exact TreeSHAP for tree ensembles: the path-dependent algorithm of Lundberg, Erion & Lee,
 * "Consistent Individualized Feature Attribution for Tree Ensembles" (2018), Algorithm 2, which
 * gives in O(leaves × depth²) per tree the Shapley values of the game
 * v(S) = E[f(x) | x_S], where the expectation over the features outside S follows each node's
 * training cover (the share of training rows that went each way).
 *
 * Used by serving (per-prediction contributions, `explain.ts`) and by training (global importance),
 * so both read trees in this one form. Properties the tests check: Σ φ + `expectedValue` equals
 * the raw score, and φ equals brute-force Shapley values of v on small ensembles.
 *
 * Small trees are tabulated instead (in the spirit of Yang's "Fast TreeSHAP", 2021). A leaf's share
 * of v(S) is value × Π_{k ∈ S} o_k × Π_{k ∉ S} z_k over the distinct features k of its path, where
 * z_k is the cover share of the path's splits on k and o_k ∈ {0, 1} says whether the row follows
 * them. So a tree's Shapley values depend on the row only through which way it goes at each split,
 * and for a tree of at most TABLE_MAX_SPLITS splits they are computed once for every pattern of
 * directions; explaining a row is then one comparison per distinct split test and one lookup per
 * tree. For the shallow trees most boosted models ship, whose every prediction is explained, that is
 * an order of magnitude faster than the recursion: lead_conversion 1.2.0's 2,678 depth-3 trees take
 * 1.44–1.53 ms a row by the recursion and 61–180 µs from their tables (best of 12 rounds over the
 * parity rows, runs of 2026-12-03; 37–45 µs when first measured). That figure swings threefold from
 * run to run where the recursion's holds within 6 %, likely because the tables, 10 MB there, are
 * read from a memory the host's other tenants share.
 *
 * A larger tree's table would grow as 2^splits, so its leaves are tabulated one by one instead
 * (Yang's "Fast TreeSHAP v2"): a leaf's share depends on the row only through o over its path's
 * d distinct features, so each leaf keeps its Shapley values for all 2^d patterns of o, and
 * explaining a row costs one bit test per path step and d additions per leaf, O(leaves × depth)
 * per tree instead of the recursion's O(leaves × depth²) with far larger constants. Leaves of up
 * to LEAF_TABLE_MAX_FEATURES features are tabulated while the tables fit LEAF_TABLE_BUDGET; other
 * trees keep the recursion.
 */

/**
 * One tree in flat arrays; node 0 is the root, children come after their parent, `feature[i] < 0`
 * marks a leaf. A row goes left when `x[feature] <= threshold` (float32 values), or when it is NaN
 * and `missingLeft[i]` is 1.
 */
export interface ShapTree {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  /** leaf values (ignored at internal nodes) */
  value: ArrayLike<number>;
  /** training rows through each node; a parent's cover is the sum of its children's */
  cover: ArrayLike<number>;
  missingLeft?: ArrayLike<number>;
}

interface CompiledTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  cover: Float64Array;
  missingLeft: Uint8Array;
  depth: number;
}

/** Splits up to which a tree is tabulated: 2^splits patterns × its distinct features. */
const TABLE_MAX_SPLITS = 7;
/** Distinct path features up to which a leaf is tabulated: 2^d patterns × d values. */
const LEAF_TABLE_MAX_FEATURES = 6;
/**
 * Table entries (float64) all the leaf tables of one explainer may take, 32 MB: the shipped
 * ensembles of depth 4 to 6 take 0.12–0.54 M each, and a larger model's remaining trees fall back
 * to the recursion rather than growing a process without bound.
 */
const LEAF_TABLE_BUDGET = 1 << 22;

/**
 * A small tree's Shapley values by pattern: bit b of a pattern is 1 when the row goes left at split
 * node `splits[b]`, and `values[pattern × features.length + k]` is then the value of column `features[k]`.
 */
interface TreeTable {
  splits: number[];
  features: number[];
  values: Float64Array;
}

/**
 * The distinct split tests of the tabulated trees and leaves. Boosted trees split on histogram bin
 * edges, so many splits test the same (column, threshold, NaN direction): each distinct test is
 * evaluated once per row.
 */
class SplitTests {
  private readonly index = new Map<string, number>();
  readonly column: number[] = [];
  readonly threshold: number[] = [];
  readonly missingLeft: number[] = [];

  /** The index of the test at `node` of `tree`. */
  of(tree: CompiledTree, node: number): number {
    const key = `${tree.feature[node]} ${tree.threshold[node]} ${tree.missingLeft[node]}`;
    let index = this.index.get(key);
    if (index === undefined) {
      index = this.index.size;
      this.index.set(key, index);
      this.column.push(tree.feature[node]!);
      this.threshold.push(tree.threshold[node]!);
      this.missingLeft.push(tree.missingLeft[node]!);
    }
    return index;
  }
}

/**
 * Every tabulated tree in flat arrays, read in one loop per row. Tree t's splits are entries
 * [splitStart[t], splitStart[t + 1]) of `splitTest` (bit b of its pattern is entry
 * splitStart[t] + b), its columns entries [featureStart[t], featureStart[t + 1]) of `featureColumn`,
 * and its table starts at `valueStart[t]` of `values`.
 */
interface PackedTables {
  trees: number;
  splitStart: Int32Array;
  splitTest: Int32Array;
  featureStart: Int32Array;
  featureColumn: Int32Array;
  valueStart: Int32Array;
  values: Float64Array;
}

function pack(trees: readonly CompiledTree[], tables: readonly TreeTable[], tests: SplitTests): PackedTables {
  const splitStart = starts(tables.map((t) => t.splits.length));
  return {
    trees: tables.length,
    splitStart,
    splitTest: Int32Array.from(tables.flatMap((table, t) => table.splits.map((node) => tests.of(trees[t]!, node)))),
    featureStart: starts(tables.map((t) => t.features.length)),
    featureColumn: Int32Array.from(tables.flatMap((t) => t.features)),
    ...concatValues(tables),
  };
}

/** Where each of consecutive runs of `lengths` starts, and (last entry) where the last one ends. */
function starts(lengths: readonly number[]): Int32Array {
  const out = new Int32Array(lengths.length + 1);
  lengths.forEach((n, i) => (out[i + 1] = out[i]! + n));
  return out;
}

/** The tables' values end to end, and where each table's start. */
function concatValues(tables: ReadonlyArray<{ values: Float64Array }>): { valueStart: Int32Array; values: Float64Array } {
  const valueStart = starts(tables.map((t) => t.values.length));
  const values = new Float64Array(valueStart[tables.length]!);
  tables.forEach((t, i) => values.set(t.values, valueStart[i]));
  return { valueStart: valueStart.subarray(0, tables.length), values };
}

/**
 * Every tabulated leaf in flat arrays. Leaf l's path steps are entries [stepStart[l],
 * stepStart[l + 1]) of the `step*` arrays: the test, whether the path went left, and the bit of
 * its feature in the leaf's pattern; its d features' columns are entries [columnStart[l],
 * columnStart[l + 1]) of `column`, and its 2^d × d table starts at `valueStart[l]` of `values`.
 */
interface PackedLeaves {
  leaves: number;
  stepStart: Int32Array;
  stepTest: Int32Array;
  stepWent: Uint8Array;
  stepBit: Uint8Array;
  columnStart: Int32Array;
  column: Int32Array;
  valueStart: Int32Array;
  values: Float64Array;
}

/** One leaf's table, ready to pack. */
interface LeafTable {
  steps: Array<{ test: number; went: number; bit: number }>;
  columns: number[];
  values: Float64Array;
}

/**
 * The tables of a tree's leaves, or null when a leaf has more than LEAF_TABLE_MAX_FEATURES
 * distinct path features or the tables would take more than `room` entries.
 */
function tabulateLeaves(t: CompiledTree, tests: SplitTests, room: number): LeafTable[] | null {
  const { leaves } = paths(t);
  const shapes = leaves.map(({ steps }) => [...new Set(steps.map((s) => t.feature[s.node]!))]);
  if (shapes.some((distinct) => distinct.length > LEAF_TABLE_MAX_FEATURES)) return null;
  if (shapes.reduce((n, distinct) => n + (1 << distinct.length) * distinct.length, 0) > room) return null;
  const tables: LeafTable[] = [];
  leaves.forEach(({ node: leaf, steps }, i) => {
    if (steps.length === 0) return; // a lone root leaf: no feature, no attribution
    const distinct = shapes[i]!;
    tables.push({
      steps: steps.map((s) => ({ test: tests.of(t, s.node), went: s.left ? 1 : 0, bit: distinct.indexOf(t.feature[s.node]!) })),
      columns: distinct,
      values: leafShapley(t.value[leaf]!, zeroFractions(t, steps, distinct)),
    });
  });
  return tables;
}

function packLeaves(tables: readonly LeafTable[]): PackedLeaves {
  const steps = tables.flatMap((t) => t.steps);
  return {
    leaves: tables.length,
    stepStart: starts(tables.map((t) => t.steps.length)),
    stepTest: Int32Array.from(steps, (s) => s.test),
    stepWent: Uint8Array.from(steps, (s) => s.went),
    stepBit: Uint8Array.from(steps, (s) => s.bit),
    columnStart: starts(tables.map((t) => t.columns.length)),
    column: Int32Array.from(tables.flatMap((t) => t.columns)),
    ...concatValues(tables),
  };
}

export interface TreeShapExplainer {
  /** number of encoded columns (φ has one entry per column) */
  readonly columns: number;
  /** Σ over trees of the cover-weighted mean leaf value (without any base score) */
  readonly expectedValue: number;
  /** Adds each column's Shapley value for the row at `x[offset, offset + columns)` into `phi`. */
  explainRow(x: ArrayLike<number>, offset: number, phi: Float64Array): void;
  /** Σ over trees of the leaf values the row reaches (without any base score). */
  rawScore(x: ArrayLike<number>, offset: number): number;
}

/** Checks and compiles trees; throws RangeError on a malformed tree (bad child, column or cover). */
export function createTreeShap(trees: readonly ShapTree[], columns: number, options: { leafTableBudget?: number } = {}): TreeShapExplainer {
  const all = trees.map((t, i) => compile(t, i, columns));
  let expectedValue = 0;
  for (const t of all) {
    let sum = 0;
    for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! < 0) sum += t.value[i]! * t.cover[i]!;
    expectedValue += sum / t.cover[0]!;
  }
  let explain: ((x: ArrayLike<number>, offset: number, phi: Float64Array) => void) | undefined;
  return {
    columns,
    expectedValue,
    explainRow(x, offset, phi) {
      if (phi.length < columns) throw new RangeError(`explainRow: phi has ${phi.length} entries for ${columns} columns`);
      // the tables are built on the first explanation: every process loads every model version,
      // and most never explain most of them
      (explain ??= rowExplainer(all, options.leafTableBudget ?? LEAF_TABLE_BUDGET))(x, offset, phi);
    },
    rawScore(x, offset) {
      let sum = 0;
      for (const t of all) {
        let node = 0;
        for (let f = t.feature[0]!; f >= 0; f = t.feature[node]!) {
          const v = x[offset + f]!;
          node = v <= t.threshold[node]! || (v !== v && t.missingLeft[node] === 1) ? t.left[node]! : t.right[node]!;
        }
        sum += t.value[node]!;
      }
      return sum;
    },
  };
}

/** Tabulates what it can of the trees (within `budget` leaf-table entries); returns the row explainer. */
function rowExplainer(all: readonly CompiledTree[], budget: number): (x: ArrayLike<number>, offset: number, phi: Float64Array) => void {
  const tests = new SplitTests();
  const tables = all.map(tabulate);
  const tabulated = pack(all.filter((_, i) => tables[i]), tables.filter((t) => t !== null), tests);
  const leafTables: LeafTable[] = [];
  let room = budget;
  // the recursion's trees; its path storage below is sized for them
  const compiled: CompiledTree[] = [];
  all.forEach((t, i) => {
    if (tables[i]) return;
    const leaves = tabulateLeaves(t, tests, room);
    if (!leaves) return void compiled.push(t);
    for (const leaf of leaves) room -= leaf.values.length;
    leafTables.push(...leaves);
  });
  const leafTabulated = packLeaves(leafTables);
  const packedTests = { column: Int32Array.from(tests.column), threshold: Float32Array.from(tests.threshold), missingLeft: Uint8Array.from(tests.missingLeft) };
  const maxDepth = compiled.reduce((m, t) => Math.max(m, t.depth), 0);
  // path storage for every recursion level: Σ_{d=0}^{maxDepth+1} (d + 1) elements
  const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
  const pathFeature = new Int32Array(size);
  const pathZero = new Float64Array(size);
  const pathOne = new Float64Array(size);
  const pathWeight = new Float64Array(size);

  function extend(at: number, depth: number, zero: number, one: number, feature: number): void {
    pathFeature[at + depth] = feature;
    pathZero[at + depth] = zero;
    pathOne[at + depth] = one;
    pathWeight[at + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pathWeight[at + i + 1]! += (one * pathWeight[at + i]! * (i + 1)) / (depth + 1);
      pathWeight[at + i] = (zero * pathWeight[at + i]! * (depth - i)) / (depth + 1);
    }
  }

  function unwind(at: number, depth: number, index: number): void {
    const one = pathOne[at + index]!;
    const zero = pathZero[at + index]!;
    let next = pathWeight[at + depth]!;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pathWeight[at + i]!;
        pathWeight[at + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pathWeight[at + i]! * zero * (depth - i)) / (depth + 1);
      } else {
        pathWeight[at + i] = (pathWeight[at + i]! * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      pathFeature[at + i] = pathFeature[at + i + 1]!;
      pathZero[at + i] = pathZero[at + i + 1]!;
      pathOne[at + i] = pathOne[at + i + 1]!;
    }
  }

  /** Σ of the path weights with element `index` unwound, without changing the path. */
  function unwoundSum(at: number, depth: number, index: number): number {
    const one = pathOne[at + index]!;
    const zero = pathZero[at + index]!;
    let next = pathWeight[at + depth]!;
    let total = 0;
    if (one !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next / ((i + 1) * one);
        total += tmp;
        next = pathWeight[at + i]! - tmp * zero * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += pathWeight[at + i]! / (zero * (depth - i));
    }
    return total * (depth + 1);
  }

  let tree: CompiledTree = compiled[0]!;
  let row: ArrayLike<number> = [];
  let rowOffset = 0;
  let out: Float64Array = new Float64Array(0);

  function recurse(node: number, parentAt: number, depth: number, zero: number, one: number, feature: number): void {
    const at = parentAt + depth + 1;
    // this level's path starts as a copy of the parent's
    for (let i = 0; i < depth; i++) {
      pathFeature[at + i] = pathFeature[parentAt + i]!;
      pathZero[at + i] = pathZero[parentAt + i]!;
      pathOne[at + i] = pathOne[parentAt + i]!;
      pathWeight[at + i] = pathWeight[parentAt + i]!;
    }
    extend(at, depth, zero, one, feature);
    const split = tree.feature[node]!;
    if (split < 0) {
      const leaf = tree.value[node]!;
      for (let i = 1; i <= depth; i++) {
        const w = unwoundSum(at, depth, i);
        out[pathFeature[at + i]!]! += w * (pathOne[at + i]! - pathZero[at + i]!) * leaf;
      }
      return;
    }
    const v = row[rowOffset + split]!;
    const goesLeft = v <= tree.threshold[node]! || (v !== v && tree.missingLeft[node] === 1);
    const hot = goesLeft ? tree.left[node]! : tree.right[node]!;
    const cold = goesLeft ? tree.right[node]! : tree.left[node]!;
    const cover = tree.cover[node]!;
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    // a feature already on the path is undone, then redone with this node's fractions
    let index = 0;
    while (index <= d && pathFeature[at + index] !== split) index++;
    if (index <= d) {
      incomingZero = pathZero[at + index]!;
      incomingOne = pathOne[at + index]!;
      unwind(at, d, index);
      d -= 1;
    }
    recurse(hot, at, d + 1, (tree.cover[hot]! / cover) * incomingZero, incomingOne, split);
    recurse(cold, at, d + 1, (tree.cover[cold]! / cover) * incomingZero, 0, split);
  }

  const wentLeft = new Uint8Array(packedTests.column.length);

  function lookUp(x: ArrayLike<number>, offset: number, phi: Float64Array): void {
    // locals, not the closure's: the loops below run for every tree of every explained row
    const { column: testColumn, threshold: testThreshold, missingLeft: testMissingLeft } = packedTests;
    for (let u = 0; u < testColumn.length; u++) {
      const v = x[offset + testColumn[u]!]!;
      wentLeft[u] = v <= testThreshold[u]! || (v !== v && testMissingLeft[u] === 1) ? 1 : 0;
    }
    const { trees, splitStart, splitTest, featureStart, featureColumn, valueStart, values } = tabulated;
    for (let t = 0; t < trees; t++) {
      const s0 = splitStart[t]!;
      const s1 = splitStart[t + 1]!;
      let pattern = 0;
      for (let s = s0; s < s1; s++) pattern |= wentLeft[splitTest[s]!]! << (s - s0);
      const f0 = featureStart[t]!;
      const width = featureStart[t + 1]! - f0;
      const at = valueStart[t]! + pattern * width;
      for (let k = 0; k < width; k++) phi[featureColumn[f0 + k]!]! += values[at + k]!;
    }
  }

  function lookUpLeaves(phi: Float64Array): void {
    const { leaves, stepStart, stepTest, stepWent, stepBit, columnStart, column, valueStart: leafStart, values: leafValues } = leafTabulated;
    for (let l = 0; l < leaves; l++) {
      const c0 = columnStart[l]!;
      const d = columnStart[l + 1]! - c0;
      // o_k = 1 when the row follows every split of the leaf's path on its feature k
      let ones = (1 << d) - 1;
      for (let s = stepStart[l]!, end = stepStart[l + 1]!; s < end; s++) if (wentLeft[stepTest[s]!] !== stepWent[s]) ones &= ~(1 << stepBit[s]!);
      const at = leafStart[l]! + ones * d;
      for (let k = 0; k < d; k++) phi[column[c0 + k]!]! += leafValues[at + k]!;
    }
  }

  return (x, offset, phi) => {
    row = x;
    rowOffset = offset;
    out = phi;
    lookUp(x, offset, phi);
    if (leafTabulated.leaves > 0) lookUpLeaves(phi);
    for (const t of compiled) {
      tree = t;
      // the root's parent path is a dummy element at slot 0, with no feature
      recurse(0, -1, 0, 1, 1, -1);
    }
    row = [];
    out = new Float64Array(0);
  };
}

function compile(t: ShapTree, index: number, columns: number): CompiledTree {
  const n = t.feature.length;
  const where = `tree ${index}`;
  if (n === 0) throw new RangeError(`${where}: no nodes`);
  for (const [name, a] of [["threshold", t.threshold], ["left", t.left], ["right", t.right], ["value", t.value], ["cover", t.cover]] as const) {
    if (a.length !== n) throw new RangeError(`${where}: ${name} has ${a.length} entries for ${n} nodes`);
  }
  if (t.missingLeft && t.missingLeft.length !== n) throw new RangeError(`${where}: missing_left has ${t.missingLeft.length} entries for ${n} nodes`);
  const depth = new Int32Array(n);
  const reached = new Uint8Array(n);
  reached[0] = 1;
  let maxDepth = 0;
  for (let i = 0; i < n; i++) {
    if (!reached[i]) throw new RangeError(`${where}: node ${i} is not reached from the root (children must follow their parent)`);
    const f = t.feature[i]!;
    if (!(t.cover[i]! > 0)) throw new RangeError(`${where}: node ${i} has cover ${t.cover[i]}`);
    if (f < 0) {
      if (!Number.isFinite(t.value[i]!)) throw new RangeError(`${where}: leaf ${i} has value ${t.value[i]}`);
      continue;
    }
    if (!Number.isInteger(f) || f >= columns) throw new RangeError(`${where}: node ${i} tests column ${f}; the model has ${columns}`);
    for (const c of [t.left[i]!, t.right[i]!]) {
      if (!Number.isInteger(c) || c <= i || c >= n || reached[c]) throw new RangeError(`${where}: node ${i} has an invalid child ${c}`);
      reached[c] = 1;
      depth[c] = depth[i]! + 1;
      if (depth[c]! > maxDepth) maxDepth = depth[c]!;
    }
  }
  return {
    feature: Int32Array.from(t.feature),
    // float32 thresholds: the same comparison as onnxruntime even if the card spells them shorter
    threshold: Float32Array.from(t.threshold),
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    // leaf values are float32 too (what the ONNX file stores)
    value: Float64Array.from(t.value, Math.fround),
    cover: Float64Array.from(t.cover),
    missingLeft: t.missingLeft ? Uint8Array.from(t.missingLeft) : new Uint8Array(n),
    depth: maxDepth,
  };
}

const FACTORIAL = [1, 1, 2, 6, 24, 120, 720, 5040, 40320];

/** |S|! (d − |S| − 1)! / d!: the Shapley weight of a coalition of size s among d players. */
function shapleyWeight(s: number, d: number): number {
  return (FACTORIAL[s]! * FACTORIAL[d - s - 1]!) / FACTORIAL[d]!;
}

type Step = { node: number; left: boolean };

/** The tree's split nodes, depth-first, and each leaf with its path's (split, went left) steps. */
function paths(t: CompiledTree): { splits: number[]; leaves: Array<{ node: number; steps: Step[] }> } {
  const splits: number[] = [];
  const leaves: Array<{ node: number; steps: Step[] }> = [];
  const stack: Array<{ node: number; steps: Step[] }> = [{ node: 0, steps: [] }];
  while (stack.length > 0) {
    const { node, steps } = stack.pop()!;
    if (t.feature[node]! < 0) {
      leaves.push({ node, steps });
      continue;
    }
    splits.push(node);
    stack.push({ node: t.right[node]!, steps: [...steps, { node, left: false }] });
    stack.push({ node: t.left[node]!, steps: [...steps, { node, left: true }] });
  }
  return { splits, leaves };
}

/** z_k of each distinct path feature k: the product of the cover shares of the path's splits on k. */
function zeroFractions(t: CompiledTree, steps: readonly Step[], distinct: readonly number[]): number[] {
  const zero = distinct.map(() => 1);
  for (const { node, left } of steps) zero[distinct.indexOf(t.feature[node]!)]! *= t.cover[left ? t.left[node]! : t.right[node]!]! / t.cover[node]!;
  return zero;
}

/** The table of a tree, or null when it has more than TABLE_MAX_SPLITS splits. */
function tabulate(t: CompiledTree): TreeTable | null {
  const { splits, leaves } = paths(t);
  if (splits.length > TABLE_MAX_SPLITS) return null;
  const bit = new Map(splits.map((node, b) => [node, b]));
  const features = [...new Set(splits.map((node) => t.feature[node]!))];
  const slot = new Map(features.map((f, k) => [f, k]));
  const values = new Float64Array((1 << splits.length) * features.length);
  for (const { node: leaf, steps } of leaves) {
    if (steps.length === 0) continue; // a lone root leaf: no feature, no attribution
    const distinct = [...new Set(steps.map((s) => t.feature[s.node]!))];
    const d = distinct.length;
    const stepBit = steps.map((s) => bit.get(s.node)!);
    const stepWent = steps.map((s) => (s.left ? 1 : 0));
    const stepOf = steps.map((s) => distinct.indexOf(t.feature[s.node]!));
    const column = distinct.map((f) => slot.get(f)!);
    const phi = leafShapley(t.value[leaf]!, zeroFractions(t, steps, distinct));
    for (let pattern = 0; pattern < 1 << splits.length; pattern++) {
      // o_k = 1 when the row follows every split of the path on distinct feature k
      let ones = (1 << d) - 1;
      for (let i = 0; i < steps.length; i++) if (((pattern >> stepBit[i]!) & 1) !== stepWent[i]) ones &= ~(1 << stepOf[i]!);
      for (let k = 0; k < d; k++) values[pattern * features.length + column[k]!]! += phi[ones * d + k]!;
    }
  }
  return { splits, features, values };
}

/**
 * The Shapley values of one leaf's game, v(S) = value × Π_{k ∈ S} o_k × Π_{k ∉ S} z_k over its d
 * path features, for every pattern of o: entry `ones × d + i` is feature i's value when o_k is bit k
 * of `ones`.
 */
function leafShapley(value: number, zero: readonly number[]): Float64Array {
  const d = zero.length;
  const out = new Float64Array((1 << d) * d);
  const weight = Array.from({ length: d }, (_, size) => shapleyWeight(size, d));
  // Coefficient s of Π_k (z_k + o_k t) is Σ over coalitions S with |S| = s of Π_{k ∈ S} o_k ×
  // Π_{k ∉ S} z_k. Feature i's sum over coalitions of the others is that product with i's factor
  // divided out, weighted by size: O(d²) per pattern instead of O(2^d × d²).
  const product = new Float64Array(d + 1);
  const others = new Float64Array(d);
  for (let ones = 0; ones < 1 << d; ones++) {
    product.fill(0);
    product[0] = 1;
    for (let k = 0; k < d; k++) {
      const o = (ones >> k) & 1;
      const z = zero[k]!;
      for (let size = k + 1; size >= 1; size--) product[size] = product[size]! * z + product[size - 1]! * o;
      product[0] = product[0]! * z;
    }
    for (let i = 0; i < d; i++) {
      const z = zero[i]!;
      if ((ones >> i) & 1) {
        // divide by (z + t), from the top: the same recurrence as TreeSHAP's unwind
        others[d - 1] = product[d]!;
        for (let size = d - 1; size >= 1; size--) others[size - 1] = product[size]! - z * others[size]!;
      } else {
        for (let size = 0; size < d; size++) others[size] = product[size]! / z;
      }
      let sum = 0;
      for (let size = 0; size < d; size++) sum += weight[size]! * others[size]!;
      out[ones * d + i] = value * (((ones >> i) & 1) - z) * sum;
    }
  }
  return out;
}
