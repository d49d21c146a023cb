import { z } from "zod";
import { EVENT_DOMAINS, SUBJECT_TOKEN } from "./names.ts";

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
