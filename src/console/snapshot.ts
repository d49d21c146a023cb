import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import type { Metrics } from "../metrics.ts";
import { encodeJson, type Bus } from "../streams/index.ts";

/**
 * Each process (API or pipelines, ROLE=api and ROLE=churn alike) publishes its counters once a
 * second on a core NATS subject; the API processes aggregate them for the console. Values are
 * cumulative, so a lost snapshot only widens the next interval, and the aggregator computes rates.
 */
export const ProcessSnapshotSchema = z.object({
  process: z.string().max(200),
  /** the sender's clock, epoch ms: rates use the sender's own intervals */
  at: z.number(),
  pipelines: z.record(
    z.string(),
    z.object({
      stream: z.string(),
      handled: z.number(),
      failed: z.number(),
      redelivered: z.number(),
      pending: z.number().nullable(),
      ackPending: z.number(),
    }),
  ),
  /** by consumer */
  deadLettered: z.record(z.string(), z.number()),
  /** by model */
  predictions: z.record(z.string(), z.number()),
  predictionErrors: z.number(),
  http: z.object({ requests: z.number(), errors: z.number() }),
  /** synchronous prediction latency: cumulative counts per bucket upper bound (seconds), +Inf last */
  sync: z.object({ le: z.array(z.number()), counts: z.array(z.number()) }),
});
export type ProcessSnapshot = z.infer<typeof ProcessSnapshotSchema>;

export const SNAPSHOT_INTERVAL_MS = 1_000;

export function snapshotSubject(subjectPrefix: string): string {
  return `${subjectPrefix}console.metrics`;
}

// the routes whose latency is the "sync latency" line: a request that waits for the scorer's answer
const SYNC_ROUTE = /\/predict(\/|$)/;

/** Reads this process's counters into one snapshot. `pipelineStreams` maps each running pipeline to its stream. */
export async function collectSnapshot(metrics: Metrics, process: string, pipelineStreams: ReadonlyMap<string, string>): Promise<ProcessSnapshot> {
  const [consumed, redelivered, pending, ackPending, deadLettered, predictions, predictionErrors, requests, duration] = await Promise.all([
    metrics.consumed.get(),
    metrics.redelivered.get(),
    metrics.consumerPending.get(),
    metrics.consumerAckPending.get(),
    metrics.deadLettered.get(),
    metrics.predictions.get(),
    metrics.predictionErrors.get(),
    metrics.httpRequests.get(),
    metrics.httpDuration.get(),
  ]);
  const pipelines: ProcessSnapshot["pipelines"] = {};
  for (const [name, stream] of pipelineStreams) {
    pipelines[name] = { stream, handled: 0, failed: 0, redelivered: 0, pending: null, ackPending: 0 };
  }
  const of = (labels: { pipeline?: string | number }) => (labels.pipeline === undefined ? undefined : pipelines[String(labels.pipeline)]);
  for (const v of consumed.values) {
    const p = of(v.labels);
    if (!p) continue;
    p.handled += v.value;
    if (v.labels.outcome !== "ack") p.failed += v.value;
  }
  const copy = (values: ReadonlyArray<{ value: number; labels: { pipeline?: string | number } }>, field: "redelivered" | "pending" | "ackPending") => {
    for (const v of values) {
      const p = of(v.labels);
      if (p) p[field] = v.value;
    }
  };
  copy(redelivered.values, "redelivered");
  copy(pending.values, "pending");
  copy(ackPending.values, "ackPending");

  const byLabel = (values: ReadonlyArray<{ value: number; labels: Record<string, string | number | undefined> }>, label: string) => {
    const out: Record<string, number> = {};
    for (const v of values) {
      const key = String(v.labels[label]);
      out[key] = (out[key] ?? 0) + v.value;
    }
    return out;
  };

  let httpErrors = 0;
  let httpTotal = 0;
  for (const v of requests.values) {
    httpTotal += v.value;
    if (String(v.labels.status).startsWith("5")) httpErrors += v.value;
  }

  // sum the per-(route, status) buckets of the sync routes into one histogram
  const counts = new Map<number, number>();
  for (const v of duration.values) {
    if (v.metricName !== "http_request_duration_seconds_bucket" || v.labels.method !== "POST" || !SYNC_ROUTE.test(String(v.labels.route))) continue;
    // bucket values carry the bound as an extra `le` label the label type does not list
    const bound = (v.labels as Record<string, string | number | undefined>).le;
    const le = bound === "+Inf" ? Infinity : Number(bound);
    counts.set(le, (counts.get(le) ?? 0) + v.value);
  }
  const le = [...counts.keys()].sort((a, b) => a - b);

  return {
    process,
    at: Date.now(),
    pipelines,
    deadLettered: byLabel(deadLettered.values, "consumer"),
    predictions: byLabel(predictions.values, "model"),
    predictionErrors: predictionErrors.values.reduce((sum, v) => sum + v.value, 0),
    http: { requests: httpTotal, errors: httpErrors },
    // JSON has no Infinity: the last bound is implied
    sync: { le: le.filter(Number.isFinite), counts: le.map((b) => counts.get(b)!) },
  };
}

/**
 * Publishes this process's snapshot every second until stopped. Costs one small core NATS message
 * a second per process, whether or not anyone watches.
 */
export function startSnapshotPublisher(deps: { bus: Bus; metrics: Metrics; subjectPrefix: string; pipelineStreams: ReadonlyMap<string, string> }) {
  const process = `${hostname()}:${globalThis.process.pid}:${randomUUID().slice(0, 8)}`;
  const subject = snapshotSubject(deps.subjectPrefix);
  let busy = false;
  const timer = setInterval(() => {
    if (busy || deps.bus.nc.isClosed()) return;
    busy = true;
    collectSnapshot(deps.metrics, process, deps.pipelineStreams)
      .then((snapshot) => deps.bus.nc.publish(subject, encodeJson(snapshot)))
      // a snapshot that cannot be sent (NATS reconnecting) is simply skipped: the next one carries the totals
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, SNAPSHOT_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
