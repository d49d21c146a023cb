/**
 * NAB's optimise → score → normalise steps (numenta/NAB `nab/runner.py`) for one detector:
 *
 * 1. optimise: per profile, the corpus-wide threshold with the highest total score;
 * 2. score: each file at that threshold (their sum is the optimiser's score);
 * 3. normalise: `100 · (score − null) / (perfect − null)` where `null` is the score of NAB's null
 *    detector (a constant 0.5, run through the same two steps) and `perfect` is
 *    `tpWeight · number of windows` (116 windows in NAB v1.1).
 */
import { DatasetError } from "../../training/csv.ts";
import { checkWindows, listDataFiles, loadProfiles, loadWindows, nabPaths, readSeries } from "./corpus.ts";
import type { NabPaths, NabSeries, Profile } from "./corpus.ts";
import { NabError } from "./errors.ts";
import { optimizeThreshold } from "./optimizer.ts";
import type { ScoredFile } from "./optimizer.ts";
import { PROBATION_PERCENT, scoreDataSet } from "./sweeper.ts";
import type { ThresholdScore, WindowLimits } from "./sweeper.ts";

/** The corpus in memory: data files, their windows and the profiles. */
export interface NabCorpus {
  paths: NabPaths;
  profiles: Profile[];
  series: NabSeries[];
  windows: Map<string, WindowLimits[]>;
  /** windows over all files: the perfect detector's score per unit of tpWeight */
  windowCount: number;
}

/** Loads and checks the whole corpus (365,558 rows in NAB v1.1; about a second). */
export async function loadCorpus(datasetsDir: string): Promise<NabCorpus> {
  const paths = nabPaths(datasetsDir);
  const [profiles, windows, names] = await Promise.all([loadProfiles(paths.profiles), loadWindows(paths.windows), listDataFiles(paths.data)]);
  if (names.length === 0) throw new DatasetError(`${paths.data}: no data files`, paths.data);
  const series = await Promise.all(names.map((n) => readSeries(paths.data, n)));
  for (const s of series) {
    const w = windows.get(s.name);
    if (!w) throw new DatasetError(`${paths.windows}: no windows entry for data file ${s.name}`, paths.windows);
    checkWindows(s, w, paths.windows);
  }
  let windowCount = 0;
  for (const w of windows.values()) windowCount += w.length;
  return { paths, profiles, series, windows, windowCount };
}

export interface FileScore extends ThresholdScore {
  name: string;
}

export interface ProfileResult {
  profile: string;
  threshold: number;
  /** sum of the file scores at the threshold (NAB's "Totals" row) */
  rawScore: number;
  /** 0 = null detector, 100 = perfect */
  normalised: number;
  /** null detector's raw score for this profile */
  baseline: number;
  /** perfect detector's raw score for this profile */
  perfect: number;
  counts: { tp: number; tn: number; fp: number; fn: number };
  files: FileScore[];
}

/** Anomaly scores per data file (relative path → one score per row, in row order). */
export type DetectorScores = ReadonlyMap<string, readonly number[]>;

function scoredFiles(corpus: NabCorpus, scores: DetectorScores): ScoredFile[] {
  return corpus.series.map((s) => {
    const a = scores.get(s.name);
    if (!a) throw new NabError(`no anomaly scores for ${s.name}`);
    if (a.length !== s.timestamps.length) throw new NabError(`${s.name}: ${a.length} anomaly scores for ${s.timestamps.length} rows`);
    for (const [i, x] of a.entries()) if (!Number.isFinite(x)) throw new NabError(`${s.name}: anomaly score of row ${i} is ${x}`);
    return { name: s.name, timestamps: s.timestamps, anomalyScores: a, windows: corpus.windows.get(s.name) ?? [] };
  });
}

/** Optimises (unless a threshold is given) and scores one profile; not normalised. */
function scoreProfile(
  files: readonly ScoredFile[],
  profile: Profile,
  probationPercent: number,
  fixedThreshold?: number,
): Omit<ProfileResult, "normalised" | "baseline" | "perfect"> {
  const threshold = fixedThreshold ?? optimizeThreshold(files, profile.costMatrix, probationPercent).threshold;
  const perFile = files.map((f): FileScore => {
    const { row } = scoreDataSet(f.timestamps, f.anomalyScores, f.windows, f.name, threshold, profile.costMatrix, probationPercent);
    return { name: f.name, ...row };
  });
  const counts = { tp: 0, tn: 0, fp: 0, fn: 0 };
  let rawScore = 0;
  for (const f of perFile) {
    rawScore += f.score;
    counts.tp += f.tp;
    counts.tn += f.tn;
    counts.fp += f.fp;
    counts.fn += f.fn;
  }
  return { profile: profile.name, threshold, rawScore, counts, files: perFile };
}

/** NAB's null detector: 0.5 on every row. */
export function nullDetectorScores(corpus: NabCorpus): Map<string, number[]> {
  return new Map(corpus.series.map((s) => [s.name, new Array<number>(s.timestamps.length).fill(0.5)]));
}

/** The raw score of the null detector per profile: the normalisation's zero. */
export function nullBaselines(corpus: NabCorpus, probationPercent = PROBATION_PERCENT): Map<string, number> {
  const files = scoredFiles(corpus, nullDetectorScores(corpus));
  return new Map(corpus.profiles.map((p) => [p.name, scoreProfile(files, p, probationPercent).rawScore]));
}

export interface BenchmarkOptions {
  probationPercent?: number;
  /** null-detector scores per profile, when already computed */
  baselines?: Map<string, number>;
  /** profile → threshold to score at instead of optimising (e.g. NAB's `config/thresholds.json`) */
  thresholds?: ReadonlyMap<string, number>;
}

/** Optimise, score and normalise one detector's anomaly scores on every profile. */
export function benchmarkDetector(corpus: NabCorpus, scores: DetectorScores, options: BenchmarkOptions = {}): ProfileResult[] {
  const probationPercent = options.probationPercent ?? PROBATION_PERCENT;
  const baselines = options.baselines ?? nullBaselines(corpus, probationPercent);
  const files = scoredFiles(corpus, scores);
  return corpus.profiles.map((profile) => {
    const result = scoreProfile(files, profile, probationPercent, options.thresholds?.get(profile.name));
    const baseline = baselines.get(profile.name);
    if (baseline === undefined) throw new NabError(`no null baseline for profile ${profile.name}`);
    const perfect = corpus.windowCount * profile.costMatrix.tpWeight;
    return { ...result, baseline, perfect, normalised: normaliseScore(result.rawScore, baseline, perfect) };
  });
}

/** `100 · (raw − null) / (perfect − null)`, NAB's `runner.normalize`. */
export function normaliseScore(raw: number, baseline: number, perfect: number): number {
  return (100 * (raw - baseline)) / (perfect - baseline);
}
