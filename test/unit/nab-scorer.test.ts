/**
 * The NAB scorer on small synthetic files whose scores are worked out by hand from NAB's
 * formulas (numenta/NAB nab/sweeper.py). Needs nothing from ../shared.
 *
 * Fixture: 20 rows one minute apart; probationary period floor(0.15 · 20) = 3 rows; one window
 * over rows 10..14 (width 5). Sweep scores:
 *   in the window, row i: S(−(14 − i + 1)/5) / S(−1) · tpWeight   (row 10 → exactly tpWeight)
 *   after it, row i:      S(|14 − i| / 4) · fpWeight              (row 16 → S(0.5) · fp)
 *   before any window:    −fpWeight
 * where S(x) = 2 / (1 + e^{5x}) − 1 is NAB's scaled sigmoid.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CostMatrix, NabCorpus, WindowLimits } from "../../src/anomaly/nab/index.ts";
import {
  benchmarkDetector,
  calcScoreByThreshold,
  calcSweepScore,
  normaliseScore,
  nullBaselines,
  optimizeThreshold,
  parseNabTimestamp,
  probationaryLength,
  rowAtThreshold,
  scaledSigmoid,
  scoreDataSet,
} from "../../src/anomaly/nab/index.ts";

const STANDARD: CostMatrix = { tpWeight: 1, fnWeight: 1, fpWeight: 0.11, tnWeight: 1 };
const LOW_FP: CostMatrix = { tpWeight: 1, fnWeight: 1, fpWeight: 0.22, tnWeight: 1 };
const LOW_FN: CostMatrix = { tpWeight: 1, fnWeight: 2, fpWeight: 0.11, tnWeight: 1 };

const T0 = Date.UTC(2020, 0, 1);
const N = 20;
const TIMESTAMPS = Array.from({ length: N }, (_, i) => T0 + i * 60_000);
const WINDOW: WindowLimits = [TIMESTAMPS[10]!, TIMESTAMPS[14]!];

/** Scores 0 everywhere except `hits` (row → score). */
function scores(hits: Record<number, number>, n = N): number[] {
  return Array.from({ length: n }, (_, i) => hits[i] ?? 0);
}

function score(hits: Record<number, number>, costMatrix = STANDARD, threshold = 0.5): number {
  return scoreDataSet(TIMESTAMPS, scores(hits), [WINDOW], "f.csv", threshold, costMatrix).row.score;
}

const close = (actual: number, expected: number, tolerance = 1e-12) => assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} ≠ ${expected}`);

describe("NAB scaled sigmoid and probation", () => {
  it("matches NAB's documented points", () => {
    close(scaledSigmoid(-1), 0.9866142981514305);
    close(scaledSigmoid(0), 0);
    close(scaledSigmoid(1), -0.9866142981514305);
    close(scaledSigmoid(-0.5), 0.8482836399575129);
    assert.equal(scaledSigmoid(3.5), -1);
  });

  it("takes 15% of the file, at most 750 rows", () => {
    assert.equal(probationaryLength(20), 3);
    assert.equal(probationaryLength(4032), 604);
    assert.equal(probationaryLength(22695), 750);
  });
});

describe("NAB file scoring (hand-computed)", () => {
  it("a detection on the first row of the window earns exactly tpWeight", () => {
    const { row } = scoreDataSet(TIMESTAMPS, scores({ 10: 0.9 }), [WINDOW], "f.csv", 0.5, STANDARD);
    close(row.score, 1);
    // 17 scored rows: 5 in the window (1 detected), 12 outside.
    assert.deepEqual([row.tp, row.fn, row.fp, row.tn, row.total], [1, 4, 0, 12, 17]);
  });

  it("only the earliest detection in a window counts", () => {
    close(score({ 12: 0.8, 13: 0.9 }), 0.9174286804284079); // S(−0.6) / S(−1)
    close(score({ 14: 0.8 }), 0.46838684390227814); // S(−0.2) / S(−1): last row of the window
  });

  it("a missed window costs fnWeight", () => {
    close(score({}), -1);
    close(score({}, LOW_FN), -2);
  });

  it("a false positive before any window costs fpWeight", () => {
    close(score({ 5: 0.7, 10: 0.7 }), 1 - 0.11);
    close(score({ 5: 0.7, 10: 0.7 }, LOW_FP), 1 - 0.22);
  });

  it("a false positive just after a window costs less", () => {
    close(score({ 16: 0.7 }), -1.0933112003953265); // −1 + S(0.5) · 0.11
    close(score({ 16: 0.7 }, LOW_FP), -1 - 0.18662240079065284);
  });

  it("ignores detections in the probationary period", () => {
    close(score({ 1: 0.99, 2: 0.99 }), -1);
    const points = calcSweepScore(TIMESTAMPS, scores({}), [WINDOW], "f.csv", STANDARD);
    assert.deepEqual(
      points.map((p) => p.probationary),
      TIMESTAMPS.map((_, i) => i < 3),
    );
  });

  it("uses ≥ threshold and the row in effect between two distinct scores", () => {
    const s = scores({ 5: 0.3, 10: 0.6 });
    const rows = calcScoreByThreshold(calcSweepScore(TIMESTAMPS, s, [WINDOW], "f.csv", STANDARD), STANDARD);
    // 1.1 (nothing) → 0.6 (the TP) → 0.3 (+ the FP) → 0 (every row)
    assert.deepEqual(
      rows.map((r) => r.threshold),
      [1.1, 0.6, 0.3, 0],
    );
    close(rows[0]!.score, -1);
    close(rows[1]!.score, 1);
    close(rows[2]!.score, 0.89);
    close(rowAtThreshold(rows, 0.6).score, 1);
    close(rowAtThreshold(rows, 0.45).score, 1);
    close(rowAtThreshold(rows, 0.3).score, 0.89);
    close(rowAtThreshold(rows, 2).score, -1);
  });
});

describe("NAB threshold optimiser and normalisation", () => {
  it("picks the corpus-wide threshold with the best total", () => {
    // File a: the window is hit at 0.8 (row 10); a false positive at 0.9 (row 5).
    // File b: no window; false positives at 0.95 and 0.6 (each −0.11 before any window).
    const files = [
      { name: "a.csv", timestamps: TIMESTAMPS, anomalyScores: scores({ 5: 0.9, 10: 0.8 }), windows: [WINDOW] },
      { name: "b.csv", timestamps: TIMESTAMPS, anomalyScores: scores({ 7: 0.95, 8: 0.6 }), windows: [] },
    ];
    // thresholds: 1.1 → −1; 0.95 → −1.11; 0.9 → −1.22; 0.8 → 1 − 0.22 = 0.78; 0.6 → 0.67; 0 → worse
    const best = optimizeThreshold(files, STANDARD);
    assert.equal(best.threshold, 0.8);
    close(best.score, 0.78);
  });

  it("normalises NAB's numenta standard total to its published 70.10", () => {
    // raw total from NAB's config/thresholds.json; null = −116, perfect = 116 windows
    close(normaliseScore(46.634450197137596, -116, 116), 70.10105611943965, 1e-9);
  });

  it("scores the null detector 0 and a perfect detector 100", () => {
    const long = Array.from({ length: 100 }, (_, i) => T0 + i * 60_000);
    const windows: WindowLimits[] = [
      [long[40]!, long[49]!],
      [long[70]!, long[79]!],
    ];
    const corpus: NabCorpus = {
      paths: { root: "", thresholds: "", data: "", windows: "", profiles: "", results: "", finalResults: "" },
      profiles: [
        { name: "standard", costMatrix: STANDARD },
        { name: "reward_low_FN_rate", costMatrix: LOW_FN },
      ],
      series: [
        { name: "x/a.csv", timestamps: long, values: long.map(() => 0) },
        { name: "x/b.csv", timestamps: TIMESTAMPS, values: TIMESTAMPS.map(() => 0) },
      ],
      windows: new Map([
        ["x/a.csv", windows],
        ["x/b.csv", []],
      ]),
      windowCount: 2,
    };
    const baselines = nullBaselines(corpus);
    assert.deepEqual([...baselines], [
      ["standard", -2],
      ["reward_low_FN_rate", -4],
    ]);
    const perfect = new Map([
      ["x/a.csv", long.map((_, i) => (i === 40 || i === 70 ? 1 : 0))],
      ["x/b.csv", TIMESTAMPS.map(() => 0)],
    ]);
    for (const r of benchmarkDetector(corpus, perfect, { baselines })) close(r.normalised, 100, 1e-9);
    const silent = new Map([...perfect].map(([k, v]) => [k, v.map(() => 0.5)]));
    for (const r of benchmarkDetector(corpus, silent, { baselines })) close(r.normalised, 0, 1e-9);
  });
});

describe("NAB timestamps", () => {
  it("reads data and label timestamps alike", () => {
    assert.equal(parseNabTimestamp("2014-04-10 07:15:00"), Date.UTC(2014, 3, 10, 7, 15));
    assert.equal(parseNabTimestamp("2014-04-10 07:15:00.000000"), Date.UTC(2014, 3, 10, 7, 15));
    assert.ok(Number.isNaN(parseNabTimestamp("10/04/2014")));
  });
});
