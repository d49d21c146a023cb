import { NotFoundError } from "../../errors.ts";
import { DeadLetterNotFoundError, listDeadLetters, retryDeadLetter } from "../../streams/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

const OPERATORS = ["admin", "operator"] as const;

const DeadLetter = z
  .object({
    id: z.number().describe("position in the DLQ stream; use it to retry"),
    stream: z.string(),
    stream_seq: z.number(),
    subject: z.string(),
    consumer: z.string(),
    deliveries: z.number(),
    error: z.string(),
    failed_at: z.string(),
    original_msg_id: z.string().nullable(),
    payload: z.unknown(),
  })
  .openapi("DeadLetter");

const Retried = z.object({ id: z.number(), subject: z.string(), seq: z.number(), duplicate: z.boolean() });

async function retry(deps: ApiDeps, id: number) {
  try {
    return await retryDeadLetter({ jsm: deps.bus.jsm, publisher: deps.bus.publisher, names: deps.bus.names }, id);
  } catch (err) {
    if (err instanceof DeadLetterNotFoundError) throw new NotFoundError(err.message, { id });
    throw err;
  }
}

/** The operator's view of messages no pipeline could process: list, retry one, retry all. */
export function deadLetterRoutes(deps: ApiDeps) {
  return [
    route({
      method: "get",
      path: "/api/v1/admin/dead-letters",
      summary: "Dead letters waiting, oldest first, with the error that stopped each",
      tags: ["admin"],
      access: OPERATORS,
      query: z.strictObject({
        consumer: z.string().max(100).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        after: z.coerce.number().int().min(0).optional().describe("continue after this id"),
      }),
      responses: { 200: { description: "dead letters", schema: z.object({ items: z.array(DeadLetter), total: z.number() }) }, 403: { description: "not an operator", schema: ErrorBodySchema } },
      handler: async ({ query }) => ({ body: await listDeadLetters(deps.bus.jsm, deps.bus.names, query) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/dead-letters/{id}/retry",
      summary: "Publish one dead letter again to its original subject",
      tags: ["admin"],
      access: OPERATORS,
      params: z.strictObject({ id: z.coerce.number().int().min(1) }),
      responses: { 200: { description: "re-published", schema: Retried }, 404: { description: "no such dead letter", schema: ErrorBodySchema } },
      handler: async ({ params }) => ({ body: await retry(deps, params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/dead-letters/retry-all",
      summary: "Publish every dead letter waiting now (optionally of one consumer) again",
      tags: ["admin"],
      access: OPERATORS,
      query: z.strictObject({ consumer: z.string().max(100).optional() }),
      responses: { 200: { description: "re-published", schema: z.object({ retried: z.array(Retried) }) } },
      handler: async ({ query }) => {
        // only the letters there now: a retried message that fails again comes back with a new id
        // and must not be chased
        const { state } = await deps.bus.jsm.streams.info(deps.bus.names.dlq);
        const retried = [];
        let after = 0;
        while (after < state.last_seq) {
          const page = await listDeadLetters(deps.bus.jsm, deps.bus.names, { consumer: query.consumer, limit: 200, after });
          const current = page.items.filter((l) => l.id <= state.last_seq);
          for (const letter of current) retried.push(await retry(deps, letter.id));
          if (current.length < page.items.length || page.items.length === 0) break;
          after = page.items.at(-1)!.id;
        }
        return { body: { retried } };
      },
    }),
  ];
}
