/**
 * The anomaly pipeline's pure parts: the stored form of a detector state, the metric point
 * contract, and the explanation of an anomaly. The pipeline itself runs against real services in
 * test/integration/anomaly-pipeline.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createState, DetectorInputError, step, type DetectorState } from "../../src/anomaly/detector/index.ts";
import type { EventEnvelope } from "../../src/streams/index.ts";
import { explainAnomaly } from "../../pipelines/anomaly/explain.ts";
import { toPoint } from "../../pipelines/anomaly/point.ts";
import { packState, unpackState } from "../../pipelines/anomaly/state.ts";
import { isInjectedSpike, metricEvents } from "../fixtures/metric-events.ts";

const values = (events: EventEnvelope[]) => events.map((e) => e.data.value as number);

/** What the pipeline writes and reads back: JSON for the state, a copy of the bytes for the history. */
function throughStorage(state: DetectorState): DetectorState {
  const packed = packState(state);
  return unpackState({ state: JSON.parse(JSON.stringify(packed.state)), history: Buffer.from(packed.history) });
}

describe("anomaly pipeline: stored state", () => {
  it("continues bit for bit after packing, once the history ring buffer has wrapped", () => {
    const points = values(metricEvents(4000, 1));
    const uninterrupted = createState();
    const expected = points.map((v, i) => step(uninterrupted, i, v).score);

    let resumed = createState();
    const scores: number[] = [];
    points.forEach((v, i) => {
      scores.push(step(resumed, i, v).score);
      if (i % 700 === 0) resumed = throughStorage(resumed);
    });
    assert.deepEqual(scores, expected);
    assert.deepEqual(resumed, uninterrupted);
    assert.ok(resumed.head > 0, "the ring buffer wrapped");
  });

  it("stores the history as 8 bytes a value, and keeps extreme values exactly", () => {
    const state = createState({ learningPeriod: 0, historyLength: 200 });
    const odd = [5e-324, -1.7976931348623157e308, 0.1 + 0.2, 1e-300, 123456789.12345679];
    for (let i = 0; i < 200; i++) step(state, i, odd[i % odd.length]!);
    const packed = packState(state);
    assert.equal(packed.history.length, 200 * 8);
    assert.equal("history" in packed.state, false);
    assert.deepEqual(throughStorage(state).history, state.history);
  });

  it("refuses a corrupt history", () => {
    const packed = packState(createState());
    assert.throws(() => unpackState({ ...packed, history: Buffer.alloc(12) }), DetectorInputError);
    assert.throws(() => unpackState({ state: { ...packed.state, kind: "other" } as never, history: packed.history }), DetectorInputError);
  });
});

describe("anomaly pipeline: metric points", () => {
  const envelope = (data: Record<string, unknown>, over: Partial<EventEnvelope> = {}): EventEnvelope => ({
    id: "e1",
    domain: "metric",
    key: "cpu",
    type: "sample",
    data,
    timestamp: "2026-11-01T10:00:00Z",
    ...over,
  });

  it("takes ISO or epoch-ms timestamps, or the envelope's", () => {
    const t = Date.parse("2026-11-01T09:00:00Z");
    assert.deepEqual(toPoint(envelope({ value: 1.5, timestamp: "2026-11-01T09:00:00Z" })), { ok: true, point: { timestamp: t, value: 1.5 } });
    assert.deepEqual(toPoint(envelope({ value: -2, timestamp: t + 0.7 })), { ok: true, point: { timestamp: t, value: -2 } });
    assert.deepEqual(toPoint(envelope({ value: 0, unit: "ms" })), { ok: true, point: { timestamp: Date.parse("2026-11-01T10:00:00Z"), value: 0 } });
  });

  it("refuses points that are not finite numbers at a valid time, saying why", () => {
    const refused = (data: Record<string, unknown>, over: Partial<EventEnvelope> = {}) => {
      const r = toPoint(envelope(data, over));
      assert.equal(r.ok, false, JSON.stringify(data));
      return r.ok ? "" : r.error;
    };
    assert.match(refused({ value: "412" }), /data\.value/);
    assert.match(refused({}), /data\.value/);
    assert.match(refused({ value: 1e200 }), /data\.value/);
    assert.match(refused({ value: 1, timestamp: "yesterday" }), /data\.timestamp/);
    assert.match(refused({ value: 1, timestamp: 8.7e15 }), /outside the years/);
    assert.match(refused({ value: 1 }, { domain: "customer" }), /not a metric event/);
  });
});

describe("anomaly pipeline: explanations", () => {
  it("gives the jump in σ of the previous points, then the detector's reason", () => {
    const state = createState();
    const events = metricEvents(901, 1);
    let last = step(state, 0, 0);
    events.forEach((e, i) => (last = step(state, i, e.data.value as number)));
    assert.equal(isInjectedSpike(900), true);
    assert.equal(last.alarm, true);
    const facts = explainAnomaly(state, last);
    assert.equal(facts.window, 16);
    assert.ok(Math.abs(facts.expected - last.expected!) < 1e-9);
    assert.ok(facts.stddev > 0);
    assert.deepEqual([facts.lower, facts.upper], last.expectedRange);
    const sigmas = (last.actual - facts.expected) / facts.stddev;
    assert.match(facts.explanation, new RegExp(`^value \\S+ is ${sigmas.toFixed(1)}σ above the expected \\S+ ± \\S+ of the previous 16 points; `));
    assert.ok(facts.explanation.endsWith(last.explanation));
  });

  it("says so when the previous points were all equal", () => {
    const state = createState({ learningPeriod: 200, historyLength: 400 });
    for (let i = 0; i < 300; i++) step(state, i, 7);
    const r = step(state, 300, 50);
    assert.equal(r.alarm, true);
    const facts = explainAnomaly(state, r);
    assert.equal(facts.stddev, 0);
    assert.match(facts.explanation, /^value 50 is above the expected 7 \(the previous 16 points were all 7\); /);
  });
});
