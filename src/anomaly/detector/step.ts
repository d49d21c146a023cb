/**
 * One point in, one score out. `step` reads only the state and the new point (no look-ahead),
 * mutates the state, and is deterministic: the same points from the same state give the same
 * scores, also after the state went through JSON.
 *
 * Score: novelty n = max(value distance / valueVigilance, pattern distance / patternVigilance),
 * mapped to n / (1 + n), so 0.5 is the vigilance (the alarm level) and the score tends to 1 as the
 * point gets further from anything seen. After an alarm the score is capped below the alarm level
 * for `refractoryPeriod` points: one incident, one alarm.
 */
import { ALARM_SCORE, REFRACTORY_SCORE_CAP } from "./config.ts";
import { DetectorInputError } from "./errors.ts";
import type { Novelty } from "./novelty.ts";
import { measureNovelty } from "./novelty.ts";
import type { DetectorState } from "./state.ts";
import { pushHistory } from "./state.ts";

/** The alert severities of `src/alerts` (an alarm is at least "low"). */
export type Severity = "low" | "medium" | "high" | "critical";

export interface StepResult {
  /** 0..1; ≥ 0.5 is an alarm. 0 while learning. */
  score: number;
  /** this point raised an alarm (score ≥ 0.5 outside a refractory period) */
  alarm: boolean;
  /** the alarm's severity, null when there is no alarm */
  severity: Severity | null;
  /** the recent level: mean of the last `blockLength` values before this one (null for the first point) */
  expected: number | null;
  /** lowest and highest value in the history (null for the first point) */
  expectedRange: [number, number] | null;
  actual: number;
  /** novelty per channel in vigilance units (1 = at the alarm level); null while learning */
  novelty: { value: number; pattern: number | null } | null;
  /** "learning" until `learningPeriod` points were seen; "refractory" just after an alarm */
  phase: "learning" | "scoring" | "refractory";
  /** one sentence for an operator */
  explanation: string;
}

/** Severity bands of the score (novelty 1, 2, 4, 9 times the vigilance). */
const SEVERITY_BANDS: readonly [number, Severity][] = [
  [0.9, "critical"],
  [0.8, "high"],
  [2 / 3, "medium"],
  [ALARM_SCORE, "low"],
];

function severityOf(score: number): Severity {
  return SEVERITY_BANDS.find(([from]) => score >= from)![1];
}

function toMillis(timestamp: number | Date): number {
  return timestamp instanceof Date ? timestamp.getTime() : timestamp;
}

/**
 * Feeds one point to the detector: updates `state` in place and returns the point's score.
 * Points count in arrival order; the timestamp is recorded but not required to increase (real
 * series repeat or step back at daylight-saving changes: NAB has 39 such rows), since dropping
 * replays is the pipeline's job (message ids). Throws DetectorInputError for a value that is not
 * a finite number or a timestamp that is not a valid time.
 */
export function step(state: DetectorState, timestamp: number | Date, value: number): StepResult {
  const t = toMillis(timestamp);
  if (typeof t !== "number" || !Number.isFinite(t)) throw new DetectorInputError(`timestamp ${String(timestamp)} is not a valid time`);
  if (typeof value !== "number" || !Number.isFinite(value)) throw new DetectorInputError(`value ${String(value)} is not a finite number`);
  // `+ 0` turns −0 into 0, which JSON cannot tell apart anyway.
  const x = value + 0;
  const { config } = state;
  const index = state.count;

  let result: StepResult;
  if (state.history.length === 0) {
    result = learningResult(state, x, null);
  } else {
    const nov = measureNovelty(state, x);
    result = index < config.learningPeriod ? learningResult(state, x, nov) : scoredResult(state, x, nov);
  }

  pushHistory(state, x);
  state.count = index + 1;
  state.lastTimestamp = t;
  return result;
}

function learningResult(state: DetectorState, x: number, nov: Novelty | null): StepResult {
  return {
    score: 0,
    alarm: false,
    severity: null,
    expected: nov ? nov.recentLevel : null,
    expectedRange: nov ? [nov.min, nov.max] : null,
    actual: x,
    novelty: null,
    phase: "learning",
    explanation: `learning: ${state.count + 1} of ${state.config.learningPeriod} points seen`,
  };
}

function scoredResult(state: DetectorState, x: number, nov: Novelty): StepResult {
  const { config } = state;
  const index = state.count;
  const value = nov.valueDistance / config.valueVigilance;
  const pattern = nov.patternDistance === null ? null : nov.patternDistance / config.patternVigilance;
  const n = Math.max(value, pattern ?? 0);
  let score = n / (1 + n);

  const refractory = index < state.refractoryUntil;
  let alarm = false;
  if (refractory) {
    score = Math.min(score, REFRACTORY_SCORE_CAP);
  } else if (score >= ALARM_SCORE) {
    alarm = true;
    state.lastAlarmAt = index;
    state.refractoryUntil = index + 1 + config.refractoryPeriod;
  }
  return {
    score,
    alarm,
    severity: alarm ? severityOf(score) : null,
    expected: nov.recentLevel,
    expectedRange: [nov.min, nov.max],
    actual: x,
    novelty: { value, pattern },
    phase: refractory ? "refractory" : "scoring",
    explanation: explain(state, x, nov, value, pattern ?? 0, refractory),
  };
}

const pct = (fraction: number): string => `${(100 * fraction).toFixed(fraction < 0.1 ? 1 : 0)}%`;
const num = (v: number): string => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString());

function explain(state: DetectorState, x: number, nov: Novelty, value: number, pattern: number, refractory: boolean): string {
  const { config } = state;
  const memory = `the last ${state.history.length} points`;
  let text: string;
  if (value < 1 && pattern < 1) {
    text = `value ${num(x)} and the recent pattern are within what ${memory} showed`;
  } else if (value >= pattern) {
    const where = x > nov.max ? `above the highest value (${num(nov.max)})` : x < nov.min ? `below the lowest value (${num(nov.min)})` : `away from the nearest value seen (${num(nov.nearest)})`;
    text = `value ${num(x)} is ${pct(nov.valueDistance)} of the range ${where} in ${memory}`;
  } else {
    const span = config.blockLength * config.patternBlocks;
    text = `the last ${span} points form a pattern unlike any in ${memory} (block means differ by ${pct(nov.patternDistance ?? 0)} of the range); recent level ${num(nov.recentLevel)}`;
  }
  if (refractory && state.lastAlarmAt !== null) text += `; alarm raised ${state.count - state.lastAlarmAt} points ago, so no new alarm yet`;
  return text;
}
