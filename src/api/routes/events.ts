import { createHash } from "node:crypto";
import { ServiceUnavailableError } from "../../errors.ts";
import { EVENT_DOMAINS, SUBJECT_TOKEN, type EventEnvelope } from "../../streams/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

const MAX_EVENTS = 1000;

const EventInput = z.strictObject({
  domain: z.enum(EVENT_DOMAINS),
  key: z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + ="),
  type: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).default({}),
  id: z.string().min(1).max(200).optional().describe("idempotency id; derived from the content when absent"),
  timestamp: z.iso.datetime({ offset: true }).optional(),
});

const EventsBody = z.strictObject({ events: z.array(EventInput).min(1).max(MAX_EVENTS) }).openapi("EventBatch");

const EventsResponse = z.object({
  accepted: z.number(),
  duplicates: z.number(),
  events: z.array(z.object({ id: z.string(), subject: z.string(), seq: z.number(), duplicate: z.boolean() })),
});

/** The id of an event without one: the same content published twice in the dedup window is one event. */
function contentId(e: z.infer<typeof EventInput>): string {
  return createHash("sha256")
    .update(JSON.stringify([e.domain, e.key, e.type, e.data, e.timestamp ?? null]))
    .digest("hex")
    .slice(0, 32);
}

export function eventRoutes(deps: ApiDeps) {
  return [
    route({
      method: "post",
      path: "/api/events",
      summary: `Publish up to ${MAX_EVENTS} events to events.<domain>.<key>`,
      tags: ["events"],
      access: ["admin", "operator", "user"],
      body: EventsBody,
      responses: {
        202: { description: "on the stream", schema: EventsResponse },
        422: { description: "invalid event", schema: ErrorBodySchema },
        503: { description: "stream unavailable", schema: ErrorBodySchema },
      },
      handler: async ({ body }) => {
        const now = new Date().toISOString();
        let results;
        try {
          results = await Promise.all(
            body.events.map(async (e) => {
              const envelope: EventEnvelope = { id: e.id ?? contentId(e), domain: e.domain, key: e.key, type: e.type, data: e.data, timestamp: e.timestamp ?? now };
              const subject = deps.bus.names.eventSubject(e.domain, e.key);
              const ack = await deps.bus.publisher.publish("events", subject, envelope, { msgId: envelope.id });
              return { id: envelope.id, subject, seq: ack.seq, duplicate: ack.duplicate };
            }),
          );
        } catch (err) {
          throw new ServiceUnavailableError("The event stream is unavailable; retry the batch (ids make it safe)", { cause: String(err) });
        }
        const duplicates = results.filter((r) => r.duplicate).length;
        return { status: 202, body: { accepted: results.length - duplicates, duplicates, events: results } };
      },
    }),
  ];
}
