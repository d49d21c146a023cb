/**
 * Settings of the streaming novelty detector. Every length is in points (one point per `step`),
 * not in time, so the detector works at any sampling interval.
 */
import { DetectorConfigError } from "./errors.ts";

export interface DetectorConfig {
  /**
   * Points the detector watches before it scores: it learns what "normal" looks like and reports
   * score 0. NAB calls this the probationary period and gives every detector its length
   * (15% of the file, at most 750 points).
   */
  learningPeriod: number;
  /** Points of history kept (a ring buffer): the detector's memory, and the state's size. */
  historyLength: number;
  /**
   * A value is novel when its distance to the nearest value in the history exceeds this fraction
   * of the history's range (max − min).
   */
  valueVigilance: number;
  /** Points averaged into one block of the pattern channel. */
  blockLength: number;
  /** Consecutive blocks forming a pattern: the pattern spans `blockLength · patternBlocks` points. */
  patternBlocks: number;
  /**
   * A pattern is novel when its distance (largest block difference) to the nearest earlier pattern
   * in the history exceeds this fraction of the history's range.
   */
  patternVigilance: number;
  /**
   * Points after an alarm during which the score is capped below the alarm level, so one incident
   * raises one alarm. Defaults to a fifth of the learning period.
   */
  refractoryPeriod: number;
}

/** Score at and above which a point is an alarm (novelty = 1, that is at the vigilance). */
export const ALARM_SCORE = 0.5;

/** Highest score reported while the refractory period after an alarm runs. */
export const REFRACTORY_SCORE_CAP = 0.45;

/**
 * Defaults, chosen on the NAB corpus as a whole (one setting for all 58 files, no per-file
 * tuning; NAB has no held-out split, see `src/anomaly/README.md`).
 */
export const DEFAULT_DETECTOR_CONFIG: Readonly<Omit<DetectorConfig, "refractoryPeriod">> = Object.freeze({
  learningPeriod: 750,
  historyLength: 3000,
  valueVigilance: 0.025,
  blockLength: 16,
  patternBlocks: 4,
  patternVigilance: 0.125,
});

/** The refractory period's share of the learning period when it is not given. */
export const DEFAULT_REFRACTORY_FRACTION = 0.2;

function integer(name: keyof DetectorConfig, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new DetectorConfigError(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function positive(name: keyof DetectorConfig, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new DetectorConfigError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** Fills in defaults and checks every setting; throws a DetectorConfigError saying what to fix. */
export function resolveDetectorConfig(partial: Partial<DetectorConfig> = {}): DetectorConfig {
  const merged = { ...DEFAULT_DETECTOR_CONFIG, ...partial };
  const learningPeriod = integer("learningPeriod", merged.learningPeriod, 0);
  const blockLength = integer("blockLength", merged.blockLength, 1);
  const patternBlocks = integer("patternBlocks", merged.patternBlocks, 1);
  const historyLength = integer("historyLength", merged.historyLength, 2);
  if (historyLength < 2 * blockLength * patternBlocks) {
    throw new DetectorConfigError(`historyLength (${historyLength}) must hold at least two patterns (2 · blockLength · patternBlocks = ${2 * blockLength * patternBlocks})`);
  }
  const refractoryPeriod = integer("refractoryPeriod", partial.refractoryPeriod ?? Math.round(DEFAULT_REFRACTORY_FRACTION * learningPeriod), 0);
  return {
    learningPeriod,
    historyLength,
    valueVigilance: positive("valueVigilance", merged.valueVigilance),
    blockLength,
    patternBlocks,
    patternVigilance: positive("patternVigilance", merged.patternVigilance),
    refractoryPeriod,
  };
}
