/**
 * Feature binning for histogram GBDT: each column of the float32 training matrix is cut into at
 * most `maxBins − 1` value bins (quantiles of the training values, or one bin per distinct value
 * when there are few) plus one bin for missing values (NaN).
 *
 * Quantile bins are wide where data is sparse, which is where a rule's threshold often sits (a
 * power limit in the last 0.3 % of readings shares one bin with everything down to the minimum).
 * A `uniformShare` above 0 spends that share of the budget on equal-width cuts over the column's
 * range instead, so every part of the range is resolved to at least range / (share × bins).
 *
 * A bin's upper edge is a float32 number, and a value lands in the first bin whose edge it does not
 * exceed (`x <= edge`). Trees split on "bin ≤ b", which is therefore exactly the comparison
 * `x <= edges[b]` that onnxruntime's BRANCH_LEQ makes in float32: binning and serving cannot
 * disagree, for training rows or any other row.
 */

/** The most bins per column, missing-value bin included, so that a bin index fits in a byte. */
export const MAX_BINS = 255;

export interface ColumnBins {
  /**
   * upper edge of each value bin, ascending; float32 values. The last edge is +Infinity, so every
   * non-NaN value has a bin.
   */
  edges: Float64Array;
  /** index of the missing-value (NaN) bin: `edges.length` */
  missingBin: number;
  /** number of bins including the missing one: `edges.length + 1` */
  count: number;
}

export interface BinMapper {
  columns: ColumnBins[];
  /** histogram offset of each column's bin 0 (columns' bins laid end to end) */
  offsets: Int32Array;
  /** Σ count over columns */
  totalBins: number;
}

/** x ↦ nearest float32, as onnxruntime sees an attribute or input value */
const f32 = Math.fround;

/**
 * An edge between two consecutive distinct float32 values `below < above`: their midpoint rounded
 * to float32 when that still separates them, else `below` itself. Always `below <= edge < above`.
 */
export function edgeBetween(below: number, above: number): number {
  const mid = f32(below + (above - below) / 2);
  return mid >= below && mid < above ? mid : below;
}

/**
 * Learns the bins of every column of a row-major float32 matrix from the given rows.
 * @param maxBins at most this many bins per column including the missing bin (2..255)
 * @param uniformShare the share of value bins cut at equal widths rather than at quantiles, in [0, 1)
 */
export function fitBins(x: Float32Array, cols: number, rows: ArrayLike<number>, maxBins = MAX_BINS, uniformShare = 0): BinMapper {
  if (!(Number.isInteger(maxBins) && maxBins >= 3 && maxBins <= MAX_BINS)) {
    throw new RangeError(`maxBins must be an integer in [3, ${MAX_BINS}], got ${maxBins}`);
  }
  if (!(uniformShare >= 0 && uniformShare < 1)) throw new RangeError(`uniformShare must be in [0, 1), got ${uniformShare}`);
  const valueBins = maxBins - 1;
  const columns: ColumnBins[] = [];
  const values = new Float64Array(rows.length);
  for (let c = 0; c < cols; c++) {
    let n = 0;
    for (let k = 0; k < rows.length; k++) {
      const v = x[rows[k]! * cols + c]!;
      if (v === v) values[n++] = v; // skip NaN
    }
    const sorted = values.subarray(0, n).sort();
    columns.push(columnBins(sorted, valueBins, uniformShare));
  }
  const offsets = new Int32Array(cols);
  let total = 0;
  for (let c = 0; c < cols; c++) {
    offsets[c] = total;
    total += columns[c]!.count;
  }
  return { columns, offsets, totalBins: total };
}

/** Edges for one column from its sorted non-NaN values. */
function columnBins(sorted: Float64Array, valueBins: number, uniformShare: number): ColumnBins {
  const n = sorted.length;
  const distinct: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  let edges: number[] = [];
  if (distinct.length <= valueBins) {
    for (let i = 0; i + 1 < distinct.length; i++) edges.push(edgeBetween(distinct[i]!, distinct[i + 1]!));
  } else {
    const uniform = Math.floor(valueBins * uniformShare);
    const cuts = new Set(quantileEdges(sorted, valueBins - uniform));
    const [min, max] = [sorted[0]!, sorted[n - 1]!];
    for (let k = 1; k < uniform; k++) {
      // an equal-width cut, moved onto the edge between the two data values around it
      const at = min + ((max - min) * k) / uniform;
      const above = firstAbove(sorted, at);
      if (above === undefined) continue;
      const below = lastAtOrBelow(sorted, at);
      if (below !== undefined) cuts.add(edgeBetween(below, above));
    }
    edges = [...cuts].sort((a, b) => a - b);
  }
  edges.push(Infinity);
  return { edges: Float64Array.from(edges), missingBin: edges.length, count: edges.length + 1 };
}

/** Cuts after the value at each k/valueBins quantile, when a larger value follows. */
function quantileEdges(sorted: Float64Array, valueBins: number): number[] {
  const n = sorted.length;
  const edges: number[] = [];
  let last = -Infinity;
  for (let k = 1; k < valueBins; k++) {
    const below = sorted[Math.max(0, Math.floor((k * n) / valueBins) - 1)]!;
    if (below <= last) continue;
    const above = firstAbove(sorted, below);
    if (above === undefined) break;
    edges.push(edgeBetween(below, above));
    last = below;
  }
  return edges;
}

/** The largest value of `sorted` not above `v`. */
function lastAtOrBelow(sorted: Float64Array, v: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? sorted[lo - 1] : undefined;
}

/** The smallest value of `sorted` greater than `v`, by binary search. */
function firstAbove(sorted: Float64Array, v: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length ? sorted[lo] : undefined;
}

/** The bin of one value: the first edge it does not exceed; NaN → the missing bin. */
export function binOf(column: ColumnBins, v: number): number {
  if (v !== v) return column.missingBin;
  const edges = column.edges;
  let lo = 0;
  let hi = edges.length - 1; // the last edge is +Infinity
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bins every row of a row-major matrix: a row-major Uint8Array of bin indices. */
export function applyBins(mapper: BinMapper, x: Float32Array, rows: number, cols: number): Uint8Array {
  if (mapper.columns.length !== cols) throw new RangeError(`bin mapper has ${mapper.columns.length} columns, matrix ${cols}`);
  const out = new Uint8Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const column = mapper.columns[c]!;
    for (let r = 0; r < rows; r++) out[r * cols + c] = binOf(column, x[r * cols + c]!);
  }
  return out;
}
