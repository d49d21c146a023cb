/**
 * The per-series state of the detector: a plain JSON value (numbers, arrays, no classes, no
 * NaN or Infinity), so a pipeline can store it as JSONB, load it after a restart and carry on
 * with bit-for-bit the same scores. Its size is bounded by `config.historyLength` numbers.
 */
import type { DetectorConfig } from "./config.ts";
import { resolveDetectorConfig } from "./config.ts";
import { DetectorInputError } from "./errors.ts";

export const STATE_KIND = "tidecast.anomaly.novelty";
export const STATE_VERSION = 1;

export interface DetectorState {
  kind: typeof STATE_KIND;
  version: typeof STATE_VERSION;
  config: DetectorConfig;
  /** points seen so far */
  count: number;
  /** timestamp (epoch ms) of the last point, null before the first */
  lastTimestamp: number | null;
  /** ring buffer of the last `config.historyLength` values */
  history: number[];
  /** once `history` is full: the index of its oldest value, where the next value is written */
  head: number;
  /** alarms are capped while `count` is below this (the refractory period after an alarm) */
  refractoryUntil: number;
  /** index (0-based point number) of the last alarm, null when there was none */
  lastAlarmAt: number | null;
}

/** A fresh state; `config` is completed with the defaults and checked. */
export function createState(config: Partial<DetectorConfig> = {}): DetectorState {
  return {
    kind: STATE_KIND,
    version: STATE_VERSION,
    config: resolveDetectorConfig(config),
    count: 0,
    lastTimestamp: null,
    history: [],
    head: 0,
    refractoryUntil: 0,
    lastAlarmAt: null,
  };
}

/**
 * Checks that a value loaded from storage is a detector state this code can continue, and
 * returns it typed. It is not copied: `step` goes on mutating it.
 */
export function asDetectorState(value: unknown): DetectorState {
  const s = value as Partial<DetectorState> | null;
  if (typeof s !== "object" || s === null || s.kind !== STATE_KIND) throw new DetectorInputError("not a detector state");
  if (s.version !== STATE_VERSION) throw new DetectorInputError(`detector state version ${String(s.version)} is not ${STATE_VERSION}`);
  const config = resolveDetectorConfig(s.config);
  const okCount = Number.isInteger(s.count) && (s.count ?? -1) >= 0;
  const okHistory = Array.isArray(s.history) && s.history.length <= config.historyLength && s.history.every((x) => typeof x === "number" && Number.isFinite(x));
  const okHead = Number.isInteger(s.head) && (s.head ?? -1) >= 0 && (s.head ?? 0) < Math.max(1, s.history?.length ?? 0);
  if (!okCount || !okHistory || !okHead || typeof s.refractoryUntil !== "number") throw new DetectorInputError("detector state is corrupt");
  return s as DetectorState;
}

/** Appends a value to the ring buffer, dropping the oldest once it is full. */
export function pushHistory(state: DetectorState, value: number): void {
  const { history } = state;
  if (history.length < state.config.historyLength) {
    history.push(value);
  } else {
    history[state.head] = value;
    state.head = (state.head + 1) % history.length;
  }
}

/** The value `i` places after the oldest one in the history (0 = oldest). */
export function historyAt(state: DetectorState, i: number): number {
  const { history } = state;
  return history.length < state.config.historyLength ? history[i]! : history[(state.head + i) % history.length]!;
}
