/**
 * A customer's recommendations: the model's item-item scores for the customer's weighted recent
 * history, plus a live popularity prior, never an item the customer already has in the history or
 * bought.
 *
 *   score(j) = Σ_i b_i · S[i, j]  +  prior_j  +  LIVE_POPULARITY_WEIGHT · pop_j / max pop
 *              └─ model: neighbour score ─┘  └ model: training popularity ┘  └ live item_stats ┘
 *
 * b_i is the history weight of item i (interaction.ts), divided by the largest one so the strongest
 * item counts 1 as in the model's binary training baskets; items at or below 0 and items the model
 * does not know are left out of the basket (they still exclude themselves and count in popularity).
 * Candidates are the model's own top CANDIDATES and the CANDIDATES most popular items live; the best
 * RECOMMENDATIONS_KEPT are stored. An item unknown to the model can only come from the live list.
 */
import type { History } from "./interaction.ts";
import { modelTop, neighbourScores, type BasketEntry, type ItemKnn, type ModelTop } from "./item-knn.ts";

/** Recommendations stored per customer. */
export const RECOMMENDATIONS_KEPT = 10;
/** Candidates from each source; 50 is the shipped graph's own TopK size. */
export const CANDIDATES = 50;
/**
 * Weight of live popularity (its share of the live maximum, in [0, 1]): the weight the model's
 * tuning chose for its training popularity (card hyperparameter `popularity_weight`), so a live
 * best seller counts as much as a best seller of the training data.
 */
export const LIVE_POPULARITY_WEIGHT = 0.1;

export type Reason = "similar_items" | "popular";

export interface Recommendation {
  item_id: string;
  score: number;
  /** `similar_items` when history items point at it, `popular` when only popularity ranks it */
  reason: Reason;
}

/** What the model makes of one customer's history. */
export interface ModelView {
  basket: BasketEntry[];
  top: ModelTop;
  /** item ids never recommended: the history and the purchases */
  excluded: Set<string>;
  /** the model indices of the excluded items the model knows */
  excludedIndices: number[];
}

/** The history as the model's basket: known items of positive weight, the strongest at 1. */
export function basketOf(knn: ItemKnn, history: History["history"]): BasketEntry[] {
  const basket: BasketEntry[] = [];
  let max = 0;
  for (const { item_id, weight } of history) {
    const index = knn.indexOf.get(item_id);
    if (index === undefined || weight <= 0) continue;
    basket.push({ index, weight });
    if (weight > max) max = weight;
  }
  for (const entry of basket) entry.weight /= max;
  return basket;
}

/** What the model makes of a history; its top is written into `top` when given (see ModelTops). */
export function modelView(knn: ItemKnn, h: History, top?: ModelTop): ModelView {
  const excluded = new Set<string>();
  for (const { item_id } of h.history) excluded.add(item_id);
  for (const item of h.purchased) excluded.add(item);
  const excludedIndices: number[] = [];
  for (const id of excluded) {
    const index = knn.indexOf.get(id);
    if (index !== undefined) excludedIndices.push(index);
  }
  const basket = basketOf(knn, h.history);
  return { basket, excluded, excludedIndices, top: modelTop(knn, basket, excludedIndices, CANDIDATES, top) };
}

interface Ranked {
  item_id: string;
  popularity: number;
}

/** A live leader, with its model index (-1 for an item the model does not know). */
export interface Leader extends Ranked {
  index: number;
}

/** Most popular first; ties by item id in byte order, as Postgres sorts them with COLLATE "C". */
function byPopularity(a: Ranked, b: Ranked): number {
  return b.popularity - a.popularity || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0);
}

/**
 * Item popularity as it stands after each event of a batch, so a customer's recommendations use
 * the counts at the customer's last event, whatever the batch boundaries: a run restarted after a
 * crash writes what an uninterrupted one does. Starts from the committed counts of the items the
 * batch needs and the committed top `size`; popularity only grows, so the top stays exact as long
 * as every change goes through `add`. Counts of the model's items are kept by model index, so the
 * blend reads its ~100 candidates a customer without hashing their ids.
 */
export class LivePopularity {
  private readonly top: Leader[];
  /** by model index; NaN for an item whose count was not read */
  private readonly known: Float64Array;
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly knn: Pick<ItemKnn, "items" | "indexOf">,
    counts: ReadonlyMap<string, number>,
    top: readonly Ranked[],
    private readonly size: number,
  ) {
    this.known = new Float64Array(knn.items.length).fill(NaN);
    for (const [item, popularity] of counts) this.set(item, this.indexOf(item), popularity);
    this.top = top.map((t) => ({ item_id: t.item_id, popularity: t.popularity, index: this.indexOf(t.item_id) })).sort(byPopularity).slice(0, size);
    for (const t of this.top) this.set(t.item_id, t.index, t.popularity);
  }

  private indexOf(item: string): number {
    return this.knn.indexOf.get(item) ?? -1;
  }

  private set(item: string, index: number, popularity: number): void {
    if (index >= 0) this.known[index] = popularity;
    else this.unknown.set(item, popularity);
  }

  private get(item: string, index: number): number {
    const p = index >= 0 ? this.known[index]! : this.unknown.get(item);
    if (p === undefined || Number.isNaN(p)) throw new Error(`popularity of item ${item} was not read for this batch`);
    return p;
  }

  popularity(item: string): number {
    return this.get(item, this.indexOf(item));
  }

  /** The popularity of the model's item `index`. */
  popularityAt(index: number): number {
    return this.get(this.knn.items[index]!, index);
  }

  add(item: string, delta: number): void {
    const index = this.indexOf(item);
    const entry = { item_id: item, popularity: this.get(item, index) + delta, index };
    this.set(item, index, entry.popularity);
    const top = this.top;
    let k = 0;
    while (k < top.length && top[k]!.item_id !== item) k++;
    if (k === top.length) {
      // not among the leaders: it enters when it beats the last one (or there is room)
      if (top.length >= this.size && byPopularity(entry, top[top.length - 1]!) >= 0) return;
      if (top.length >= this.size) k = top.length - 1;
      else top.push(entry);
    }
    // popularity only grows: move it up from slot k
    for (; k > 0 && byPopularity(entry, top[k - 1]!) < 0; k--) top[k] = top[k - 1]!;
    top[k] = entry;
  }

  leaders(): readonly Leader[] {
    return this.top;
  }

  max(): number {
    return this.top[0]?.popularity ?? 0;
  }
}

/** The live term of a blended score, from the item's live popularity and the live maximum. */
function livePart(popularity: number, max: number): number {
  return max > 0 ? (LIVE_POPULARITY_WEIGHT * popularity) / max : 0;
}

/**
 * The best candidates offered so far, best first (higher score, then the smaller id): one
 * buffer, reused by every blend (blends run one at a time, start to end, on one thread).
 */
const best = {
  count: 0,
  ids: new Array<string>(RECOMMENDATIONS_KEPT),
  scores: new Float64Array(RECOMMENDATIONS_KEPT),
  neighbours: new Float64Array(RECOMMENDATIONS_KEPT),
};

function ranksBefore(k: number, item: string, score: number): boolean {
  return score > best.scores[k]! || (score === best.scores[k]! && item < best.ids[k]!);
}

/** Keeps a candidate when it is among the best RECOMMENDATIONS_KEPT so far. */
function offer(item: string, score: number, neighbourScore: number): void {
  let k = best.count;
  if (k === RECOMMENDATIONS_KEPT) {
    if (!ranksBefore(k - 1, item, score)) return;
    k--;
  } else {
    best.count++;
  }
  for (; k > 0 && ranksBefore(k - 1, item, score); k--) {
    best.ids[k] = best.ids[k - 1]!;
    best.scores[k] = best.scores[k - 1]!;
    best.neighbours[k] = best.neighbours[k - 1]!;
  }
  best.ids[k] = item;
  best.scores[k] = score;
  best.neighbours[k] = neighbourScore;
}

/**
 * The customer's best RECOMMENDATIONS_KEPT items, best first (ties: item id). Runs once per
 * customer per batch, so it is written without closures: the tsx loader names each closure it
 * creates (a property definition per call), which made this function several times slower.
 */
export function blend(knn: ItemKnn, view: ModelView, live: LivePopularity): Recommendation[] {
  const max = live.max();
  const { top } = view;
  best.count = 0;
  // flags by model index, cleared before returning: taken (a model candidate already) or excluded
  const { isTouched: taken, isExcluded: excluded } = knn.scratch;
  for (let c = 0; c < top.count; c++) {
    const index = top.items[c]!;
    taken[index] = 1;
    offer(knn.items[index]!, top.scores[c]! + livePart(live.popularityAt(index), max), top.neighbours[c]!);
  }
  for (const index of view.excludedIndices) excluded[index] = 1;
  const known: number[] = [];
  for (const { item_id, index, popularity } of live.leaders()) {
    if (index < 0) {
      if (!view.excluded.has(item_id)) offer(item_id, livePart(popularity, max), 0);
    } else if (!taken[index] && !excluded[index]) {
      known.push(index);
    }
  }
  for (let c = 0; c < top.count; c++) taken[top.items[c]!] = 0;
  for (const index of view.excludedIndices) excluded[index] = 0;
  // a live best seller the model ranked below its own top still gets its model score
  const knownNeighbours = neighbourScores(knn, view.basket, known, known.length);
  for (let k = 0; k < known.length; k++) {
    const index = known[k]!;
    offer(knn.items[index]!, knownNeighbours[k]! + knn.prior[index]! + livePart(live.popularityAt(index), max), knownNeighbours[k]!);
  }

  const out: Recommendation[] = new Array<Recommendation>(best.count);
  for (let k = 0; k < best.count; k++) {
    out[k] = { item_id: best.ids[k]!, score: Math.round(best.scores[k]! * 1e6) / 1e6, reason: best.neighbours[k]! > 0 ? "similar_items" : "popular" };
  }
  return out;
}
