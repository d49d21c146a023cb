import { z } from "zod";
import type { EventEnvelope } from "../../src/streams/index.ts";

// Years 0001–9999: what ISO 8601 text and Postgres timestamptz both carry.
const EARLIEST_MS = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST_MS = Date.parse("9999-12-31T23:59:59.999Z");
// Differences and squares of values up to this size stay finite (the explanation's σ needs them).
const LARGEST_VALUE = 1e150;

/**
 * `data` of an `events.metric.<series>` event. Other fields are ignored. `timestamp` may be ISO
 * 8601 text or epoch milliseconds (a fraction is dropped); without it, the envelope's timestamp
 * is the point's.
 */
export const MetricPointSchema = z.object({
  value: z.number().min(-LARGEST_VALUE).max(LARGEST_VALUE),
  timestamp: z.union([z.iso.datetime({ offset: true }), z.number()]).optional(),
});

export interface MetricPoint {
  /** epoch ms */
  timestamp: number;
  value: number;
}

/** The point an event carries, or why it carries none. */
export function toPoint(event: EventEnvelope): { ok: true; point: MetricPoint } | { ok: false; error: string } {
  if (event.domain !== "metric") return { ok: false, error: `not a metric event: domain is ${event.domain}` };
  const parsed = MetricPointSchema.safeParse(event.data);
  if (!parsed.success) {
    return { ok: false, error: `invalid metric point: ${parsed.error.issues.map((i) => `data.${i.path.join(".")}: ${i.message}`).join("; ")}` };
  }
  const { value, timestamp } = parsed.data;
  const ms = typeof timestamp === "number" ? Math.trunc(timestamp) : Date.parse(timestamp ?? event.timestamp);
  if (!(ms >= EARLIEST_MS && ms <= LATEST_MS)) return { ok: false, error: `invalid metric point: timestamp ${String(timestamp ?? event.timestamp)} is outside the years 0001-9999 (UTC)` };
  return { ok: true, point: { timestamp: ms, value } };
}
