import type { JsMsg } from "@nats-io/jetstream";
import { insertAlerts, publishAlerts, type NewAlert } from "../../src/alerts/index.ts";
import { scoreBucket } from "../../src/models/card.ts";
import type { LoadedModel } from "../../src/models/index.ts";
import { decodeJson, EventEnvelopeSchema, type EventEnvelope, type Outcome } from "../../src/streams/index.ts";
import { ColumnBatch } from "../column-batch.ts";
import { countEventType, messageIdOf } from "../messages.ts";
import { StateCache } from "../state-cache.ts";
import type { PipelineDeps } from "../types.ts";
import { applyEvent, emptyAggregates } from "./aggregates.ts";
import { createEventParser, specsOf, type LeadEvent, type LeadEventParser } from "./events.ts";
import { B2B_MODEL, B2B_PROFILE_FIELDS, b2bFeatures, FALLBACK_MODEL, fallbackFeatures, neutralValues, usesFallback } from "./features.ts";
import { lockStates, saveStates, type LeadState } from "./state.ts";

/** The tier whose arrival raises `lead.hot`. */
export const HOT_TIER = "A";
export const HOT_ALERT = "lead.hot";
/** Distinct event types counted by name per lead; beyond them unknown types share OTHER_TYPES (a row must not grow without bound). */
const MAX_COUNTED_TYPES = 50;
const OTHER_TYPES = "(other)";
/** Lead states kept in memory between batches (a few KB each); a lead beyond them is read from Postgres. */
const CACHED_LEADS = 20_000;

// The batch's history as one JSON array per column, zipped by position (as in state.ts); an event
// already stored (its key and stream sequence: a redelivery) is skipped.
const INSERT_SCORES_SQL = `
  INSERT INTO lead_scores (lead_id, message_id, event_type, score, tier, model, model_version, stream_seq)
  SELECT lead_id, message_id, event_type, score::double precision, tier, model, model_version, stream_seq::bigint
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json))
         AS h(lead_id, message_id, event_type, score, tier, model, model_version, stream_seq)
  ON CONFLICT (lead_id, stream_seq) DO NOTHING`;

interface ScoreRow extends Record<string, unknown> {
  leadId: string;
  messageId: string;
  eventType: string;
  score: number;
  tier: string | null;
  model: string;
  modelVersion: string;
  streamSeq: number;
}

/** lead_scores' columns in INSERT_SCORES_SQL's order. */
const SCORE_COLUMNS = ["leadId", "messageId", "eventType", "score", "tier", "model", "modelVersion", "streamSeq"] as const;

interface Parsed {
  index: number;
  msg: JsMsg;
  envelope: EventEnvelope;
  event: LeadEvent;
}

/** One applied event's row in the scoring buffer of the model that scores it. */
interface Applied extends Parsed {
  state: LeadState;
  model: LoadedModel;
  row: number;
}

/** A model's rows for this batch, encoded into one buffer for a single inference call. */
class ScoringBuffer {
  readonly flat: Float32Array;
  rows = 0;
  constructor(
    readonly model: LoadedModel,
    capacity: number,
  ) {
    this.flat = new Float32Array(capacity * model.encoder.width);
  }

  /** Encodes `features` as the next row and returns its index. */
  add(features: Record<string, unknown>, leadId: string): number {
    const outcome = this.model.encoder.encodeInto(features, this.flat, this.rows * this.model.encoder.width);
    if (!outcome.ok) {
      // profile values were checked against the same card when their events were parsed
      throw new Error(`lead ${leadId}: ${this.model.name} refused its features: ${JSON.stringify(outcome.errors)}`);
    }
    return this.rows++;
  }
}

/**
 * The lead scorer: folds `events.lead.<id>` into each lead's aggregates and profile, rescores the
 * lead after every event (b2b_lead_score, or lead_scoring while the lead has given only that
 * model's fields), records the score and its tier, and raises `lead.hot` when a lead becomes tier
 * A — state, history and alerts in one transaction, acked after the commit. An event already
 * applied (its sequence is at or below the lead's last) is acknowledged without effect.
 */
export function createLeadHandler(deps: PipelineDeps) {
  const { db, bus, registry, metrics } = deps;
  const cache = new StateCache<LeadState>(CACHED_LEADS, (s) => s.leadId);
  // per model version: the parser and the neutral values depend only on the cards
  let prepared: { b2b: LoadedModel; fallback: LoadedModel; parse: LeadEventParser; neutral: Record<string, number> } | null = null;
  const prepare = () => {
    const b2b = registry.get(B2B_MODEL);
    const fallback = registry.get(FALLBACK_MODEL);
    if (prepared?.b2b !== b2b || prepared.fallback !== fallback) {
      if (!b2b.card.score_buckets?.tiers) throw new Error(`${B2B_MODEL}@${b2b.version} has no score_buckets tiers`);
      const parse = createEventParser([...specsOf(b2b.card, B2B_PROFILE_FIELDS), ...fallback.card.features]);
      prepared = { b2b, fallback, parse, neutral: neutralValues(b2b.card) };
    }
    return prepared;
  };

  return async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const { b2b, fallback, parse, neutral } = prepare();
    const buckets = b2b.card.score_buckets!;
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const events: Parsed[] = [];
    batch.forEach((msg, index) => {
      const envelope = EventEnvelopeSchema.safeParse(decodeJson(msg.data));
      if (!envelope.success || envelope.data.domain !== "lead") {
        const why = envelope.success ? `domain is ${envelope.data.domain}` : envelope.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
        outcomes[index] = { kind: "invalid", error: `not a lead event: ${why}` };
        return;
      }
      const { type, data, timestamp } = envelope.data;
      const parsed = parse(type, data, Date.parse(timestamp));
      if (!parsed.ok) outcomes[index] = { kind: "invalid", error: parsed.error };
      else events.push({ index, msg, envelope: envelope.data, event: parsed.event });
    });
    if (events.length === 0) return outcomes;

    const started = performance.now();
    const { alerts, states } = await db.transaction(async (trx) => {
      const states = await lockStates(trx, [...new Set(events.map((e) => e.envelope.key))], cache);
      const b2bRows = new ScoringBuffer(b2b, events.length);
      const fallbackRows = new ScoringBuffer(fallback, events.length);
      const applied: Applied[] = [];
      const profileChanged = new Set<LeadState>();
      for (const e of events.sort((a, b) => a.msg.seq - b.msg.seq)) {
        const state = states.get(e.envelope.key)!;
        if (e.msg.seq <= state.lastSeq) continue; // applied before a redelivery; nothing to do
        state.aggregates ??= emptyAggregates(e.event.at);
        applyEvent(state.aggregates, state.profile, e.event);
        if (e.event.kind === "profile") profileChanged.add(state);
        const { type } = e.envelope;
        const named = e.event.kind !== "unknown" || Object.hasOwn(state.counters, type) || Object.keys(state.counters).length < MAX_COUNTED_TYPES;
        countEventType(state.counters, named ? type : OTHER_TYPES);
        state.eventsSeen += 1;
        state.lastSeq = e.msg.seq;
        const buffer = usesFallback(state.aggregates, state.profile, fallback.card) ? fallbackRows : b2bRows;
        const features = buffer === b2bRows ? b2bFeatures(state.aggregates, state.profile, neutral) : fallbackFeatures(state.profile, fallback.card);
        applied.push({ ...e, state, model: buffer.model, row: buffer.add(features, state.leadId) });
      }

      const scores = new Map<LoadedModel, Float32Array>();
      for (const buffer of [b2bRows, fallbackRows]) {
        if (buffer.rows > 0) scores.set(buffer.model, await scoreRows(buffer, metrics));
      }
      const history = new ColumnBatch<ScoreRow>(SCORE_COLUMNS);
      const newAlerts: NewAlert[] = [];
      // in stream order, so each event's "previous tier" is the one its predecessor left
      for (const a of applied) {
        const previousTier = a.state.tier;
        const score = scores.get(a.model)![a.row]!;
        // lead_scoring has no score buckets: its leads have a score but no tier
        const bucket = a.model === b2b ? scoreBucket(buckets, score) : null;
        if (bucket) metrics.scoreBuckets.observe({ model: b2b.name }, bucket.bucket);
        const tier = bucket ? bucket.tier! : null;
        Object.assign(a.state, { score, tier, model: a.model.name, modelVersion: a.model.version, scoredAt: new Date() });
        history.add({
          leadId: a.state.leadId,
          messageId: messageIdOf(a.msg),
          eventType: a.envelope.type,
          score,
          tier,
          model: a.model.name,
          modelVersion: a.model.version,
          streamSeq: a.msg.seq,
        });
        if (tier === HOT_TIER && previousTier !== HOT_TIER) {
          newAlerts.push({
            dedupKey: `lead:${a.state.leadId}:${a.msg.seq}`,
            type: HOT_ALERT,
            severity: "high",
            source: "lead",
            entityType: "lead",
            entityId: a.state.leadId,
            message: `Lead ${a.state.leadId} became tier ${HOT_TIER} (conversion score ${(score * 100).toFixed(1)}%)`,
            data: { score, tier, previous_tier: previousTier, event_type: a.envelope.type, model: a.model.name, model_version: a.model.version },
          });
        }
      }
      await saveStates(trx, [...new Set(applied.map((a) => a.state))], profileChanged);
      if (history.length > 0) await trx.raw(INSERT_SCORES_SQL, history.bindings());
      return { alerts: await insertAlerts(trx, newAlerts), states: states.values() };
    });
    cache.put(states);
    metrics.dbWriteDuration.observe({ pipeline: "lead" }, (performance.now() - started) / 1000);
    await publishAlerts(db, bus, metrics, alerts);
    return outcomes;
  };
}

async function scoreRows(buffer: ScoringBuffer, metrics: PipelineDeps["metrics"]): Promise<Float32Array> {
  const { model, flat, rows } = buffer;
  const started = performance.now();
  const scores = await model.score(flat.subarray(0, rows * model.encoder.width), rows);
  metrics.scoreDuration.observe({ model: model.name }, (performance.now() - started) / 1000);
  metrics.predictions.inc({ model: model.name }, rows);
  for (const score of scores) metrics.scores.observe({ model: model.name }, score);
  return scores;
}

