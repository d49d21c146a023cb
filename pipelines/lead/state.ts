import type { Knex } from "knex";
import type { LeadAggregates } from "./aggregates.ts";
import { lockCachedStates, type StateCache, type StateTable } from "../state-cache.ts";

/** What the lead pipeline remembers about one lead between events. */
export interface LeadState {
  leadId: string;
  /** null until the lead's first event is applied (emptyAggregates needs its timestamp) */
  aggregates: LeadAggregates | null;
  /** the latest value of every profile field seen for this lead */
  profile: Record<string, unknown>;
  /** events seen, per event type (unknown types included) */
  counters: Record<string, number>;
  /** EVENTS_LEAD sequence of the last applied event; older or equal ones are skips */
  lastSeq: number;
  eventsSeen: number;
  score: number | null;
  tier: string | null;
  model: string | null;
  modelVersion: string | null;
  scoredAt: Date | null;
}

function emptyState(leadId: string): LeadState {
  return { leadId, aggregates: null, profile: {}, counters: {}, lastSeq: 0, eventsSeen: 0, score: null, tier: null, model: null, modelVersion: null, scoredAt: null };
}

interface StateRow {
  lead_id: string;
  aggregates: LeadAggregates | Record<string, never>;
  profile: Record<string, unknown>;
  counters: Record<string, number>;
  last_seq: number;
  events_seen: number;
  score: number | null;
  tier: string | null;
  model: string | null;
  model_version: string | null;
  scored_at: Date | null;
}

// Each batch travels as one JSON array per column, split by json_array_elements(_text) and zipped
// by position (ROWS FROM), as in the recommendations pipeline: one short statement whatever the
// batch size. Not json_to_recordset over one document of rows: on a 1,000-lead batch it spent
// most of the database's time just unpacking them (README.md, "Throughput"). Not array parameters
// (text[]): the driver builds each array literal piece by piece.
const LOCK_SQL = `
  SELECT lead_id, last_seq FROM lead_state
   WHERE lead_id IN (SELECT json_array_elements_text(?::json)) ORDER BY lead_id FOR UPDATE`;

// Rows already locked by LOCK_SQL in this transaction.
const LOAD_SQL = `
  SELECT lead_id, aggregates, profile, counters, last_seq, events_seen, score, tier, model, model_version, scored_at
    FROM lead_state WHERE lead_id IN (SELECT json_array_elements_text(?::json))`;

// Inserted rows are held by this transaction until it ends, like rows locked FOR UPDATE.
const CREATE_SQL = `
  INSERT INTO lead_state (lead_id) SELECT id FROM json_array_elements_text(?::json) AS id ORDER BY id
  ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id`;

// A profile left as it was travels as null and keeps the stored one (json_array_elements_text
// gives SQL NULL for a JSON null): profile updates are a minority of a lead's events (12 % in the
// bench's mix) and a profile is nearly half of a state's JSON. Rewriting 1,400 states a batch with
// one profile in six sent, Postgres spent 440–450 CPU-ms per 20 batches against 530–620 with
// every profile, and JSON.stringify 65–99 ms against 80–134 (four alternating rounds).
const SAVE_SQL = `
  UPDATE lead_state AS s
     SET aggregates = v.aggregates, profile = coalesce(v.profile::json, s.profile), counters = v.counters, last_seq = v.last_seq::bigint,
         events_seen = v.events_seen::integer, score = v.score::double precision, tier = v.tier, model = v.model,
         model_version = v.model_version, scored_at = v.scored_at::timestamptz, updated_at = now()
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements(?::json), json_array_elements_text(?::json),
                    json_array_elements(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json))
         AS v(lead_id, aggregates, profile, counters, last_seq, events_seen, score, tier, model, model_version, scored_at)
   WHERE s.lead_id = v.lead_id`;

const json = JSON.stringify;

const TABLE: StateTable<LeadState> = {
  lockSql: LOCK_SQL,
  loadSql: LOAD_SQL,
  createSql: CREATE_SQL,
  key: "lead_id",
  fromRow: (r) => fromRow(r as unknown as StateRow),
  empty: emptyState,
};

/** Locks the batch's lead states for this transaction (`lockCachedStates`). */
export function lockStates(trx: Knex.Transaction, ids: readonly string[], cache: StateCache<LeadState>): Promise<Map<string, LeadState>> {
  return lockCachedStates(trx, ids, cache, TABLE);
}

/**
 * Writes back states taken with `lockStates` (their rows exist and are locked by this transaction);
 * the profiles of states outside `profileChanged` are not sent, their stored ones stay.
 */
export async function saveStates(trx: Knex.Transaction, states: readonly LeadState[], profileChanged: ReadonlySet<LeadState>): Promise<void> {
  if (states.length === 0) return;
  const result = await trx.raw(SAVE_SQL, [
    json(states.map((s) => s.leadId)),
    json(states.map((s) => s.aggregates ?? {})),
    json(states.map((s) => (profileChanged.has(s) ? s.profile : null))),
    json(states.map((s) => s.counters)),
    json(states.map((s) => s.lastSeq)),
    json(states.map((s) => s.eventsSeen)),
    json(states.map((s) => s.score)),
    json(states.map((s) => s.tier)),
    json(states.map((s) => s.model)),
    json(states.map((s) => s.modelVersion)),
    json(states.map((s) => s.scoredAt)),
  ]);
  if (result.rowCount !== states.length) {
    throw new Error(`saveStates updated ${result.rowCount} of ${states.length} lead states: were they locked with lockStates?`);
  }
}

function fromRow(r: StateRow): LeadState {
  return {
    leadId: r.lead_id,
    aggregates: "clock" in r.aggregates ? (r.aggregates as LeadAggregates) : null,
    profile: r.profile,
    counters: r.counters,
    lastSeq: r.last_seq,
    eventsSeen: r.events_seen,
    score: r.score,
    tier: r.tier,
    model: r.model,
    modelVersion: r.model_version,
    scoredAt: r.scored_at,
  };
}
