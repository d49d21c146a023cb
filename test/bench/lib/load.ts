import autocannon from "autocannon";
import { cpuShares, cpuTotals, type CpuTotals } from "./machine.ts";
import { encodeRequest, RawHttpPool } from "./raw-http.ts";

const REQUEST_TIMEOUT_MS = 10_000;

export interface LoadSpec {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationS: number;
  /** requests per second over all connections; unset: as fast as the server answers */
  overallRate?: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  tool: "autocannon" | "paced";
  durationS: number;
  connections: number;
  overallRate: number | null;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses per second over the whole run */
  okPerSec: number;
  /** exact percentiles (ms, µs resolution) of every 2xx response, from request write to response end */
  latencyMs: Percentiles;
  /** paced runs: latency counted from the request's scheduled time (includes any generator lag) */
  scheduledLatencyMs?: Percentiles;
  /** paced runs: 2xx responses to the uncounted warm-up requests (their CPU is in the run's) */
  warmup2xx?: number;
  /**
   * paced runs: percentiles per second of the run, by send time (where the tail came from), beside
   * the whole machine's busy and steal shares in that second (% of all cores)
   */
  perSecond?: Array<{ second: number; n: number; p50: number; p99: number; max: number; busyPct?: number; stealPct?: number }>;
  /** autocannon's own figures: whole milliseconds, coordinated-omission correction at a fixed rate */
  autocannon?: { reqPerSecMean: number; latencyMs: Percentiles };
  statusCodes: Record<string, number>;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  // nearest-rank
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), max: r(sorted[n - 1]!), mean: r(sum / n) };
}

/** One autocannon run in this process; latencies are taken from its per-response events. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: spec.url,
    method: spec.method ?? "GET",
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  });
  // The runtime value is an EventEmitter that is also thenable; its "response" event passes the
  // client first (the @types signature omits it): (client, statusCode, bytes, responseTimeMs).
  (instance as unknown as NodeJS.EventEmitter).on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat?.count ?? 0;
  const l = result.latency;
  return {
    tool: "autocannon",
    durationS: result.duration,
    connections: spec.connections,
    overallRate: spec.overallRate ?? null,
    requests: result.requests.total,
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    okPerSec: result["2xx"] / result.duration,
    latencyMs: percentiles(latencies),
    autocannon: { reqPerSecMean: result.requests.average, latencyMs: { p50: l.p50, p90: l.p90, p99: l.p99, max: l.max, mean: l.mean } },
    statusCodes,
  };
}

/**
 * An open-loop load at a constant rate: request i is sent at start + i/rate whatever happened to the
 * earlier ones (autocannon's overallRate instead lets each connection send its per-second quota
 * back to back, then idle until the next second: bursts at full concurrency).
 *
 * The first `warmupS` seconds run at the same rate and are not counted: the pool opens its
 * sockets there, one per request that finds none free, and a burst of new connections is the
 * client warming up, not the server's steady state (it made the first second's p99 0.1–2.4 s).
 * A request still unanswered 10 s after the last was sent counts as a timeout.
 */
export async function runPaced(spec: LoadSpec & { overallRate: number; maxSockets?: number; warmupS?: number }): Promise<LoadResult> {
  const url = new URL(spec.url);
  const request = encodeRequest(url, spec.method ?? "GET", spec.headers ?? {}, spec.body);
  const pool = new RawHttpPool(url.hostname, Number(url.port), request, spec.maxSockets ?? 256);
  const warmup = Math.round(spec.overallRate * (spec.warmupS ?? 0));
  const total = warmup + Math.round(spec.overallRate * spec.durationS);
  const service: number[] = [];
  const sentAt: number[] = [];
  const scheduled: number[] = [];
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let warmupOk = 0;
  let non2xx = 0;
  let errors = 0;
  let finished = 0;
  const start = performance.now() + 5;
  const interval = 1000 / spec.overallRate;
  const measuredFrom = start + warmup * interval;

  const fire = (due: number, counted: boolean) =>
    new Promise<void>((resolveReq) => {
      const sent = performance.now();
      pool.send((code) => {
        const end = performance.now();
        if (!counted) {
          if (code >= 200 && code < 300) warmupOk++;
        } else if (code === 0) {
          errors++;
        } else {
          statusCodes[code] = (statusCodes[code] ?? 0) + 1;
          if (code >= 200 && code < 300) {
            ok++;
            service.push(end - sent);
            sentAt.push(sent - measuredFrom);
            scheduled.push(end - due);
          } else non2xx++;
        }
        resolveReq();
      });
    });

  // the machine's CPU ticks at each measured second's start (and the last one's end)
  const ticks: CpuTotals[] = [];
  const sampleTicks = () => {
    ticks.push(cpuTotals());
    if (ticks.length <= spec.durationS) setTimeout(sampleTicks, Math.max(0, measuredFrom + ticks.length * 1000 - performance.now()));
  };
  setTimeout(sampleTicks, Math.max(0, measuredFrom - performance.now()));

  let timeouts = 0;
  await new Promise<void>((resolveAll) => {
    let sentCount = 0;
    const done = () => {
      if (++finished === total) resolveAll();
    };
    const tick = () => {
      const now = performance.now();
      while (sentCount < total && start + sentCount * interval <= now) {
        void fire(start + sentCount * interval, sentCount >= warmup).then(done);
        sentCount++;
      }
      if (sentCount < total) setTimeout(tick, Math.max(0, Math.min(1, start + sentCount * interval - performance.now())));
      else
        setTimeout(() => {
          timeouts = total - finished;
          resolveAll();
        }, REQUEST_TIMEOUT_MS).unref();
    };
    setTimeout(tick, 5);
  });
  const elapsed = (performance.now() - measuredFrom) / 1000;
  pool.close();
  const bySecond = new Map<number, number[]>();
  service.forEach((latency, i) => {
    // a request the timer sent a little late still belongs to the last second
    const second = Math.min(Math.floor(sentAt[i]! / 1000), Math.ceil(spec.durationS) - 1);
    let list = bySecond.get(second);
    if (!list) bySecond.set(second, (list = []));
    list.push(latency);
  });
  const perSecond = [...bySecond].sort(([a], [b]) => a - b).map(([second, list]) => {
    const p = percentiles(list);
    const [from, to] = [ticks[second], ticks[second + 1]];
    const shares = from && to ? cpuShares(from, to) : null;
    return { second, n: list.length, p50: p.p50, p99: p.p99, max: p.max, ...shares };
  });
  return {
    tool: "paced",
    durationS: elapsed,
    connections: spec.maxSockets ?? 256,
    overallRate: spec.overallRate,
    requests: total - warmup,
    ok2xx: ok,
    warmup2xx: warmupOk,
    non2xx,
    errors,
    timeouts,
    okPerSec: ok / elapsed,
    latencyMs: percentiles(service),
    scheduledLatencyMs: percentiles(scheduled),
    perSecond,
    statusCodes,
  };
}
