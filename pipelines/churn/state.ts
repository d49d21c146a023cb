import type { Knex } from "knex";
import { lockCachedStates, type StateCache, type StateTable } from "../state-cache.ts";

/** What the churn pipeline remembers about one customer between events. */
export interface CustomerState {
  customerId: string;
  /** the latest value of every model feature seen for this customer */
  profile: Record<string, unknown>;
  /** events seen, per event type */
  counters: Record<string, number>;
  /** EVENTS stream sequence of the last applied event; older or equal ones are skips */
  lastSeq: number;
  eventsSeen: number;
  churnProbability: number | null;
  riskLevel: string | null;
  /** the model that gave the latest score (see models.ts for which one scores when) */
  model: string | null;
  modelVersion: string | null;
  scoredAt: Date | null;
  /**
   * Written, never read back: parsing them for every locked row cost measurable CPU per event and
   * nothing in the pipeline needs their stored values. The key factors of the latest score made in
   * this batch (null leaves the stored ones), and the greatest event timestamp applied in this
   * batch in epoch ms (the row keeps the later of it and the stored `last_event_at`).
   */
  keyFactors: string[] | null;
  lastEventMs: number | null;
}

export function emptyState(customerId: string): CustomerState {
  return {
    customerId,
    profile: {},
    counters: {},
    lastSeq: 0,
    eventsSeen: 0,
    churnProbability: null,
    riskLevel: null,
    model: null,
    modelVersion: null,
    scoredAt: null,
    keyFactors: null,
    lastEventMs: null,
  };
}

interface StateRow {
  customer_id: string;
  profile: Record<string, unknown>;
  counters: Record<string, number>;
  last_seq: number;
  events_seen: number;
  churn_probability: number | null;
  risk_level: string | null;
  model: string | null;
  model_version: string | null;
  scored_at: Date | null;
}

// Each batch travels as one JSON array per column, split by json_array_elements(_text) and zipped
// by position (ROWS FROM), as in the lead and recommendations pipelines: one short statement
// whatever the batch size, and no document of rows for Postgres to unpack field by field.
const LOCK_SQL = `
  SELECT customer_id, last_seq FROM customer_state
   WHERE customer_id IN (SELECT json_array_elements_text(?::json)) ORDER BY customer_id FOR UPDATE`;

// Rows already locked by LOCK_SQL in this transaction whose cached state is missing or stale.
const LOAD_SQL = `
  SELECT customer_id, profile, counters, last_seq, events_seen, churn_probability, risk_level, model, model_version, scored_at
    FROM customer_state WHERE customer_id IN (SELECT json_array_elements_text(?::json))`;

// Inserted rows are held by this transaction until it ends, like rows locked FOR UPDATE.
const CREATE_SQL = `
  INSERT INTO customer_state (customer_id) SELECT id FROM json_array_elements_text(?::json) AS id ORDER BY id
  ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id`;

const SAVE_SQL = `
  UPDATE customer_state AS s
     SET profile = v.profile, counters = v.counters, last_seq = v.last_seq::bigint, events_seen = v.events_seen::integer,
         churn_probability = v.churn_probability::double precision, risk_level = v.risk_level, model = v.model,
         model_version = v.model_version, key_factors = coalesce(v.key_factors::jsonb, s.key_factors),
         scored_at = v.scored_at::timestamptz,
         last_event_at = greatest(s.last_event_at, to_timestamp(v.last_event_ms::double precision / 1000)), updated_at = now()
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements(?::json), json_array_elements(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json))
         AS v(customer_id, profile, counters, last_seq, events_seen, churn_probability, risk_level, model, model_version,
              key_factors, scored_at, last_event_ms)
   WHERE s.customer_id = v.customer_id`;

const json = JSON.stringify;

const TABLE: StateTable<CustomerState> = {
  lockSql: LOCK_SQL,
  loadSql: LOAD_SQL,
  createSql: CREATE_SQL,
  key: "customer_id",
  fromRow: (r) => fromRow(r as unknown as StateRow),
  empty: emptyState,
};

/** Locks the batch's customer states for this transaction (`lockCachedStates`). */
export function lockStates(trx: Knex.Transaction, ids: readonly string[], cache: StateCache<CustomerState>): Promise<Map<string, CustomerState>> {
  return lockCachedStates(trx, ids, cache, TABLE);
}

/** Writes back states taken with `lockStates` (their rows exist and are locked by this transaction). */
export async function saveStates(trx: Knex.Transaction, states: readonly CustomerState[]): Promise<void> {
  if (states.length === 0) return;
  const result = await trx.raw(SAVE_SQL, [
    json(states.map((s) => s.customerId)),
    json(states.map((s) => s.profile)),
    json(states.map((s) => s.counters)),
    json(states.map((s) => s.lastSeq)),
    json(states.map((s) => s.eventsSeen)),
    json(states.map((s) => s.churnProbability)),
    json(states.map((s) => s.riskLevel)),
    json(states.map((s) => s.model)),
    json(states.map((s) => s.modelVersion)),
    // each element the text of a JSON array, or null to keep the stored factors
    json(states.map((s) => (s.keyFactors === null ? null : json(s.keyFactors)))),
    json(states.map((s) => s.scoredAt)),
    json(states.map((s) => s.lastEventMs)),
  ]);
  if (result.rowCount !== states.length) {
    throw new Error(`saveStates updated ${result.rowCount} of ${states.length} customer states: were they locked with lockStates?`);
  }
}

function fromRow(r: StateRow): CustomerState {
  return {
    customerId: r.customer_id,
    profile: r.profile,
    counters: r.counters,
    lastSeq: r.last_seq,
    eventsSeen: r.events_seen,
    churnProbability: r.churn_probability,
    riskLevel: r.risk_level,
    model: r.model,
    modelVersion: r.model_version,
    scoredAt: r.scored_at,
    keyFactors: null,
    lastEventMs: null,
  };
}
