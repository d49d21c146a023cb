import type { MetricsFrame, PipelineFrame } from "./events.ts";
import type { ProcessSnapshot } from "./snapshot.ts";

/** A process that sent nothing for this long has stopped; its numbers leave the totals. */
const PROCESS_TTL_MS = 5_000;
/** Latency quantiles need more requests than one second may hold. */
const LATENCY_WINDOW_MS = 10_000;
const FRAMES_KEPT = 120;

interface ProcessState {
  latest: ProcessSnapshot;
  receivedAt: number;
  /** per-second rates between this process's last two snapshots */
  rates: Rates;
  /** sync latency bucket increments of recent intervals, for the sliding window */
  latency: Array<{ at: number; le: number[]; deltas: number[] }>;
}

interface Rates {
  handled: Record<string, number>;
  failed: Record<string, number>;
  redelivered: Record<string, number>;
  deadLettered: Record<string, number>;
  predictions: Record<string, number>;
  predictionErrors: number;
  httpRequests: number;
  httpErrors: number;
  syncRequests: number;
}

/**
 * Turns the snapshots of every process into one frame a second. Rates come from each process's own
 * consecutive snapshots (so arrival jitter does not make lines saw-tooth); gauges are the newest
 * values. Pure: the clock is passed in, so it is tested without timers.
 */
export class MetricsAggregator {
  private readonly processes = new Map<string, ProcessState>();
  private readonly frames: MetricsFrame[] = [];

  constructor(private readonly streamPrefix: string) {}

  ingest(snapshot: ProcessSnapshot, now: number): void {
    const state = this.processes.get(snapshot.process);
    if (state && snapshot.at <= state.latest.at) return; // out of order or repeated
    const rates = state ? ratesBetween(state.latest, snapshot) : emptyRates();
    const latency = state?.latency ?? [];
    if (state) latency.push({ at: now, le: snapshot.sync.le, deltas: bucketDeltas(state.latest.sync, snapshot.sync) });
    this.processes.set(snapshot.process, { latest: snapshot, receivedAt: now, rates, latency });
  }

  /** Builds the frame for the second ending `now`, keeps it for snapshots, and returns it. */
  tick(now: number): MetricsFrame {
    for (const [id, p] of this.processes) {
      if (now - p.receivedAt > PROCESS_TTL_MS) this.processes.delete(id);
      while (p.latency.length > 0 && now - p.latency[0]!.at > LATENCY_WINDOW_MS) p.latency.shift();
    }
    const live = [...this.processes.values()];
    const frame: MetricsFrame = {
      t: now,
      eventsPerSec: {},
      predictionsPerSec: {},
      sync: { perSec: 0, p50: null, p99: null },
      errors: { perSec: 0, rate: 0 },
      pipelines: {},
      processes: live.length,
    };
    let handledTotal = 0;
    let httpTotal = 0;
    // the pipeline's pending count from the process that reported it last
    const pendingAt = new Map<string, number>();
    for (const { latest, rates } of live) {
      for (const [name, p] of Object.entries(latest.pipelines)) {
        const stream = p.stream.startsWith(this.streamPrefix) ? p.stream.slice(this.streamPrefix.length) : p.stream;
        const f: PipelineFrame = (frame.pipelines[name] ??= {
          stream,
          handledPerSec: 0,
          pending: null,
          ackPending: 0,
          redeliveriesPerSec: 0,
          redeliveriesTotal: 0,
          deadLettersPerSec: 0,
          deadLettersTotal: 0,
        });
        const handled = rates.handled[name] ?? 0;
        f.handledPerSec += handled;
        f.ackPending += p.ackPending;
        f.redeliveriesPerSec += rates.redelivered[name] ?? 0;
        f.redeliveriesTotal += p.redelivered;
        if (p.pending !== null && latest.at > (pendingAt.get(name) ?? -1)) {
          f.pending = p.pending;
          pendingAt.set(name, latest.at);
        }
        frame.eventsPerSec[stream] = (frame.eventsPerSec[stream] ?? 0) + handled;
        handledTotal += handled;
        frame.errors.perSec += rates.failed[name] ?? 0;
      }
      for (const [model, rate] of Object.entries(rates.predictions)) {
        frame.predictionsPerSec[model] = (frame.predictionsPerSec[model] ?? 0) + rate;
      }
      frame.errors.perSec += rates.httpErrors + rates.predictionErrors;
      frame.sync.perSec += rates.syncRequests;
      httpTotal += rates.httpRequests;
    }
    // dead letters are counted by whichever process moved them, under the consumer's name
    for (const { latest, rates } of live) {
      for (const [consumer, total] of Object.entries(latest.deadLettered)) {
        const f = frame.pipelines[consumer];
        if (!f) continue;
        f.deadLettersTotal += total;
        f.deadLettersPerSec += rates.deadLettered[consumer] ?? 0;
      }
    }
    const activity = httpTotal + handledTotal;
    frame.errors.rate = activity > 0 ? Math.min(1, frame.errors.perSec / activity) : 0;
    const window = mergeLatency(live.flatMap((p) => p.latency));
    frame.sync.p50 = quantileMs(window, 0.5);
    frame.sync.p99 = quantileMs(window, 0.99);
    roundFrame(frame);

    this.frames.push(frame);
    if (this.frames.length > FRAMES_KEPT) this.frames.shift();
    return frame;
  }

  /** The frames kept, oldest first. */
  history(): MetricsFrame[] {
    return [...this.frames];
  }
}

function emptyRates(): Rates {
  return { handled: {}, failed: {}, redelivered: {}, deadLettered: {}, predictions: {}, predictionErrors: 0, httpRequests: 0, httpErrors: 0, syncRequests: 0 };
}

/** Per-second increase; a counter that went down belongs to a restarted process and counts from zero. */
function rate(before: number | undefined, after: number, seconds: number): number {
  const delta = before === undefined || after < before ? after : after - before;
  return delta / seconds;
}

function ratesOf(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, rate(before[k], v, seconds)]));
}

function ratesBetween(a: ProcessSnapshot, b: ProcessSnapshot): Rates {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const pipelineField = (field: "handled" | "failed" | "redelivered") =>
    Object.fromEntries(Object.entries(b.pipelines).map(([name, p]) => [name, rate(a.pipelines[name]?.[field], p[field], seconds)]));
  const syncTotal = (s: ProcessSnapshot["sync"]) => s.counts.at(-1) ?? 0;
  return {
    handled: pipelineField("handled"),
    failed: pipelineField("failed"),
    redelivered: pipelineField("redelivered"),
    deadLettered: ratesOf(a.deadLettered, b.deadLettered, seconds),
    predictions: ratesOf(a.predictions, b.predictions, seconds),
    predictionErrors: rate(a.predictionErrors, b.predictionErrors, seconds),
    httpRequests: rate(a.http.requests, b.http.requests, seconds),
    httpErrors: rate(a.http.errors, b.http.errors, seconds),
    syncRequests: rate(syncTotal(a.sync), syncTotal(b.sync), seconds),
  };
}

/** Non-cumulative increments per bucket between two cumulative histograms (same bounds or none before). */
function bucketDeltas(a: ProcessSnapshot["sync"], b: ProcessSnapshot["sync"]): number[] {
  const same = a.le.length === b.le.length && a.le.every((x, i) => x === b.le[i]);
  const cumulative = b.counts.map((c, i) => (same && c >= (a.counts[i] ?? 0) ? c - (a.counts[i] ?? 0) : c));
  return cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1]! : 0));
}

/** Sums bucket increments that share bounds (every process uses the same buckets; others are skipped). */
function mergeLatency(entries: ReadonlyArray<{ le: number[]; deltas: number[] }>): { le: number[]; counts: number[] } | null {
  const first = entries.find((e) => e.le.length > 0);
  if (!first) return null;
  const counts = new Array<number>(first.le.length + 1).fill(0);
  for (const e of entries) {
    if (e.le.length !== first.le.length || !e.le.every((x, i) => x === first.le[i])) continue;
    e.deltas.forEach((d, i) => (counts[i]! += d));
  }
  return { le: first.le, counts };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function quantileMs(h: { le: number[]; counts: number[] } | null, q: number): number | null {
  if (!h) return null;
  const total = h.counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const count = h.counts[i]!;
    if (seen + count >= rank && count > 0) {
      if (i >= h.le.length) return h.le.at(-1)! * 1000; // beyond the last finite bound
      const lower = i === 0 ? 0 : h.le[i - 1]!;
      return (lower + (h.le[i]! - lower) * ((rank - seen) / count)) * 1000;
    }
    seen += count;
  }
  return null;
}

function roundFrame(frame: MetricsFrame): void {
  const r = (x: number) => Math.round(x * 100) / 100;
  for (const k of Object.keys(frame.eventsPerSec)) frame.eventsPerSec[k] = r(frame.eventsPerSec[k]!);
  for (const k of Object.keys(frame.predictionsPerSec)) frame.predictionsPerSec[k] = r(frame.predictionsPerSec[k]!);
  for (const p of Object.values(frame.pipelines)) {
    p.handledPerSec = r(p.handledPerSec);
    p.redeliveriesPerSec = r(p.redeliveriesPerSec);
    p.deadLettersPerSec = r(p.deadLettersPerSec);
  }
  frame.sync.perSec = r(frame.sync.perSec);
  frame.sync.p50 = frame.sync.p50 === null ? null : r(frame.sync.p50);
  frame.sync.p99 = frame.sync.p99 === null ? null : r(frame.sync.p99);
  frame.errors.perSec = r(frame.errors.perSec);
  frame.errors.rate = Math.round(frame.errors.rate * 10_000) / 10_000;
}
