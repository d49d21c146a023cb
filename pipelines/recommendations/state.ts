import type { Knex } from "knex";
import type { Recommendation } from "./blend.ts";
import type { HistoryItem } from "./interaction.ts";
import { lockCachedStates, type StateCache, type StateTable } from "../state-cache.ts";

/** What the recommendations pipeline remembers about one customer between events. */
export interface InteractionState {
  customerId: string;
  /** recent items, most recent first */
  history: HistoryItem[];
  /** purchased item ids, most recent first */
  purchased: string[];
  /** events seen, per event type */
  counters: Record<string, number>;
  /** EVENTS stream sequence of the last applied event; older or equal ones are skips */
  lastSeq: number;
  eventsSeen: number;
}

/** One batch's changes to one item's statistics. */
export interface ItemStatsDelta {
  item_id: string;
  views: number;
  carts: number;
  purchases: number;
  ratings_sum: number;
  ratings_count: number;
  popularity: number;
}

export interface RecommendationRow {
  customer_id: string;
  items: Recommendation[];
  /** the customer's last applied event */
  stream_seq: number;
}

interface StateRow {
  customer_id: string;
  history: HistoryItem[];
  purchased: string[];
  counters: Record<string, number>;
  last_seq: number;
  events_seen: number;
}

function emptyState(customerId: string): InteractionState {
  return { customerId, history: [], purchased: [], counters: {}, lastSeq: 0, eventsSeen: 0 };
}

// Each batch travels as one JSON array per column, split by json_array_elements(_text) and zipped
// by position (ROWS FROM): one short statement per table, whatever the batch size. Measured on a
// 1,000-event batch: json_to_recordset over one document of rows spent about twice the database CPU
// of the whole upsert unpacking the recommendations (~700 bytes of nested JSON a row), and array
// parameters (text[], bigint[]) cost the handler more than the rest of its writes together: the
// driver builds each array literal piece by piece (megabytes of short-lived strings a batch, which
// the garbage collector paid for), where JSON.stringify writes one flat string.
const LOCK_SQL = `
  SELECT customer_id, last_seq FROM interaction_state
   WHERE customer_id IN (SELECT json_array_elements_text(?::json)) ORDER BY customer_id FOR UPDATE`;

// Rows already locked by LOCK_SQL in this transaction.
const LOAD_SQL = `
  SELECT customer_id, history, purchased, counters, last_seq, events_seen
    FROM interaction_state WHERE customer_id IN (SELECT json_array_elements_text(?::json))`;

// Inserted rows are held by this transaction until it ends, like rows locked FOR UPDATE.
const CREATE_SQL = `
  INSERT INTO interaction_state (customer_id) SELECT id FROM json_array_elements_text(?::json) AS id ORDER BY id
  ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id`;

const SAVE_SQL = `
  UPDATE interaction_state AS s
     SET history = v.history, purchased = v.purchased, counters = v.counters, last_seq = v.last_seq::bigint,
         events_seen = v.events_seen::integer, updated_at = now()
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements(?::json), json_array_elements(?::json),
                    json_array_elements(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json))
         AS v(customer_id, history, purchased, counters, last_seq, events_seen)
   WHERE s.customer_id = v.customer_id`;

// The items a batch asks about, then the committed top `limit` in the pipeline's tie order.
const POPULARITY_SQL = `
  SELECT item_id, popularity, false AS top FROM item_stats WHERE item_id IN (SELECT json_array_elements_text(?::json))
  UNION ALL
  (SELECT item_id, popularity, true AS top FROM item_stats ORDER BY popularity DESC, item_id COLLATE "C" LIMIT ?)`;

// Sorted by item id so two writers (a leader hand-over) take row locks in one order.
const ITEM_STATS_SQL = `
  INSERT INTO item_stats AS s (item_id, views, carts, purchases, ratings_sum, ratings_count, popularity)
  SELECT item_id, views::bigint, carts::bigint, purchases::bigint, ratings_sum::bigint, ratings_count::bigint, popularity::bigint
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json)) AS d(item_id, views, carts, purchases, ratings_sum, ratings_count, popularity)
   ORDER BY item_id COLLATE "C"
  ON CONFLICT (item_id) DO UPDATE
     SET views = s.views + excluded.views, carts = s.carts + excluded.carts, purchases = s.purchases + excluded.purchases,
         ratings_sum = s.ratings_sum + excluded.ratings_sum, ratings_count = s.ratings_count + excluded.ratings_count,
         popularity = s.popularity + excluded.popularity, updated_at = now()`;

const RECOMMENDATIONS_SQL = `
  INSERT INTO recommendations (customer_id, items, model, model_version, stream_seq)
  SELECT customer_id, items, ?, ?, stream_seq::bigint
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements(?::json), json_array_elements_text(?::json))
         AS v(customer_id, items, stream_seq)
  ON CONFLICT (customer_id) DO UPDATE
     SET items = excluded.items, model = excluded.model, model_version = excluded.model_version,
         stream_seq = excluded.stream_seq, updated_at = now()`;

const json = JSON.stringify;

const TABLE: StateTable<InteractionState> = {
  lockSql: LOCK_SQL,
  loadSql: LOAD_SQL,
  createSql: CREATE_SQL,
  key: "customer_id",
  fromRow: (row) => {
    const r = row as unknown as StateRow;
    return { customerId: r.customer_id, history: r.history, purchased: r.purchased, counters: r.counters, lastSeq: r.last_seq, eventsSeen: r.events_seen };
  },
  empty: emptyState,
};

/** Locks the batch's customer states for this transaction (`lockCachedStates`). */
export function lockStates(trx: Knex.Transaction, ids: readonly string[], cache: StateCache<InteractionState>): Promise<Map<string, InteractionState>> {
  return lockCachedStates(trx, ids, cache, TABLE);
}

/** Writes back states taken with `lockStates` (their rows exist and are locked by this transaction). */
export async function saveStates(trx: Knex.Transaction, states: readonly InteractionState[]): Promise<void> {
  if (states.length === 0) return;
  const result = await trx.raw(SAVE_SQL, [
    json(states.map((s) => s.customerId)),
    json(states.map((s) => s.history)),
    json(states.map((s) => s.purchased)),
    json(states.map((s) => s.counters)),
    json(states.map((s) => s.lastSeq)),
    json(states.map((s) => s.eventsSeen)),
  ]);
  if (result.rowCount !== states.length) {
    throw new Error(`saveStates updated ${result.rowCount} of ${states.length} interaction states: were they locked with lockStates?`);
  }
}

/**
 * The committed popularity of `items` (0 for items never seen) and the committed top `limit`.
 * Read before this batch's `addItemStats`, inside its transaction.
 */
export async function readPopularity(
  trx: Knex.Transaction,
  items: readonly string[],
  limit: number,
): Promise<{ counts: Map<string, number>; top: Array<{ item_id: string; popularity: number }> }> {
  const rows: Array<{ item_id: string; popularity: number; top: boolean }> = (await trx.raw(POPULARITY_SQL, [json(items), limit])).rows;
  const counts = new Map(items.map((id) => [id, 0]));
  const top: Array<{ item_id: string; popularity: number }> = [];
  for (const r of rows) {
    counts.set(r.item_id, r.popularity);
    if (r.top) top.push({ item_id: r.item_id, popularity: r.popularity });
  }
  return { counts, top };
}

/** Adds one batch's aggregated counts: one row per item touched. */
export async function addItemStats(trx: Knex.Transaction, deltas: readonly ItemStatsDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  await trx.raw(ITEM_STATS_SQL, [
    json(deltas.map((d) => d.item_id)),
    json(deltas.map((d) => d.views)),
    json(deltas.map((d) => d.carts)),
    json(deltas.map((d) => d.purchases)),
    json(deltas.map((d) => d.ratings_sum)),
    json(deltas.map((d) => d.ratings_count)),
    json(deltas.map((d) => d.popularity)),
  ]);
}

/** Stores the recommendations of one batch's customers, all made by one model version. */
export async function saveRecommendations(trx: Knex.Transaction, model: { name: string; version: string }, rows: readonly RecommendationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await trx.raw(RECOMMENDATIONS_SQL, [
    model.name,
    model.version,
    json(rows.map((r) => r.customer_id)),
    json(rows.map((r) => r.items)),
    json(rows.map((r) => r.stream_seq)),
  ]);
}
