import type { JsMsg } from "@nats-io/jetstream";
import { step, type Severity } from "../../src/anomaly/detector/index.ts";
import { insertAlerts, publishAlerts, type Alert, type NewAlert } from "../../src/alerts/index.ts";
import { decodeJson, EventEnvelopeSchema, type BatchHandler, type Outcome } from "../../src/streams/index.ts";
import { messageIdOf } from "../messages.ts";
import { StateCache } from "../state-cache.ts";
import type { PipelineDeps } from "../types.ts";
import { explainAnomaly } from "./explain.ts";
import { toPoint, type MetricPoint } from "./point.ts";
import { lockStates, saveStates, type SeriesState } from "./state.ts";

export const ANOMALY_ALERT_TYPE = "anomaly";

/** Series whose detector state stays in memory between batches (about 100 MB when all are full). */
const CACHED_SERIES = 2_000;

/** The detector's severities are the alert severities; spelled out so that a change on either side fails to compile. */
const ALERT_SEVERITY: Record<Severity, Alert["severity"]> = { low: "low", medium: "medium", high: "high", critical: "critical" };

// The batch's anomalies as one JSON parameter; a message id already stored (a redelivery) is skipped.
const INSERT_ANOMALIES_SQL = `
  INSERT INTO anomalies (series_id, message_id, ts, value, expected, stddev, lower, upper, score, severity, explanation, stream_seq)
  SELECT series_id, message_id, ts, value, expected, stddev, lower, upper, score, severity, explanation, stream_seq
    FROM jsonb_to_recordset(?::jsonb) AS a(series_id text, message_id text, ts timestamptz, value double precision, expected double precision,
                                           stddev double precision, lower double precision, upper double precision, score double precision,
                                           severity text, explanation text, stream_seq bigint)
  ON CONFLICT (message_id) DO NOTHING`;

interface Pending {
  msg: JsMsg;
  seriesId: string;
  point: MetricPoint;
}

/**
 * The anomaly pipeline: runs every point of `events.metric.<series>` through the series' streaming
 * detector, one point at a time in stream order (as `npm run eval:nab` does), and records each
 * alarm as an anomaly row and an `anomaly` alert — detector state, anomalies and alerts in one
 * transaction, acked after the commit. A point already applied (its sequence is at or below the
 * series' last) is acknowledged without effect, so a redelivery changes nothing.
 */
export function createAnomalyHandler(deps: PipelineDeps): BatchHandler {
  const { db, bus, metrics } = deps;
  const cache = new StateCache<SeriesState>(CACHED_SERIES, (s) => s.seriesId);

  return async (batch) => {
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const pending: Pending[] = [];
    batch.forEach((msg, index) => {
      const parsed = EventEnvelopeSchema.safeParse(decodeJson(msg.data));
      if (!parsed.success) {
        outcomes[index] = { kind: "invalid", error: `not a metric event: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}` };
        return;
      }
      const point = toPoint(parsed.data);
      if (!point.ok) outcomes[index] = { kind: "invalid", error: point.error };
      else pending.push({ msg, seriesId: parsed.data.key, point: point.point });
    });
    if (pending.length === 0) return outcomes;

    const started = performance.now();
    const { states, alerts } = await db.transaction(async (trx) => {
      // The lock query's cost estimate (a history lookup per series) crosses jit_above_cost, and
      // compiling it took ~250 ms a batch (EXPLAIN ANALYZE), far longer than running it.
      await trx.raw("SET LOCAL jit = off");
      const states = await lockStates(trx, [...new Set(pending.map((p) => p.seriesId))], cache);
      const touched = new Set<SeriesState>();
      const anomalies: Array<Record<string, unknown>> = [];
      const newAlerts: NewAlert[] = [];
      for (const { msg, seriesId, point } of pending.sort((a, b) => a.msg.seq - b.msg.seq)) {
        const state = states.get(seriesId)!;
        if (msg.seq <= state.lastSeq) continue; // applied before a redelivery; nothing to do
        const previous = state.detector.lastTimestamp;
        const result = step(state.detector, point.timestamp, point.value);
        if (previous !== null && point.timestamp < previous) state.latePoints += 1;
        state.lastSeq = msg.seq;
        touched.add(state);
        if (!result.alarm) continue;

        const facts = explainAnomaly(state.detector, result);
        const messageId = messageIdOf(msg);
        const ts = new Date(point.timestamp).toISOString();
        const severity = ALERT_SEVERITY[result.severity!];
        anomalies.push({
          series_id: seriesId,
          message_id: messageId,
          ts,
          value: result.actual,
          expected: facts.expected,
          stddev: facts.stddev,
          lower: facts.lower,
          upper: facts.upper,
          score: result.score,
          severity,
          explanation: facts.explanation,
          stream_seq: msg.seq,
        });
        newAlerts.push({
          dedupKey: `anomaly:${messageId}`,
          type: ANOMALY_ALERT_TYPE,
          severity,
          source: "anomaly",
          entityType: "metric_series",
          entityId: seriesId,
          message: `Anomaly in ${seriesId} at ${ts}: value ${result.actual}, expected ${facts.expected.toPrecision(4)} ± ${facts.stddev.toPrecision(3)} (score ${result.score.toFixed(2)})`,
          data: {
            timestamp: ts,
            value: result.actual,
            expected: facts.expected,
            stddev: facts.stddev,
            lower: facts.lower,
            upper: facts.upper,
            score: result.score,
            explanation: facts.explanation,
            message_id: messageId,
            stream_seq: msg.seq,
          },
        });
      }
      await saveStates(trx, [...touched]);
      if (anomalies.length > 0) await trx.raw(INSERT_ANOMALIES_SQL, [JSON.stringify(anomalies)]);
      return { states, alerts: await insertAlerts(trx, newAlerts) };
    });
    cache.put(states.values());
    metrics.dbWriteDuration.observe({ pipeline: "anomaly" }, (performance.now() - started) / 1000);
    await publishAlerts(db, bus, metrics, alerts);
    return outcomes;
  };
}
