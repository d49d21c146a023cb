import type { Knex } from "knex";
import { asDetectorState, createState, DetectorInputError, type DetectorState } from "../../src/anomaly/detector/index.ts";
import type { StateCache } from "../state-cache.ts";

/** What the anomaly pipeline remembers about one metric series between points. */
export interface SeriesState {
  seriesId: string;
  detector: DetectorState;
  /** EVENTS_METRIC stream sequence of the last applied point; older or equal ones are skips */
  lastSeq: number;
  /** points whose timestamp was earlier than their predecessor's */
  latePoints: number;
  /** the history bytes as stored, to find the chunks a batch changed */
  storedHistory: Buffer;
}

interface StateRow {
  series_id: string;
  /** the cached state is current; state and history were not sent */
  cached: boolean;
  state: Omit<DetectorState, "history"> | null;
  history: Buffer | null;
  last_seq: number;
  late_points: number;
}

const FLOAT64_BYTES = 8;
/**
 * Values per stored history chunk. A batch of 1,000 points over n series appends about 1,000 / n
 * points to each, so it changes one or two 512-byte chunks per series instead of rewriting a whole
 * 24 kB history; chunks this small also stay inline (Postgres moves values over 2 kB to TOAST).
 */
export const HISTORY_CHUNK_VALUES = 64;
const CHUNK_BYTES = HISTORY_CHUNK_VALUES * FLOAT64_BYTES;

/** A detector state as stored: its history as bytes, everything else as JSON. */
export interface PackedState {
  state: Omit<DetectorState, "history">;
  history: Buffer;
}

// Stored bytes are little-endian whatever the platform; typed arrays use the platform's order.
const BIG_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[0] === 0x3f;

/**
 * The history is most of the state (3,000 numbers by default): as float64 bytes it is 24 kB and
 * comes back bit for bit, where JSON text is about 55 kB and costs a number parse per value on
 * both sides. The rest (settings, counters, the ring buffer's head) stays readable JSON.
 */
export function packState(detector: DetectorState): PackedState {
  const { history, ...state } = detector;
  const bytes = Buffer.from(new Float64Array(history).buffer);
  if (BIG_ENDIAN) bytes.swap64();
  return { state, history: bytes };
}

/** The inverse of `packState`, checked, so a corrupt row fails its batch instead of scoring from garbage. */
export function unpackState({ state, history: bytes }: PackedState): DetectorState {
  if (bytes.length % FLOAT64_BYTES !== 0) throw new DetectorInputError(`detector history of ${bytes.length} bytes is not float64 values`);
  // copied into a buffer of its own: a Float64Array needs 8-byte alignment, a pooled Buffer may not have it
  const values = new Float64Array(bytes.length / FLOAT64_BYTES);
  const view = Buffer.from(values.buffer);
  view.set(bytes);
  if (BIG_ENDIAN) view.swap64();
  return asDetectorState({ ...state, history: Array.from(values) });
}

/** A new series starts with the detector's default settings, which it then keeps in its state. */
function emptyState(seriesId: string, lastSeq = 0): SeriesState {
  return { seriesId, detector: createState(), lastSeq, latePoints: 0, storedHistory: Buffer.alloc(0) };
}

// A whole batch travels as one array or JSON parameter and is unpacked by Postgres, so a 1,000-row
// write is one short statement.
// The state and history of a series whose cached copy is current (same last_seq) are not sent.
const LOCK_SQL = `
  SELECT s.series_id, s.last_seq, s.late_points, s.last_seq = c.cached_seq AS cached,
         CASE WHEN s.last_seq = c.cached_seq THEN NULL ELSE s.state END AS state,
         CASE WHEN s.last_seq = c.cached_seq THEN NULL
              ELSE coalesce(s.history_first, ''::bytea)
                   || coalesce((SELECT string_agg(h.points, ''::bytea ORDER BY h.chunk) FROM series_history AS h WHERE h.series_id = s.series_id), ''::bytea)
         END AS history
    FROM series_state AS s JOIN unnest(?::text[], ?::bigint[]) AS c(series_id, cached_seq) ON c.series_id = s.series_id
   ORDER BY s.series_id FOR UPDATE OF s`;

// Inserted rows are held by this transaction until it ends, like rows locked FOR UPDATE.
const CREATE_SQL = `
  INSERT INTO series_state (series_id) SELECT id FROM unnest(?::text[]) AS id ORDER BY id
  ON CONFLICT (series_id) DO NOTHING RETURNING series_id`;

const SAVE_SQL = `
  UPDATE series_state AS s
     SET state = v.state, history_first = decode(v.history_first, 'base64'), last_seq = v.last_seq, points_seen = v.points_seen,
         last_timestamp = v.last_timestamp, late_points = v.late_points, updated_at = now()
    FROM jsonb_to_recordset(?::jsonb) AS v(series_id text, state jsonb, history_first text, last_seq bigint, points_seen bigint,
                                           last_timestamp timestamptz, late_points bigint)
   WHERE s.series_id = v.series_id`;

const SAVE_CHUNKS_SQL = `
  INSERT INTO series_history (series_id, chunk, points)
  SELECT series_id, chunk, decode(points, 'base64') FROM jsonb_to_recordset(?::jsonb) AS c(series_id text, chunk integer, points text)
  ON CONFLICT (series_id, chunk) DO UPDATE SET points = excluded.points`;

/**
 * Locks the states of `ids` for this transaction, creating missing rows first so that two
 * processes handling a new series at once serialise on its row instead of both starting empty.
 * Rows are locked in key order, so two batches never wait on each other in a cycle. States are
 * taken out of `cache`; put them back after the commit.
 */
export async function lockStates(trx: Knex.Transaction, ids: readonly string[], cache: StateCache<SeriesState>): Promise<Map<string, SeriesState>> {
  const states = new Map<string, SeriesState>();
  let wanted = [...ids].sort();
  const cached = new Map(wanted.flatMap((id) => {
    const state = cache.take(id);
    return state ? [[id, state] as const] : [];
  }));
  while (wanted.length > 0) {
    const rows: StateRow[] = (await trx.raw(LOCK_SQL, [wanted, wanted.map((id) => cached.get(id)?.lastSeq ?? -1)])).rows;
    for (const r of rows) states.set(r.series_id, r.cached ? cached.get(r.series_id)! : fromRow(r));
    const missing = wanted.filter((id) => !states.has(id));
    if (missing.length === 0) break;
    const created: Array<{ series_id: string }> = (await trx.raw(CREATE_SQL, [missing])).rows;
    for (const r of created) states.set(r.series_id, emptyState(r.series_id));
    wanted = missing.filter((id) => !states.has(id));
  }
  return states;
}

/**
 * Writes back states taken with `lockStates` (their rows exist and are locked by this
 * transaction): each state's row with the history's first chunk (so a series of up to
 * HISTORY_CHUNK_VALUES points is one row write), and of the other chunks only those that differ
 * from what was stored.
 */
export async function saveStates(trx: Knex.Transaction, states: readonly SeriesState[]): Promise<void> {
  if (states.length === 0) return;
  const rows: Array<Record<string, unknown>> = [];
  const chunks: Array<{ series_id: string; chunk: number; points: string }> = [];
  for (const s of states) {
    const packed = packState(s.detector);
    rows.push({
      series_id: s.seriesId,
      state: packed.state,
      history_first: packed.history.subarray(0, CHUNK_BYTES).toString("base64"),
      last_seq: s.lastSeq,
      points_seen: s.detector.count,
      last_timestamp: s.detector.lastTimestamp === null ? null : new Date(s.detector.lastTimestamp).toISOString(),
      late_points: s.latePoints,
    });
    for (let from = CHUNK_BYTES, chunk = 1; from < packed.history.length; from += CHUNK_BYTES, chunk++) {
      const points = packed.history.subarray(from, from + CHUNK_BYTES);
      if (!points.equals(s.storedHistory.subarray(from, from + CHUNK_BYTES))) chunks.push({ series_id: s.seriesId, chunk, points: points.toString("base64") });
    }
    s.storedHistory = packed.history;
  }
  const result = await trx.raw(SAVE_SQL, [JSON.stringify(rows)]);
  if (result.rowCount !== states.length) {
    throw new Error(`saveStates updated ${result.rowCount} of ${states.length} series states: were they locked with lockStates?`);
  }
  if (chunks.length > 0) await trx.raw(SAVE_CHUNKS_SQL, [JSON.stringify(chunks)]);
}

function fromRow(r: StateRow): SeriesState {
  // created by a batch whose points for this series were all invalid: nothing applied yet
  if (r.state === null) return emptyState(r.series_id, r.last_seq);
  const storedHistory = r.history ?? Buffer.alloc(0);
  return {
    seriesId: r.series_id,
    detector: unpackState({ state: r.state, history: storedHistory }),
    lastSeq: r.last_seq,
    latePoints: r.late_points,
    storedHistory,
  };
}
