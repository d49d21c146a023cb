import { z } from "zod";
import { SUBJECT_TOKEN } from "./names.ts";

/** The domains producers publish to; each has a pipeline (or will) consuming `events.<domain>.*`. */
export const EVENT_DOMAINS = ["customer", "lead", "metric", "interaction"] as const;
export type EventDomain = (typeof EVENT_DOMAINS)[number];

/**
 * The body of every `events.<domain>.<key>` message. Producers publishing directly to NATS send
 * this JSON; `POST /api/events` builds it from each event of a batch.
 */
export const EventEnvelopeSchema = z.object({
  id: z.string().min(1).max(200),
  domain: z.enum(EVENT_DOMAINS),
  key: z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + ="),
  type: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()),
  timestamp: z.iso.datetime({ offset: true }),
});
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;
