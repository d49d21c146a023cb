/**
 * The `recommend_retail` ItemKNN, evaluated sparsely from the parameters stored in its own ONNX
 * artifact (src/training/recommender-onnx.ts builds the graph):
 *
 *   scores = basket · S + prior,   S[index[s, j], j] = sim[s, j]   (K neighbours per item j)
 *
 * Why not `session.run()`: the graph multiplies a dense [N, V] basket by the dense [V, V] similarity
 * matrix, V = 2,864, so every row costs V² multiply-adds whatever the history's size. Measured on
 * this machine, 900 rows (the customers of a 1,000-event batch) take 99 ms: alone, that would cap
 * the pipeline at about 10,000 events/s before any database work. Read sparsely, the same numbers
 * cost |history| × (items that list a history item among their K neighbours), 15-20 µs a customer.
 * Unit tests check that this evaluation reproduces onnxruntime's items and scores.
 */
import onnxProto from "onnx-proto";
import type { ModelCard } from "../../src/models/index.ts";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/** One model version's item-item similarities, as rows of S: the items each item is a neighbour of. */
export interface ItemKnn {
  version: string;
  /** vocabulary item ids, by model index */
  items: readonly string[];
  indexOf: ReadonlyMap<string, number>;
  /** the graph's popularity term per item (training popularity × the tuned weight) */
  prior: Float32Array;
  /** the most recommendations one row of the graph can return (its TopK size) */
  maxN: number;
  /** item indices by descending prior (ties: lower index first), for histories with no neighbours */
  byPrior: Int32Array;
  /** row i of S in CSR form: items `rowItems[rowStart[i]..rowStart[i+1])` with similarities `rowSims` */
  rowStart: Int32Array;
  rowItems: Int32Array;
  rowSims: Float32Array;
  /** scratch for `modelTop` and `neighbourScores`, reused so scoring a customer allocates little */
  scratch: { sums: Float64Array; touched: Int32Array; isTouched: Uint8Array; isExcluded: Uint8Array; slot: Int32Array };
}

/** One history item's weight in the basket (model index, weight > 0). */
export interface BasketEntry {
  index: number;
  weight: number;
}

/** The artifact is not an ItemKNN graph this module can read. */
export class ItemKnnFormatError extends Error {
  override name = "ItemKnnFormatError";
}

/** Reads the neighbour lists and prior from a recommender's ONNX bytes and its card. */
export function loadItemKnn(card: Pick<ModelCard, "version" | "items">, onnxBytes: Uint8Array): ItemKnn {
  if (!card.items) throw new ItemKnnFormatError(`card ${card.version} has no item vocabulary`);
  const items = card.items.vocabulary.map((item) => item.id);
  const v = items.length;
  const graph = onnx.ModelProto.decode(onnxBytes).graph;
  const tensors = new Map((graph?.initializer ?? []).map((t) => [t.name ?? "", t]));
  const read = (name: string, type: number, dims: number[]) => {
    const t = tensors.get(name);
    const shape = (t?.dims ?? []).map(Number);
    if (!t || t.dataType !== type || shape.join(",") !== dims.join(",") || !t.rawData) {
      throw new ItemKnnFormatError(`initializer "${name}" is missing or not ${dims.join("×")} of type ${type} (found ${shape.join("×")})`);
    }
    // rawData is little-endian and may sit at any offset of the decoded buffer: copy to align it
    const bytes = Uint8Array.from(t.rawData);
    return type === DataType.INT32 ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
  };
  const k = Number(tensors.get("neighbour_index")?.dims?.[0] ?? 0);
  const index = read("neighbour_index", DataType.INT32, [k, v]) as Int32Array;
  const sim = read("neighbour_sim", DataType.FLOAT, [k, v]) as Float32Array;
  const prior = read("prior", DataType.FLOAT, [v]) as Float32Array;
  const topM = tensors.get("top_m");
  const maxN = topM?.rawData ? Number(new DataView(Uint8Array.from(topM.rawData).buffer).getBigInt64(0, true)) : 0;
  if (!(maxN >= 1)) throw new ItemKnnFormatError(`initializer "top_m" is missing`);

  // invert the columns (the neighbours of j) into rows (the items i is a neighbour of)
  const rowStart = new Int32Array(v + 1);
  for (let p = 0; p < k * v; p++) if (sim[p]! !== 0) rowStart[index[p]! + 1]!++;
  for (let i = 0; i < v; i++) rowStart[i + 1]! += rowStart[i]!;
  const fill = rowStart.slice(0, v);
  const rowItems = new Int32Array(rowStart[v]!);
  const rowSims = new Float32Array(rowStart[v]!);
  for (let s = 0; s < k; s++) {
    for (let j = 0; j < v; j++) {
      const p = s * v + j;
      if (sim[p]! === 0) continue; // padding slots point at the item itself
      const slot = fill[index[p]!]!++;
      rowItems[slot] = j;
      rowSims[slot] = sim[p]!;
    }
  }
  const byPrior = Int32Array.from(items.keys()).sort((a, b) => prior[b]! - prior[a]! || a - b);
  return {
    version: card.version,
    items,
    indexOf: new Map(items.map((id, i) => [id, i])),
    prior,
    maxN,
    byPrior,
    rowStart,
    rowItems,
    rowSims,
    scratch: { sums: new Float64Array(v), touched: new Int32Array(v), isTouched: new Uint8Array(v), isExcluded: new Uint8Array(v), slot: new Int32Array(v) },
  };
}

/**
 * Σ weight · S[i, j] over the basket for the first `count` items j of `items`, summed in basket
 * order like `modelTop`, so an item gets the same neighbour score from either.
 */
export function neighbourScores(knn: ItemKnn, basket: readonly BasketEntry[], items: ArrayLike<number>, count: number): number[] {
  const { slot } = knn.scratch;
  const out = new Array<number>(count).fill(0);
  for (let k = 0; k < count; k++) slot[items[k]!] = k + 1;
  for (const { index, weight } of basket) {
    for (let p = knn.rowStart[index]!; p < knn.rowStart[index + 1]!; p++) {
      const s = slot[knn.rowItems[p]!]!;
      if (s > 0) out[s - 1]! += weight * knn.rowSims[p]!;
    }
  }
  for (let k = 0; k < count; k++) slot[items[k]!] = 0;
  return out;
}

/**
 * The model's best items for a basket, best first, as parallel arrays (one customer's top is
 * kept until its blend, so no object per item): model index, neighbour score, and the graph's full
 * score (neighbour score + prior). Room for the top's size; `count` entries used.
 */
export interface ModelTop {
  count: number;
  items: Int32Array;
  neighbours: Float64Array;
  scores: Float64Array;
}

/** An empty top with room for `n` items. */
export function newModelTop(n: number): ModelTop {
  return { count: 0, items: new Int32Array(n), neighbours: new Float64Array(n), scores: new Float64Array(n) };
}

/**
 * Room for the model tops of one batch's customers, cut from three arrays. A batch holds ~900 tops
 * from the model's pass to the blend: allocated one by one (typed or plain arrays), they were
 * the largest share of the handler's allocations and kept the garbage collector copying them.
 */
export class ModelTops {
  private used = 0;
  private readonly items: Int32Array;
  private readonly neighbours: Float64Array;
  private readonly scores: Float64Array;

  constructor(
    private readonly capacity: number,
    private readonly n: number,
  ) {
    this.items = new Int32Array(capacity * n);
    this.neighbours = new Float64Array(capacity * n);
    this.scores = new Float64Array(capacity * n);
  }

  /** An empty top with room for `n` items, valid as long as this object. */
  next(): ModelTop {
    if (this.used === this.capacity) throw new Error(`ModelTops: all ${this.capacity} tops are taken`);
    const from = this.used++ * this.n;
    const to = from + this.n;
    return { count: 0, items: this.items.subarray(from, to), neighbours: this.neighbours.subarray(from, to), scores: this.scores.subarray(from, to) };
  }
}

/** Whether (score, index) ranks before entry k of `top`: higher score, then lower index (TopK order). */
function ranksBefore(top: ModelTop, k: number, score: number, index: number): boolean {
  return score > top.scores[k]! || (score === top.scores[k]! && index < top.items[k]!);
}

/** Inserts an item into `top` (sorted, at most `n` long) when it makes the cut. */
function offer(top: ModelTop, n: number, index: number, neighbours: number, score: number): void {
  let k = top.count;
  if (k === n) {
    if (!ranksBefore(top, k - 1, score, index)) return;
    k--;
  } else {
    top.count++;
  }
  for (; k > 0 && ranksBefore(top, k - 1, score, index); k--) {
    top.items[k] = top.items[k - 1]!;
    top.neighbours[k] = top.neighbours[k - 1]!;
    top.scores[k] = top.scores[k - 1]!;
  }
  top.items[k] = index;
  top.neighbours[k] = neighbours;
  top.scores[k] = score;
}

/**
 * The graph's own top-`n` for a basket: items by neighbour score + prior, best first (ties: lower
 * index), never an excluded one, none with a negative score. With `excluded` = the basket items of
 * weight > 0.5 this is exactly what the ONNX graph outputs. Written into `top` (room for `n`).
 */
export function modelTop(knn: ItemKnn, basket: readonly BasketEntry[], excluded: readonly number[], n: number, top: ModelTop = newModelTop(n)): ModelTop {
  const { sums, touched, isTouched, isExcluded } = knn.scratch;
  for (const j of excluded) isExcluded[j] = 1;
  let count = 0;
  for (const { index, weight } of basket) {
    for (let p = knn.rowStart[index]!; p < knn.rowStart[index + 1]!; p++) {
      const j = knn.rowItems[p]!;
      if (!isTouched[j]) {
        isTouched[j] = 1;
        sums[j] = 0;
        touched[count++] = j;
      }
      sums[j]! += weight * knn.rowSims[p]!;
    }
  }
  // every item scores at least its prior, so the n best scores are at least the n-th best prior
  // among the items not excluded: nothing below that floor is worth offering
  let floor = -Infinity;
  for (let r = 0, seen = 0; r < knn.byPrior.length; r++) {
    const j = knn.byPrior[r]!;
    if (!isExcluded[j] && ++seen === n) {
      floor = knn.prior[j]!;
      break;
    }
  }
  if (top.items.length < n) throw new Error(`modelTop: room for ${top.items.length} items, ${n} asked`);
  top.count = 0;
  for (let t = 0; t < count; t++) {
    const j = touched[t]!;
    const score = sums[j]! + knn.prior[j]!;
    if (score >= floor && !isExcluded[j]) offer(top, n, j, sums[j]!, score);
  }
  // an item no basket item points at scores its prior alone: the best of them come from byPrior
  for (let r = 0, taken = 0; r < knn.byPrior.length && taken < n; r++) {
    const j = knn.byPrior[r]!;
    if (knn.prior[j]! < floor || (top.count === n && !ranksBefore(top, n - 1, knn.prior[j]!, j))) break;
    if (isExcluded[j] || isTouched[j]) continue;
    offer(top, n, j, 0, knn.prior[j]!);
    taken++;
  }
  for (let t = 0; t < count; t++) isTouched[touched[t]!] = 0;
  for (const j of excluded) isExcluded[j] = 0;
  while (top.count > 0 && top.scores[top.count - 1]! < 0) top.count--;
  return top;
}
