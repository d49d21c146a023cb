import type { Knex } from "knex";

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

// A whole batch travels as one array or JSON parameter and is unpacked by Postgres, so a 1,000-row
// write is one short statement: no per-row placeholders to build, bind and parse.
const LOCK_SQL = `
  SELECT customer_id, profile, counters, last_seq, events_seen, churn_probability, risk_level, model, model_version, scored_at
    FROM customer_state WHERE customer_id = ANY(?::text[]) ORDER BY customer_id FOR UPDATE`;

// Inserted rows are held by this transaction until it ends, like rows locked FOR UPDATE.
const CREATE_SQL = `
  INSERT INTO customer_state (customer_id) SELECT id FROM unnest(?::text[]) AS id ORDER BY id
  ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id`;

const SAVE_SQL = `
  UPDATE customer_state AS s
     SET profile = v.profile, counters = v.counters, last_seq = v.last_seq, events_seen = v.events_seen,
         churn_probability = v.churn_probability, risk_level = v.risk_level, model = v.model, model_version = v.model_version,
         key_factors = coalesce(v.key_factors, s.key_factors), scored_at = v.scored_at,
         last_event_at = greatest(s.last_event_at, to_timestamp(v.last_event_ms / 1000)), updated_at = now()
    FROM jsonb_to_recordset(?::jsonb) AS v(customer_id text, profile jsonb, counters jsonb, last_seq bigint, events_seen integer,
                                           churn_probability double precision, risk_level text, model text, model_version text,
                                           key_factors jsonb, scored_at timestamptz, last_event_ms double precision)
   WHERE s.customer_id = v.customer_id`;

/**
 * Locks the states of `ids` for this transaction, creating missing rows first so that two
 * processes handling a new customer at once serialise on its row instead of both starting empty.
 * Rows are locked in key order, so two batches never wait on each other in a cycle.
 */
export async function lockStates(trx: Knex.Transaction, ids: readonly string[]): Promise<Map<string, CustomerState>> {
  const states = new Map<string, CustomerState>();
  let wanted = [...ids].sort();
  // Usually one statement: every customer already has a row. A new one is inserted (which locks
  // it); one another process inserted meanwhile is locked by the next round's SELECT.
  while (wanted.length > 0) {
    const rows: StateRow[] = (await trx.raw(LOCK_SQL, [wanted])).rows;
    for (const r of rows) states.set(r.customer_id, fromRow(r));
    const missing = wanted.filter((id) => !states.has(id));
    if (missing.length === 0) break;
    const created: Array<{ customer_id: string }> = (await trx.raw(CREATE_SQL, [missing])).rows;
    for (const r of created) states.set(r.customer_id, emptyState(r.customer_id));
    wanted = missing.filter((id) => !states.has(id));
  }
  return states;
}

/** Writes back states taken with `lockStates` (their rows exist and are locked by this transaction). */
export async function saveStates(trx: Knex.Transaction, states: readonly CustomerState[]): Promise<void> {
  if (states.length === 0) return;
  const rows = states.map((s) => ({
    customer_id: s.customerId,
    profile: s.profile,
    counters: s.counters,
    last_seq: s.lastSeq,
    events_seen: s.eventsSeen,
    churn_probability: s.churnProbability,
    risk_level: s.riskLevel,
    model: s.model,
    model_version: s.modelVersion,
    key_factors: s.keyFactors,
    scored_at: s.scoredAt,
    last_event_ms: s.lastEventMs,
  }));
  const result = await trx.raw(SAVE_SQL, [JSON.stringify(rows)]);
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
