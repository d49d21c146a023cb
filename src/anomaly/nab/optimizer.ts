/**
 * NAB's threshold optimiser (numenta/NAB `nab/optimizer.py`): one threshold per detector and
 * profile for the whole corpus. All files' rows are swept together and the score is computed at
 * every distinct anomaly score; the best one wins (ties go to the higher threshold, as Python's
 * stable sort of the descending sweep does). Exact, no search heuristics.
 */
import type { CostMatrix, ThresholdScore, WindowLimits } from "./sweeper.ts";
import { calcScoreByThreshold, calcSweepScore, PROBATION_PERCENT } from "./sweeper.ts";

/** One data file with a detector's anomaly scores, ready to score. */
export interface ScoredFile {
  /** relative path in the corpus, e.g. `realKnownCause/nyc_taxi.csv`; names the windows */
  name: string;
  timestamps: readonly number[];
  anomalyScores: readonly number[];
  windows: readonly WindowLimits[];
}

export interface OptimizedThreshold {
  threshold: number;
  /** the corpus score (sum over files) at that threshold */
  score: number;
  best: ThresholdScore;
}

/** The score of the whole corpus at every distinct threshold, highest threshold first. */
export function sweepCorpus(files: readonly ScoredFile[], costMatrix: CostMatrix, probationPercent = PROBATION_PERCENT): ThresholdScore[] {
  const points = files.flatMap((f) => calcSweepScore(f.timestamps, f.anomalyScores, f.windows, f.name, costMatrix, probationPercent));
  return calcScoreByThreshold(points, costMatrix);
}

/** The corpus-wide threshold that maximises the NAB score of one profile. */
export function optimizeThreshold(files: readonly ScoredFile[], costMatrix: CostMatrix, probationPercent = PROBATION_PERCENT): OptimizedThreshold {
  const rows = sweepCorpus(files, costMatrix, probationPercent);
  let best = rows[0]!;
  for (const row of rows) if (row.score > best.score) best = row;
  return { threshold: best.threshold, score: best.score, best };
}
