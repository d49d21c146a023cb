/**
 * The streaming novelty detector on seeded synthetic series: what it flags, what it leaves
 * alone, and the properties a pipeline relies on (JSON state that resumes bit for bit, no
 * look-ahead, bounded memory, typed errors).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DetectorConfig, DetectorState, StepResult } from "../../src/anomaly/detector/index.ts";
import { asDetectorState, createState, DetectorConfigError, DetectorInputError, resolveDetectorConfig, step } from "../../src/anomaly/detector/index.ts";
import { mulberry32 } from "../../src/training/split.ts";

const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const CONFIG: Partial<DetectorConfig> = { learningPeriod: 300, historyLength: 1000 };

/** A daily-like cycle (period 96) with bounded seeded noise. */
function seasonal(n: number, seed = 7): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 96) + 4 * (random() - 0.5));
}

function run(values: readonly number[], state: DetectorState = createState(CONFIG), from = 0): StepResult[] {
  return values.slice(from).map((v, i) => step(state, T0 + (from + i) * MINUTE, v));
}

describe("anomaly detector: what it flags", () => {
  it("scores a spike high and raises one alarm", () => {
    const values = seasonal(1000);
    values[800] = 95;
    const results = run(values);
    const spike = results[800]!;
    assert.ok(spike.score > 0.8, `spike score ${spike.score}`);
    assert.equal(spike.alarm, true);
    assert.ok(spike.severity === "high" || spike.severity === "critical", `severity ${spike.severity}`);
    assert.equal(spike.actual, 95);
    assert.ok(spike.expected !== null && Math.abs(spike.expected - 50) < 15, `expected ${spike.expected}`);
    assert.match(spike.explanation, /above the highest value/);
    assert.deepEqual(
      results.flatMap((r, i) => (r.alarm ? [i] : [])),
      [800],
    );
  });

  it("scores steady noise low", () => {
    const results = run(seasonal(2000, 11));
    const scored = results.slice(300);
    assert.equal(scored.filter((r) => r.alarm).length, 0);
    assert.ok(Math.max(...scored.map((r) => r.score)) < 0.5);
    const mean = scored.reduce((s, r) => s + r.score, 0) / scored.length;
    assert.ok(mean < 0.1, `mean score ${mean}`);
  });

  it("sees a change of pattern whose values are all familiar", () => {
    const values = seasonal(1200, 3);
    // From 900 the cycle stops at its mid level: every value is one seen before.
    for (let i = 900; i < 1000; i++) values[i] = 50 + 2 * (mulberry32(i)() - 0.5);
    const results = run(values);
    const first = results.findIndex((r, i) => i >= 300 && r.alarm);
    assert.ok(first >= 900 && first < 1000, `first alarm at ${first}`);
    assert.ok(results[first]!.novelty!.pattern! >= 1);
    assert.ok(results[first]!.novelty!.value < 1);
    assert.match(results[first]!.explanation, /pattern/);
  });

  it("learns first, then holds off a second alarm for the refractory period", () => {
    const values = seasonal(1500);
    values[100] = 200; // during learning: never an alarm
    values[800] = 300;
    values[830] = 400; // inside the refractory period (60 points)
    values[1200] = 500; // after it
    const results = run(values);
    assert.ok(results.slice(0, 300).every((r) => r.score === 0 && r.phase === "learning" && !r.alarm));
    assert.equal(results[800]!.alarm, true);
    assert.equal(results[830]!.alarm, false);
    assert.equal(results[830]!.phase, "refractory");
    assert.ok(results[830]!.score < 0.5 && results[830]!.novelty!.value > 1);
    assert.equal(results[1200]!.alarm, true);
  });
});

describe("anomaly detector: state and streaming", () => {
  it("round-trips its state through JSON mid-series and gives identical scores", () => {
    const values = seasonal(1600, 5);
    values[1100] = 120;
    values[1400] = 10;
    const reference = run(values);

    const state = createState(CONFIG);
    const firstPart = run(values.slice(0, 1050), state);
    const restored = asDetectorState(JSON.parse(JSON.stringify(state)));
    assert.deepEqual(restored, state);
    const secondPart = run(values, restored, 1050);
    assert.deepEqual([...firstPart, ...secondPart], reference);
  });

  it("does not look ahead: later points never change earlier scores", () => {
    const a = seasonal(1200, 9);
    const b = [...a];
    for (let i = 700; i < b.length; i++) b[i] = b[i]! * 3 - 40;
    const scoresA = run(a).map((r) => r.score);
    const scoresB = run(b).map((r) => r.score);
    assert.deepEqual(scoresA.slice(0, 700), scoresB.slice(0, 700));
    assert.notDeepEqual(scoresA.slice(700), scoresB.slice(700));
  });

  it("keeps its memory bounded and deterministic", () => {
    const state = createState({ ...CONFIG, historyLength: 500 });
    const values = seasonal(3000, 13);
    run(values, state);
    assert.equal(state.history.length, 500);
    assert.equal(state.count, 3000);
    const again = createState({ ...CONFIG, historyLength: 500 });
    run(values, again);
    assert.deepEqual(again, state);
  });
});

describe("anomaly detector: bad input", () => {
  it("rejects values that are not finite numbers and invalid timestamps", () => {
    const state = createState(CONFIG);
    assert.throws(() => step(state, T0, Number.NaN), DetectorInputError);
    assert.throws(() => step(state, T0, Number.POSITIVE_INFINITY), DetectorInputError);
    assert.throws(() => step(state, Number.NaN, 1), DetectorInputError);
    assert.equal(state.count, 0);
    step(state, new Date(T0), 1);
    assert.equal(state.lastTimestamp, T0);
  });

  it("rejects bad settings and foreign states", () => {
    assert.throws(() => resolveDetectorConfig({ historyLength: 10 }), DetectorConfigError);
    assert.throws(() => resolveDetectorConfig({ valueVigilance: 0 }), DetectorConfigError);
    assert.throws(() => resolveDetectorConfig({ learningPeriod: 1.5 }), DetectorConfigError);
    assert.equal(resolveDetectorConfig({ learningPeriod: 600 }).refractoryPeriod, 120);
    assert.throws(() => asDetectorState({ kind: "something else" }), DetectorInputError);
    assert.throws(() => asDetectorState({ ...createState(CONFIG), history: [1, null] }), DetectorInputError);
  });
});
