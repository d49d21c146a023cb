/**
 * Running Tidecast's streaming detector over a NAB data file, the way NAB runs a detector: one
 * point at a time, in file order, with the file's probationary length as the learning period
 * (NAB's `base.py` gives every detector `probationaryPeriod`; that length is the only thing the
 * detector knows about the file in advance, nothing about its values).
 */
import type { DetectorConfig } from "../detector/index.ts";
import { createState, step } from "../detector/index.ts";
import { probationaryLength } from "./sweeper.ts";

/** Settings a benchmark run may override (the learning period always comes from the file). */
export type DetectorOverrides = Partial<Omit<DetectorConfig, "learningPeriod">>;

/** The detector's score for every row of one series. */
export function detectSeries(timestamps: readonly number[], values: readonly number[], overrides: DetectorOverrides = {}): number[] {
  const state = createState({ ...overrides, learningPeriod: Math.floor(probationaryLength(values.length)) });
  const scores = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = step(state, timestamps[i]!, values[i]!).score;
  return scores;
}
