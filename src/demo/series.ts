import { mulberry32 } from "../training/split.ts";
import type { EventEnvelope } from "../streams/index.ts";
import { demoEvent } from "./events.ts";

const T0 = Date.UTC(2026, 10, 20);
const MINUTE = 60_000;
/** one day of minute samples would be 1,440; a cycle of 96 points keeps the seasonality visible in a short series */
const PERIOD = 96;
/**
 * The detector scores nothing during its first 750 points (its learning period, as in NAB), so a
 * series needs more than that before anything can be flagged.
 */
export const POINTS = 1000;
export const SPIKE_AT = 900;

/** [series id, level, amplitude, spike?]: three hosts' metrics, one with a clear spike. */
const SERIES = [
  ["demo-api-latency-ms", 180, 25, true],
  ["demo-cpu-web-1", 45, 12, false],
  ["demo-queue-depth", 300, 40, false],
] as const;

export const SPIKE_SERIES = SERIES.find(([, , , spike]) => spike)![0];

/** Seasonal, noisy minute samples; the spiking series jumps by eight amplitudes at SPIKE_AT. */
export function seriesEvents(): EventEnvelope[] {
  return SERIES.flatMap(([key, level, amplitude, spike], s) => {
    const random = mulberry32(7000 + s);
    return Array.from({ length: POINTS }, (_, i) => {
      const noise = amplitude * 0.3 * (random() + random() - 1);
      const jump = spike && i === SPIKE_AT ? 8 * amplitude : 0;
      const value = level + amplitude * Math.sin((2 * Math.PI * i) / PERIOD) + noise + jump;
      const at = T0 + i * MINUTE;
      return demoEvent("metric", key, `${key}-${i}`, "sample", at, { value: Math.round(value * 1000) / 1000, timestamp: new Date(at).toISOString() });
    });
  });
}
