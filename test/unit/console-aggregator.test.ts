import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MetricsAggregator, quantileMs } from "../../src/console/aggregator.ts";
import type { ProcessSnapshot } from "../../src/console/snapshot.ts";

const PREFIX = "T1_";

interface Counts {
  handled?: number;
  failed?: number;
  redelivered?: number;
  pending?: number | null;
  ackPending?: number;
  deadLettered?: number;
  predictions?: number;
  predictionErrors?: number;
  requests?: number;
  httpErrors?: number;
  /** cumulative sync latency counts for the bounds 0.1 s, 0.5 s, 1 s and +Inf */
  sync?: number[];
}

/** One process's cumulative counters at the sender's time `at`: a churn pipeline on the customer stream. */
function snap(process: string, at: number, c: Counts = {}): ProcessSnapshot {
  return {
    process,
    at,
    pipelines: {
      churn: {
        stream: `${PREFIX}EVENTS_CUSTOMER`,
        handled: c.handled ?? 0,
        failed: c.failed ?? 0,
        redelivered: c.redelivered ?? 0,
        pending: c.pending ?? null,
        ackPending: c.ackPending ?? 0,
      },
    },
    deadLettered: { churn: c.deadLettered ?? 0 },
    predictions: { churn: c.predictions ?? 0 },
    predictionErrors: c.predictionErrors ?? 0,
    http: { requests: c.requests ?? 0, errors: c.httpErrors ?? 0 },
    sync: { le: [0.1, 0.5, 1], counts: c.sync ?? [0, 0, 0, 0] },
  };
}

describe("console metrics aggregator", () => {
  it("starts a process at zero rates and reports its gauges, the stream without the install's prefix", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 1_000, { handled: 5_000, pending: 12, ackPending: 3, redelivered: 7, deadLettered: 2 }), 1_000);
    const frame = agg.tick(1_000);
    assert.equal(frame.processes, 1);
    assert.deepEqual(frame.eventsPerSec, { EVENTS_CUSTOMER: 0 }, "a first snapshot's totals are history, not this second's rate");
    assert.deepEqual(frame.pipelines.churn, {
      stream: "EVENTS_CUSTOMER",
      handledPerSec: 0,
      pending: 12,
      ackPending: 3,
      redeliveriesPerSec: 0,
      redeliveriesTotal: 7,
      deadLettersPerSec: 0,
      deadLettersTotal: 2,
    });
    assert.deepEqual(frame.sync, { perSec: 0, p50: null, p99: null });
  });

  it("computes per-second rates from counter deltas over the sender's own interval, whenever they arrive", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 10_000, { handled: 100, failed: 10, redelivered: 1, deadLettered: 1, predictions: 40, predictionErrors: 2, requests: 50, httpErrors: 0 }), 10_400);
    // two seconds later by the sender's clock, received only 1.1 s later: rates use the 2 s
    agg.ingest(snap("a", 12_000, { handled: 300, failed: 14, redelivered: 5, deadLettered: 3, predictions: 140, predictionErrors: 4, requests: 150, httpErrors: 6 }), 11_500);
    const frame = agg.tick(12_000);
    assert.equal(frame.eventsPerSec.EVENTS_CUSTOMER, 100);
    assert.equal(frame.pipelines.churn!.handledPerSec, 100);
    assert.equal(frame.pipelines.churn!.redeliveriesPerSec, 2);
    assert.equal(frame.pipelines.churn!.deadLettersPerSec, 1);
    assert.equal(frame.predictionsPerSec.churn, 50);
    // failed messages 2/s + HTTP 5xx 3/s + prediction errors 1/s, over 100 handled/s + 50 requests/s
    assert.equal(frame.errors.perSec, 6);
    assert.equal(frame.errors.rate, 0.04);
  });

  it("coalesces: however many snapshots arrive, a tick makes one frame with the newest interval's rate", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 1_000, { handled: 0 }), 1_000);
    agg.ingest(snap("a", 1_250, { handled: 50 }), 1_250);
    agg.ingest(snap("a", 1_500, { handled: 100 }), 1_500);
    agg.ingest(snap("a", 1_750, { handled: 300 }), 1_750);
    const frame = agg.tick(2_000);
    // 200 in the last 0.25 s: 800/s, not the sum of the three intervals' rates (200 + 200 + 800)
    assert.equal(frame.pipelines.churn!.handledPerSec, 800);
    assert.equal(agg.history().length, 1, "one frame per tick");

    // a repeated or out-of-order snapshot changes nothing
    agg.ingest(snap("a", 1_750, { handled: 9_999 }), 2_100);
    agg.ingest(snap("a", 1_600, { handled: 9_999 }), 2_200);
    assert.equal(agg.tick(3_000).pipelines.churn!.handledPerSec, 800);
    assert.equal(agg.history().length, 2);
  });

  it("counts a counter that went down (a reset) from zero, never as a negative rate", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 1_000, { handled: 5_000, requests: 900, sync: [10, 20, 30, 30] }), 1_000);
    agg.ingest(snap("a", 3_000, { handled: 40, requests: 10, sync: [2, 4, 4, 4] }), 3_000);
    const frame = agg.tick(3_000);
    assert.equal(frame.pipelines.churn!.handledPerSec, 20);
    assert.equal(frame.sync.perSec, 2);
    assert.ok(frame.errors.rate >= 0 && frame.errors.perSec >= 0);
    // the 4 requests after the reset: 2 under 0.1 s, 2 between 0.1 and 0.5 s
    assert.equal(frame.sync.p50, 100);
  });

  it("sums over processes and drops one that has been silent for more than 5 s", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 100, { handled: 0, pending: 30 }), 100);
    agg.ingest(snap("b", 0, { handled: 0, pending: 90 }), 0);
    agg.ingest(snap("a", 1_100, { handled: 10, pending: 20, ackPending: 4 }), 1_100);
    agg.ingest(snap("b", 1_000, { handled: 30, pending: 25, ackPending: 6 }), 1_000);
    const both = agg.tick(1_200);
    assert.equal(both.processes, 2);
    assert.equal(both.pipelines.churn!.handledPerSec, 40);
    assert.equal(both.pipelines.churn!.ackPending, 10, "gauges add up over the processes");
    assert.equal(both.pipelines.churn!.pending, 20, "pending is the newest report's (a's), not a sum nor the last one read");

    // b keeps reporting, a does not
    agg.ingest(snap("b", 6_000, { handled: 530 }), 6_000);
    assert.equal(agg.tick(6_000).processes, 2, "4.9 s after its last snapshot a still counts");
    const later = agg.tick(6_200);
    assert.equal(later.processes, 1);
    assert.equal(later.pipelines.churn!.handledPerSec, 100);
  });

  it("takes p50 and p99 from the latency buckets of the last 10 s only", () => {
    const agg = new MetricsAggregator(PREFIX);
    agg.ingest(snap("a", 0), 0);
    // 10 requests under 0.1 s, 10 between 0.1 and 0.5 s
    agg.ingest(snap("a", 1_000, { sync: [10, 20, 20, 20] }), 1_000);
    const first = agg.tick(1_000);
    assert.equal(first.sync.perSec, 20);
    assert.equal(first.sync.p50, 100);
    assert.equal(first.sync.p99, 492);

    // 20 slow requests 9 s later: the window holds both intervals
    agg.ingest(snap("a", 10_000, { sync: [10, 20, 40, 40] }), 10_000);
    const both = agg.tick(10_000);
    assert.equal(both.sync.p50, 500);
    assert.equal(both.sync.p99, 990);

    // the fast interval leaves the window; no request at all leaves the quantiles empty
    const slowOnly = agg.tick(11_500);
    assert.equal(slowOnly.sync.p50, 750);
    agg.ingest(snap("a", 21_000, { sync: [10, 20, 40, 40] }), 21_000);
    const idle = agg.tick(21_000);
    assert.deepEqual(idle.sync, { perSec: 0, p50: null, p99: null });
  });

  it("keeps the last 120 frames, oldest first", () => {
    const agg = new MetricsAggregator(PREFIX);
    for (let t = 1; t <= 130; t++) agg.tick(t * 1_000);
    const kept = agg.history();
    assert.equal(kept.length, 120);
    assert.equal(kept[0]!.t, 11_000);
    assert.equal(kept.at(-1)!.t, 130_000);
  });
});

describe("quantileMs", () => {
  const le = [0.1, 0.5, 1];
  it("interpolates inside the bucket that holds the rank, like Prometheus' histogram_quantile", () => {
    const median = quantileMs({ le, counts: [0, 4, 0, 0] }, 0.5);
    assert.ok(median !== null && Math.abs(median - 300) < 1e-9, `${median}`);
    assert.equal(quantileMs({ le, counts: [1, 1, 2, 0] }, 0.75), 750);
  });
  it("answers the last finite bound for a rank beyond it, and null without observations", () => {
    assert.equal(quantileMs({ le, counts: [1, 0, 0, 9] }, 0.99), 1_000);
    assert.equal(quantileMs({ le, counts: [0, 0, 0, 0] }, 0.5), null);
    assert.equal(quantileMs(null, 0.5), null);
  });
});
