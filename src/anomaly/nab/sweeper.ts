/**
 * The NAB scoring function, ported from numenta/NAB `nab/sweeper.py` (NAB v1.1, the code that
 * produced `results/final_results.json`). Names and semantics follow the Python on purpose, so the
 * two can be read side by side:
 *
 * - every row gets a "sweep score": inside a labelled window, the scaled sigmoid of its relative
 *   position (earliest row = +tpWeight, falling towards 0 at the right edge); outside, a false
 *   positive costs `fpWeight` times the scaled sigmoid of its distance past the previous window
 *   (−fpWeight when there is none, less just after a window);
 * - the first `min(floor(0.15·n), 0.15·5000)` rows are probationary and never scored;
 * - for a threshold t, a row with anomaly score ≥ t is a detection; each window counts once, with
 *   the best (that is the earliest) detection in it, or −fnWeight when it has none; false positives
 *   add up.
 */
import { NabError } from "./errors.ts";

/** The weights of one NAB application profile (`config/profiles.json`). */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
  tnWeight: number;
}

/** One labelled anomaly window: first and last timestamp (epoch milliseconds), both inclusive. */
export type WindowLimits = readonly [start: number, end: number];

/** A row after the sweep (Python `AnomalyPoint`). */
export interface SweepPoint {
  anomalyScore: number;
  /** the row's contribution when it is a detection, already weighted by the profile */
  sweepScore: number;
  /** `<file>|<window start>` for rows inside a window, null outside; meaningless when probationary */
  window: string | null;
  /** inside the probationary period: never scored */
  probationary: boolean;
}

/** The NAB score of a file or corpus at one threshold (Python `ThresholdScore`). */
export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  /** tp + tn + fp + fn, that is the scored (non-probationary) rows */
  total: number;
}

/** NAB's default probationary fraction (`run.py --probationaryPercent`). */
export const PROBATION_PERCENT = 0.15;

/** The start threshold of a sweep: above every score, so nothing is detected. */
export const SWEEP_START_THRESHOLD = 1.1;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * NAB's scaled sigmoid: −1 → 0.98661 (left edge of a window), 0 → 0 (right edge), +1 → −0.98661,
 * and −1 beyond 3 (a false positive far from any window).
 */
export function scaledSigmoid(relativePositionInWindow: number): number {
  if (relativePositionInWindow > 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePositionInWindow) - 1.0;
}

/**
 * Rows at the start of a file that are never scored: `min(floor(p·n), p·5000)`, that is 15% of
 * the file capped at 750 rows. Rows with index ≥ this value are scored.
 */
export function probationaryLength(numRows: number, probationPercent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/**
 * Python `Sweeper.calcSweepScore`: the sweep score and window of each row of one file.
 * `windows` must be sorted and their limits must be timestamps of the file (the corpus loader
 * checks both, as NAB's labeler does).
 */
export function calcSweepScore(
  timestamps: readonly number[],
  anomalyScores: readonly number[],
  windows: readonly WindowLimits[],
  dataSetName: string,
  costMatrix: CostMatrix,
  probationPercent = PROBATION_PERCENT,
): SweepPoint[] {
  if (timestamps.length !== anomalyScores.length) {
    throw new NabError(`${dataSetName}: ${timestamps.length} timestamps but ${anomalyScores.length} anomaly scores`);
  }
  const pending = [...windows];
  const points: SweepPoint[] = new Array<SweepPoint>(timestamps.length);
  const maxTP = scaledSigmoid(-1.0);
  const probation = probationaryLength(timestamps.length, probationPercent);

  let cur: WindowLimits | null = null;
  let curName: string | null = null;
  let curWidth = 0;
  let curRightIndex = 0;
  let prevWidth: number | null = null;
  let prevRightIndex: number | null = null;

  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!;
    const next = pending[0];
    if (next !== undefined && t === next[0]) {
      cur = pending.shift()!;
      curName = `${dataSetName}|${cur[0]}`;
      curRightIndex = indexOfTimestamp(timestamps, cur[1], dataSetName);
      curWidth = curRightIndex - indexOfTimestamp(timestamps, cur[0], dataSetName) + 1;
    }

    let weighted: number;
    if (cur !== null) {
      // Python's "-(right - i + 1) / width": −1 on the first row of the window, −1/width on the last.
      const positionInWindow = -(curRightIndex - i + 1) / curWidth;
      weighted = (scaledSigmoid(positionInWindow) * costMatrix.tpWeight) / maxTP;
    } else {
      let unweighted: number;
      if (prevRightIndex === null || prevWidth === null) {
        unweighted = -1.0;
      } else {
        // A one-row window gives 0/0 or x/0 here, as in Python (which would raise); NAB windows are wider.
        unweighted = scaledSigmoid(Math.abs(prevRightIndex - i) / (prevWidth - 1));
      }
      weighted = unweighted * costMatrix.fpWeight;
    }

    points[i] = { anomalyScore: anomalyScores[i]!, sweepScore: weighted, window: curName, probationary: i < probation };

    if (cur !== null && t === cur[1]) {
      prevRightIndex = i;
      prevWidth = curWidth;
      cur = null;
      curName = null;
    }
  }
  return points;
}

function indexOfTimestamp(timestamps: readonly number[], t: number, dataSetName: string): number {
  const i = timestamps.indexOf(t);
  if (i < 0) throw new NabError(`${dataSetName}: window limit ${new Date(t).toISOString()} is not a timestamp of the file`);
  return i;
}

/**
 * Python `Sweeper.calcScoreByThreshold`: the score at every distinct anomaly score, highest
 * threshold first, starting with {@link SWEEP_START_THRESHOLD} (nothing detected). Rows from many
 * files may be passed together (window names carry the file), which is how the optimiser scores
 * the corpus.
 */
export function calcScoreByThreshold(points: readonly SweepPoint[], costMatrix: CostMatrix): ThresholdScore[] {
  // Python's sorted() is stable; ties do not change any recorded row anyway, because a row is
  // recorded only when the anomaly score changes.
  const scorable = points.filter((p) => !p.probationary).sort((a, b) => b.anomalyScore - a.anomalyScore);

  const windowParts = new Map<string, number>();
  for (const p of scorable) if (p.window !== null) windowParts.set(p.window, -costMatrix.fnWeight);
  let fpPart = 0;

  let tn = 0;
  let fn = 0;
  for (const p of scorable) {
    if (p.window === null) tn++;
    else fn++;
  }
  let tp = 0;
  let fp = 0;

  const total = (): number => {
    // Python sums dict values in insertion order: "fp" first, then the windows.
    let s = fpPart;
    for (const v of windowParts.values()) s += v;
    return s;
  };

  const rows: ThresholdScore[] = [];
  let threshold = SWEEP_START_THRESHOLD;
  for (const p of scorable) {
    if (p.anomalyScore !== threshold) {
      rows.push({ threshold, score: total(), tp, tn, fp, fn, total: tp + tn + fp + fn });
      threshold = p.anomalyScore;
    }
    if (p.window !== null) {
      tp++;
      fn--;
      windowParts.set(p.window, Math.max(windowParts.get(p.window)!, p.sweepScore));
    } else {
      fp++;
      tn--;
      fpPart += p.sweepScore;
    }
  }
  rows.push({ threshold, score: total(), tp, tn, fp, fn, total: tp + tn + fp + fn });
  return rows;
}

/**
 * Python `Sweeper.scoreDataSet`: a file's score at a given threshold (detections are rows with
 * anomaly score ≥ threshold) and the per-row sweep scores.
 */
export function scoreDataSet(
  timestamps: readonly number[],
  anomalyScores: readonly number[],
  windows: readonly WindowLimits[],
  dataSetName: string,
  threshold: number,
  costMatrix: CostMatrix,
  probationPercent = PROBATION_PERCENT,
): { sweepScores: number[]; row: ThresholdScore } {
  const points = calcSweepScore(timestamps, anomalyScores, windows, dataSetName, costMatrix, probationPercent);
  const rows = calcScoreByThreshold(points, costMatrix);
  return { sweepScores: points.map((p) => p.sweepScore), row: rowAtThreshold(rows, threshold) };
}

/**
 * The row in effect at `threshold`: the exact one, else the last row above it. Python returns
 * None (and then fails) when every row lies above the threshold; here that is the last row, which
 * is what "detect every score ≥ threshold" means.
 */
export function rowAtThreshold(rows: readonly ThresholdScore[], threshold: number): ThresholdScore {
  let prev: ThresholdScore | undefined;
  for (const row of rows) {
    if (row.threshold === threshold) return row;
    // Above the start threshold (1.1) nothing is detected, which is the first row.
    if (row.threshold < threshold) return prev ?? row;
    prev = row;
  }
  return prev!;
}
