/** Public surface of the NAB scorer (a port of numenta/NAB's sweeper, optimiser and normalisation). */
export { benchmarkDetector, loadCorpus, normaliseScore, nullBaselines, nullDetectorScores } from "./benchmark.ts";
export {
  checkWindows,
  formatNabTimestamp,
  listDataFiles,
  loadFinalResults,
  loadProfiles,
  loadThresholds,
  loadWindows,
  nabPaths,
  parseNabTimestamp,
  readAnomalyScores,
  readSeries,
  resultsFilePath,
} from "./corpus.ts";
export { detectSeries } from "./detect.ts";
export { NabError } from "./errors.ts";
export { optimizeThreshold, sweepCorpus } from "./optimizer.ts";
export { calcScoreByThreshold, calcSweepScore, PROBATION_PERCENT, probationaryLength, rowAtThreshold, scaledSigmoid, scoreDataSet, sigmoid } from "./sweeper.ts";
export type { BenchmarkOptions, DetectorScores, FileScore, NabCorpus, ProfileResult } from "./benchmark.ts";
export type { NabPaths, NabSeries, Profile } from "./corpus.ts";
export type { DetectorOverrides } from "./detect.ts";
export type { OptimizedThreshold, ScoredFile } from "./optimizer.ts";
export type { CostMatrix, SweepPoint, ThresholdScore, WindowLimits } from "./sweeper.ts";
