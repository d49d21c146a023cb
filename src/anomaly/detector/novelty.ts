/**
 * The two novelty channels, measured against the history (the last `historyLength` values, not
 * counting the new one). Both distances are in units of the history's range, so one threshold
 * serves series of any scale.
 *
 * - value channel: distance from the new value to the nearest value in the history. Zero for a
 *   value seen before; a spike, a drop or a new level shows up at once.
 * - pattern channel: the last `blockLength · patternBlocks` points (the new one included) are cut
 *   into `patternBlocks` block means; the distance is the largest block difference to the nearest
 *   earlier, non-overlapping pattern at the same phase in the history. It sees changes of shape
 *   (a missing daily peak, a flat stretch, denser spikes) whose values are all familiar.
 */
import type { DetectorState } from "./state.ts";
import { historyAt } from "./state.ts";

export interface Novelty {
  /** max − min of the history */
  range: number;
  min: number;
  max: number;
  /** the history value nearest to the new one */
  nearest: number;
  /** |new − nearest| / range */
  valueDistance: number;
  /** pattern distance / range; null while the history is too short to hold two patterns */
  patternDistance: number | null;
  /** mean of the `blockLength` values before the new one: the recent level */
  recentLevel: number;
}

// Scratch space for prefix sums, reused across calls (not part of the state: it is rebuilt each step).
let prefix = new Float64Array(0);

/** Measures the new value `x` against a state whose history holds at least one value. */
export function measureNovelty(state: DetectorState, x: number): Novelty {
  const { history } = state;
  const { blockLength: d, patternBlocks: w } = state.config;
  const m = history.length;

  let min = Infinity;
  let max = -Infinity;
  let nearest = history[0]!;
  let best = Infinity;
  for (let i = 0; i < m; i++) {
    const v = history[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const dist = Math.abs(x - v);
    if (dist < best) {
      best = dist;
      nearest = v;
    }
  }
  // A constant history has no range; fall back to a tenth of its level (or 1 around zero) so that
  // the first change is measured, not divided by zero.
  let range = max - min;
  if (!(range > 0)) range = Math.abs(max) * 0.1 || 1;
  if (!Number.isFinite(range)) range = Number.MAX_VALUE;

  // Prefix sums over the history in time order, then the new value: block means in O(1).
  if (prefix.length < m + 2) prefix = new Float64Array(Math.max(m + 2, 2 * prefix.length));
  prefix[0] = 0;
  for (let i = 0; i < m; i++) prefix[i + 1] = prefix[i]! + historyAt(state, i);
  prefix[m + 1] = prefix[m]! + x;
  const blockMean = (end: number): number => (prefix[end + 1]! - prefix[end + 1 - d]!) / d;

  const recentCount = Math.min(d, m);
  const recentLevel = (prefix[m]! - prefix[m - recentCount]!) / recentCount;

  let patternDistance: number | null = null;
  const span = d * w;
  // The current pattern ends at index m (the new value); candidates end at m − span, m − span − d, …
  // and must start at index ≥ 0, i.e. end ≥ span − 1.
  if (m - span >= span - 1) {
    let bestPattern = Infinity;
    for (let e = m - span; e >= span - 1 && bestPattern > 0; e -= d) {
      let dist = 0;
      for (let k = 0; k < w && dist < bestPattern; k++) {
        const diff = Math.abs(blockMean(m - k * d) - blockMean(e - k * d));
        if (diff > dist) dist = diff;
      }
      if (dist < bestPattern) bestPattern = dist;
    }
    patternDistance = bestPattern / range;
  }
  return { range, min, max, nearest, valueDistance: best / range, patternDistance, recentLevel };
}
