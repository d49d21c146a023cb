import type { JsMsg } from "@nats-io/jetstream";
import { insertAlerts, publishAlerts, type NewAlert } from "../../src/alerts/index.ts";
import { churnRiskLevel } from "../../src/models/index.ts";
import { decodeJson, EventEnvelopeSchema, type EventEnvelope, type Outcome } from "../../src/streams/index.ts";
import { ColumnBatch } from "../column-batch.ts";
import { countEventType, messageIdOf } from "../messages.ts";
import { StateCache } from "../state-cache.ts";
import type { PipelineDeps } from "../types.ts";
import { CHURN_MODELS, ChurnScorers, type ModelRows } from "./models.ts";
import { lockStates, saveStates, type CustomerState } from "./state.ts";

const KEY_FACTORS = 3;

/** Customer states kept in memory between batches (about a kilobyte each); others are read from Postgres. */
const CACHED_CUSTOMERS = 50_000;

// The batch's history as one JSON array per column, zipped by position (as in state.ts); an event
// already stored (its key and stream sequence: a redelivery) is skipped.
const INSERT_HISTORY_SQL = `
  INSERT INTO churn_history (customer_id, message_id, event_type, churn_probability, risk_level, model, model_version, key_factors, stream_seq)
  SELECT customer_id, message_id, event_type, churn_probability::double precision, risk_level, model, model_version, key_factors::jsonb,
         stream_seq::bigint
    FROM ROWS FROM (json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements_text(?::json), json_array_elements_text(?::json),
                    json_array_elements_text(?::json), json_array_elements(?::json), json_array_elements_text(?::json))
         AS h(customer_id, message_id, event_type, churn_probability, risk_level, model, model_version, key_factors, stream_seq)
  ON CONFLICT (customer_id, stream_seq) DO NOTHING`;

interface HistoryRow extends Record<string, unknown> {
  customerId: string;
  messageId: string;
  eventType: string;
  probability: number;
  risk: string;
  model: string;
  modelVersion: string;
  factors: string[];
  seq: number;
}

/** churn_history's columns in INSERT_HISTORY_SQL's order. */
const HISTORY_COLUMNS = ["customerId", "messageId", "eventType", "probability", "risk", "model", "modelVersion", "factors", "seq"] as const;

interface Applied {
  msg: JsMsg;
  event: EventEnvelope;
  state: CustomerState;
  /** index of the scoring model in the batch's scorers, or -1 when no model's profile is complete */
  scorer: number;
  /** this event's row in that model's buffer */
  row: number;
}

/**
 * The churn pipeline: folds `events.customer.<id>` into each customer's profile (telco fields,
 * subscription fields, or both), rescores the customer after every event that leaves a profile
 * some churn model can score (models.ts says which one), and records the score, its history and
 * a High-risk alert — state, results and alerts in one transaction, acked after the commit. An
 * event already applied (its sequence is at or below the customer's last) is acknowledged without
 * effect, so a redelivery changes nothing.
 */
export function createChurnHandler(deps: PipelineDeps) {
  const { db, bus, registry, metrics } = deps;
  const cache = new StateCache<CustomerState>(CACHED_CUSTOMERS, (s) => s.customerId);
  // every score's key factors are its explanation's
  registry.prepareExplainers(CHURN_MODELS);

  return async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const events: Array<{ index: number; msg: JsMsg; event: EventEnvelope }> = [];
    batch.forEach((msg, index) => {
      const parsed = EventEnvelopeSchema.safeParse(decodeJson(msg.data));
      if (!parsed.success) {
        outcomes[index] = { kind: "invalid", error: `not a customer event: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}` };
      } else {
        events.push({ index, msg, event: parsed.data });
      }
    });
    if (events.length === 0) return outcomes;
    // resolved per batch: a model version activated meanwhile takes over from the next batch
    const scorers = new ChurnScorers(registry, events.length);

    const started = performance.now();
    const { alerts, states } = await db.transaction(async (trx) => {
      const states = await lockStates(trx, [...new Set(events.map((e) => e.event.key))], cache);
      const applied: Applied[] = [];
      for (const { index, msg, event } of events.sort((a, b) => a.msg.seq - b.msg.seq)) {
        const state = states.get(event.key)!;
        if (msg.seq <= state.lastSeq) continue; // applied before a redelivery; nothing to do
        const picked = pickFeatures(event.data, scorers);
        if ("error" in picked) {
          outcomes[index] = { kind: "invalid", error: picked.error };
          continue;
        }
        const { update } = picked;
        const candidate = { ...state.profile, ...update };
        const fold = scorers.fold(candidate, update);
        if (!fold.ok) {
          // this event carries bad values: refuse it, keep the state as it was
          outcomes[index] = { kind: "invalid", error: fold.error };
          continue;
        }
        state.profile = candidate;
        countEventType(state.counters, event.type);
        state.eventsSeen += 1;
        state.lastSeq = msg.seq;
        const at = Date.parse(event.timestamp);
        if (state.lastEventMs === null || at > state.lastEventMs) state.lastEventMs = at;
        applied.push({ msg, event, state, scorer: fold.scorer, row: fold.scorer >= 0 ? scorers.commit(fold.scorer) : -1 });
      }

      const scores = await Promise.all(scorers.scorers.map((s) => scoreRows(s, metrics)));
      const history = new ColumnBatch<HistoryRow>(HISTORY_COLUMNS);
      const newAlerts: NewAlert[] = [];
      // in stream order, so each event's "previous risk" is the one its predecessor left
      for (const a of applied) {
        if (a.scorer < 0) continue;
        const { model, flat } = scorers.scorers[a.scorer]!;
        const previousRisk = a.state.riskLevel;
        const probability = scores[a.scorer]![a.row]!;
        const risk = churnRiskLevel(probability);
        const factors = model.explain?.(flat, a.row * model.encoder.width).slice(0, KEY_FACTORS).map((c) => c.feature) ?? [];
        Object.assign(a.state, { churnProbability: probability, riskLevel: risk, model: model.name, modelVersion: model.version, keyFactors: factors, scoredAt: new Date() });
        history.add({
          customerId: a.state.customerId,
          messageId: messageIdOf(a.msg),
          eventType: a.event.type,
          probability,
          risk,
          model: model.name,
          modelVersion: model.version,
          factors,
          seq: a.msg.seq,
        });
        if (risk === "High" && previousRisk !== "High") {
          newAlerts.push({
            dedupKey: `churn:${a.state.customerId}:${a.msg.seq}`,
            type: "churn_risk",
            severity: "high",
            source: "churn",
            entityType: "customer",
            entityId: a.state.customerId,
            message: `Customer ${a.state.customerId} became high churn risk (${(probability * 100).toFixed(1)}%)`,
            data: { churn_probability: probability, previous_risk: previousRisk, key_factors: factors, model: model.name, model_version: model.version },
          });
        }
      }
      await saveStates(trx, [...new Set(applied.map((a) => a.state))]);
      if (history.length > 0) await trx.raw(INSERT_HISTORY_SQL, history.bindings());
      return { alerts: await insertAlerts(trx, newAlerts), states: states.values() };
    });
    // committed: these states are now what the rows hold
    cache.put(states);
    metrics.dbWriteDuration.observe({ pipeline: "churn" }, (performance.now() - started) / 1000);
    await publishAlerts(db, bus, metrics, alerts);
    return outcomes;
  };
}

/**
 * The event's profile fields, under the profile's names (an alias or another spelling sets its
 * feature). A feature sent under two of its names is refused, as a request is: which one was meant
 * is not ours to guess.
 */
function pickFeatures(data: Record<string, unknown>, scorers: ChurnScorers): { update: Record<string, unknown> } | { error: string } {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    const field = scorers.fieldOf(key);
    if (field === undefined) continue;
    if (Object.hasOwn(picked, field)) {
      const earlier = Object.keys(data).find((k) => k !== key && scorers.fieldOf(k) === field)!;
      return { error: `invalid ${key === field ? earlier : key}: is another name of ${JSON.stringify(field)}, also given; send one of them` };
    }
    picked[field] = data[key];
  }
  return { update: picked };
}

async function scoreRows({ model, flat, rows }: ModelRows, metrics: PipelineDeps["metrics"]): Promise<Float32Array> {
  if (rows === 0) return new Float32Array(0);
  const started = performance.now();
  const scores = await model.score(flat.subarray(0, rows * model.encoder.width), rows);
  metrics.scoreDuration.observe({ model: model.name }, (performance.now() - started) / 1000);
  metrics.predictions.inc({ model: model.name }, rows);
  for (const score of scores) metrics.scores.observe({ model: model.name }, score);
  return scores;
}
