import type { JsMsg } from "@nats-io/jetstream";
import { insertAlerts, publishAlerts, type NewAlert } from "../../src/alerts/index.ts";
import { churnRiskLevel, type LoadedModel } from "../../src/models/index.ts";
import { decodeJson, EventEnvelopeSchema, type EventEnvelope, type Outcome } from "../../src/streams/index.ts";
import type { PipelineDeps } from "../types.ts";
import { lockStates, saveStates, type CustomerState } from "./state.ts";

export const CHURN_MODEL = "churn_telco";
const KEY_FACTORS = 3;

// The batch's history as one JSON parameter; a message id already stored (a redelivery) is skipped.
const INSERT_HISTORY_SQL = `
  INSERT INTO churn_history (customer_id, message_id, event_type, churn_probability, risk_level, model_version, key_factors, stream_seq)
  SELECT customer_id, message_id, event_type, churn_probability, risk_level, model_version, key_factors, stream_seq
    FROM jsonb_to_recordset(?::jsonb) AS h(customer_id text, message_id text, event_type text, churn_probability double precision,
                                           risk_level text, model_version text, key_factors jsonb, stream_seq bigint)
  ON CONFLICT (message_id) DO NOTHING`;

interface Applied {
  index: number;
  msg: JsMsg;
  event: EventEnvelope;
  state: CustomerState;
  /** offset of this event's encoded row in the batch buffer, or -1 when the profile is incomplete */
  row: number;
}

/**
 * The churn pipeline: folds `events.customer.<id>` into each customer's profile, rescores the
 * customer with the churn model after every event that leaves a complete profile, and records the
 * score, its history and a High-risk alert — state, results and alerts in one transaction, acked
 * after the commit. An event already applied (its sequence is at or below the customer's last) is
 * acknowledged without effect, so a redelivery changes nothing.
 */
export function createChurnHandler(deps: PipelineDeps) {
  const { db, bus, registry, metrics } = deps;

  return async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const model = registry.get(CHURN_MODEL);
    const features = new Set(model.card.features.map((f) => f.name));
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

    const started = performance.now();
    const alerts = await db.transaction(async (trx) => {
      const states = await lockStates(trx, [...new Set(events.map((e) => e.event.key))]);
      const flat = new Float32Array(events.length * model.encoder.width);
      const applied: Applied[] = [];
      let rows = 0;
      for (const { index, msg, event } of events.sort((a, b) => a.msg.seq - b.msg.seq)) {
        const state = states.get(event.key)!;
        if (msg.seq <= state.lastSeq) continue; // applied before a redelivery; nothing to do
        const update = pickFeatures(event.data, features);
        const candidate = { ...state.profile, ...update };
        const outcome = model.encoder.encodeInto(candidate, flat, rows * model.encoder.width);
        if (!outcome.ok) {
          const own = Object.keys(outcome.errors).filter((field) => field in update);
          if (own.length > 0) {
            // this event carries bad values: refuse it, keep the state as it was
            outcomes[index] = { kind: "invalid", error: `invalid ${own.map((f) => `${f}: ${outcome.errors[f]!.join(", ")}`).join("; ")}` };
            continue;
          }
        }
        state.profile = candidate;
        state.counters[event.type] = (state.counters[event.type] ?? 0) + 1;
        state.eventsSeen += 1;
        state.lastSeq = msg.seq;
        applied.push({ index, msg, event, state, row: outcome.ok ? rows++ : -1 });
      }

      const scores = rows > 0 ? await scoreRows(model, flat, rows, metrics) : new Float32Array(0);
      const history: Array<Record<string, unknown>> = [];
      const newAlerts: NewAlert[] = [];
      // in stream order, so each event's "previous risk" is the one its predecessor left
      for (const a of applied) {
        if (a.row < 0) continue;
        const previousRisk = a.state.riskLevel;
        const probability = scores[a.row]!;
        const risk = churnRiskLevel(probability);
        const factors = model.explain?.(flat, a.row * model.encoder.width).slice(0, KEY_FACTORS).map((c) => c.feature) ?? [];
        Object.assign(a.state, { churnProbability: probability, riskLevel: risk, modelVersion: model.version, scoredAt: new Date() });
        history.push({
          customer_id: a.state.customerId,
          message_id: messageId(a.msg),
          event_type: a.event.type,
          churn_probability: probability,
          risk_level: risk,
          model_version: model.version,
          key_factors: factors,
          stream_seq: a.msg.seq,
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
            data: { churn_probability: probability, previous_risk: previousRisk, key_factors: factors, model_version: model.version },
          });
        }
      }
      await saveStates(trx, [...new Set(applied.map((a) => a.state))]);
      if (history.length > 0) await trx.raw(INSERT_HISTORY_SQL, [JSON.stringify(history)]);
      return insertAlerts(trx, newAlerts);
    });
    metrics.dbWriteDuration.observe({ pipeline: "churn" }, (performance.now() - started) / 1000);
    await publishAlerts(db, bus, metrics, alerts);
    return outcomes;
  };
}

function pickFeatures(data: Record<string, unknown>, features: ReadonlySet<string>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(data)) if (features.has(key)) picked[key] = data[key];
  return picked;
}

async function scoreRows(model: LoadedModel, flat: Float32Array, rows: number, metrics: PipelineDeps["metrics"]) {
  const started = performance.now();
  const scores = await model.score(flat.subarray(0, rows * model.encoder.width), rows);
  metrics.scoreDuration.observe({ model: model.name }, (performance.now() - started) / 1000);
  metrics.predictions.inc({ model: model.name }, rows);
  return scores;
}

function messageId(msg: JsMsg): string {
  return msg.headers?.get("Nats-Msg-Id") || `${msg.info.stream}:${msg.seq}`;
}
