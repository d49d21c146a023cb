/**
 * Offline evaluation of top-N recommenders: precision, recall and NDCG at a cut-off, averaged over
 * users, and the two splits Tidecast measures on (per-user random holdout, and a time cut).
 */
import { mulberry32, shuffle } from "./split.ts";

/** Recommends `n` item indices for a history (never items of the history). */
export type Ranker = (history: ArrayLike<number>, n: number) => number[];

/** One evaluated user: what the recommender sees, and what they went on to have. */
export interface EvalCase {
  history: Int32Array;
  /** held-out items, none of them in `history` */
  relevant: ReadonlySet<number>;
}

export interface RankingMetrics {
  /** mean over users of hits@k / k */
  precision: number;
  /** mean over users of hits@k / |relevant| */
  recall: number;
  /** mean over users of DCG@k / ideal DCG@k, binary relevance, log2 discount */
  ndcg: number;
  /** share of users with at least one hit in the top k */
  hit_rate: number;
  /** share of the item vocabulary recommended to at least one user */
  catalogue_coverage: number;
  users: number;
  k: number;
}

export function rankingMetrics(ranker: Ranker, cases: readonly EvalCase[], k: number, items: number): RankingMetrics {
  if (cases.length === 0) throw new RangeError("no evaluation users");
  const discount = Array.from({ length: k }, (_, r) => 1 / Math.log2(r + 2));
  const recommended = new Uint8Array(items);
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let hitUsers = 0;
  for (const c of cases) {
    if (c.relevant.size === 0) throw new RangeError("an evaluation user has no relevant items");
    const top = ranker(c.history, k);
    let hits = 0;
    let dcg = 0;
    top.forEach((item, r) => {
      recommended[item] = 1;
      if (c.relevant.has(item)) {
        hits++;
        dcg += discount[r]!;
      }
    });
    let ideal = 0;
    for (let r = 0; r < Math.min(k, c.relevant.size); r++) ideal += discount[r]!;
    precision += hits / k;
    recall += hits / c.relevant.size;
    ndcg += dcg / ideal;
    if (hits > 0) hitUsers++;
  }
  const n = cases.length;
  let covered = 0;
  for (const r of recommended) covered += r;
  return { precision: precision / n, recall: recall / n, ndcg: ndcg / n, hit_rate: hitUsers / n, catalogue_coverage: covered / items, users: n, k };
}

/**
 * Per-user random holdout: for each user with at least `minItems` items, a seeded shuffle puts
 * round(fraction × |items|) of them (at least one) in `relevant`; the rest stay in `history`. Users
 * with fewer items keep everything in training and are not evaluated. Users are visited in index
 * order, so the same seed gives the same split everywhere.
 */
export function perUserHoldout(
  histories: readonly Int32Array[],
  fraction: number,
  seed: number,
  minItems = 2,
): { train: Int32Array[]; cases: EvalCase[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${fraction}`);
  const random = mulberry32(seed);
  const train: Int32Array[] = [];
  const cases: EvalCase[] = [];
  for (const items of histories) {
    if (items.length < minItems) {
      train.push(items);
      continue;
    }
    const shuffled = shuffle(Array.from(items), random);
    const held = Math.max(1, Math.round(items.length * fraction));
    const history = Int32Array.from(shuffled.slice(held)).sort();
    train.push(history);
    cases.push({ history, relevant: new Set(shuffled.slice(0, held)) });
  }
  return { train, cases };
}

/** Rounds metric values for a card (6 decimals); `rows` is the number of evaluated users. */
export function roundRanking(m: RankingMetrics): Record<string, number> {
  const r = (x: number) => Number(x.toFixed(6));
  return {
    [`precision_at_${m.k}`]: r(m.precision),
    [`recall_at_${m.k}`]: r(m.recall),
    [`ndcg_at_${m.k}`]: r(m.ndcg),
    [`hit_rate_at_${m.k}`]: r(m.hit_rate),
    catalogue_coverage: r(m.catalogue_coverage),
    rows: m.users,
  };
}
