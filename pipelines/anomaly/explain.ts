import { historyAt, type DetectorState, type StepResult } from "../../src/anomaly/detector/index.ts";

/** What an anomaly row and its alert say about the point, beyond the detector's score. */
export interface AnomalyFacts {
  /** the detector's expected value: the mean of the `window` points before this one */
  expected: number;
  /** standard deviation of those points */
  stddev: number;
  /** how many points `expected` and `stddev` are over */
  window: number;
  /** lowest and highest value in the detector's history */
  lower: number;
  upper: number;
  explanation: string;
}

const num = (v: number): string => String(Number(v.toPrecision(4)));

/**
 * Describes an alarm `step` just returned, with `state` as `step` left it (the point appended
 * to its history). The σ puts the jump in the units an operator reads first; the detector's own
 * sentence says why it alarmed (a value far from any seen, or a pattern unlike any seen).
 */
export function explainAnomaly(state: DetectorState, result: StepResult): AnomalyFacts {
  if (result.expected === null || result.expectedRange === null) throw new Error("explainAnomaly needs a scored point, not the first one");
  // the points the detector's expected value averages: the block just before the new point
  const length = state.history.length;
  const window = Math.min(state.config.blockLength, length - 1);
  let sum = 0;
  for (let i = length - 1 - window; i < length - 1; i++) sum += historyAt(state, i);
  const mean = sum / window;
  let squares = 0;
  for (let i = length - 1 - window; i < length - 1; i++) squares += (historyAt(state, i) - mean) ** 2;
  const stddev = Math.sqrt(squares / window);

  const x = result.actual;
  const expected = result.expected;
  const direction = x >= expected ? "above" : "below";
  const deviation =
    stddev > 0
      ? `value ${num(x)} is ${(Math.abs(x - expected) / stddev).toFixed(1)}σ ${direction} the expected ${num(expected)} ± ${num(stddev)} of the previous ${window} points`
      : `value ${num(x)} is ${direction} the expected ${num(expected)} (the previous ${window} points were all ${num(expected)})`;
  const [lower, upper] = result.expectedRange;
  return { expected, stddev, window, lower, upper, explanation: `${deviation}; ${result.explanation}` };
}
