/**
 * Webhooks (seed 000's `POST /api/webhooks/configure`; the events of seeds 000, 003 and 004): a
 * user's endpoints, each subscribed to some events, signed with its own secret. Every route acts
 * on the caller's own webhooks only. Deliveries are sent by the jobs role (src/webhooks).
 */
import { randomUUID } from "node:crypto";
import { ConflictError, NotFoundError, ValidationError } from "../../errors.ts";
import { enqueueDeliveries, requeueDelivery, type Jobs } from "../../jobs/index.ts";
import {
  announceWebhookChange,
  createWebhook,
  deleteWebhook,
  deliveryPayload,
  deliveryExists,
  findWebhook,
  listDeliveries,
  listWebhooks,
  newSecret,
  presentWebhook,
  recordDeliveries,
  reopenDelivery,
  updateWebhook,
  urlProblem,
  WEBHOOK_EVENT_NAMES,
  WEBHOOK_EVENTS,
  type WebhookRow,
} from "../../webhooks/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

/** Endpoints one user may keep: each costs a lookup per event for everyone. */
export const MAX_WEBHOOKS_PER_USER = 20;

const Events = z.array(z.enum(WEBHOOK_EVENT_NAMES)).min(1).max(WEBHOOK_EVENT_NAMES.length).describe("events to receive");
const Url = z.string().max(2_000).describe("http(s) endpoint that receives a signed POST per event");
const Secret = z.string().min(16).max(200).describe("HMAC-SHA256 key; generated (and returned once) when omitted");
const WebhookId = z.strictObject({ id: z.uuid() });

const WebhookBody = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string(),
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    secret: z.string().optional().describe("only when created or rotated"),
  })
  .openapi("Webhook");

const SUPPORTED_EVENTS = WEBHOOK_EVENT_NAMES.map((name) => ({ name, ...WEBHOOK_EVENTS[name] }));

export function webhookRoutes(deps: ApiDeps, jobs: Jobs): AnyRoute[] {
  const { db } = deps;
  const checkUrl = (url: string) => {
    const problem = urlProblem(url, deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS);
    if (problem) throw new ValidationError(`The webhook URL ${problem}`, { url: [problem] });
  };
  const own = async (id: string, userId: number): Promise<WebhookRow> => {
    const webhook = await findWebhook(db, id, userId);
    if (!webhook) throw new NotFoundError(`Webhook '${id}' not found`, { id });
    return webhook;
  };
  /** One of the caller's webhooks that may send now: a 409 when it is inactive. */
  const ownActive = async (id: string, userId: number): Promise<WebhookRow> => {
    const webhook = await own(id, userId);
    if (!webhook.active) throw new ConflictError("The webhook is inactive; activate it first", { id: webhook.id });
    return webhook;
  };
  const changed = () => announceWebhookChange(deps.bus, deps.config.SUBJECT_PREFIX, deps.log);
  const notFound = { 404: { description: "no such webhook of yours", schema: ErrorBodySchema } };

  return [
    route({
      method: "post",
      path: "/api/webhooks/configure",
      summary: "Register an endpoint for events (seed 000); the answer holds its signing secret, shown this once",
      tags: ["webhooks"],
      access: "user",
      body: z
        .strictObject({ url: Url, events: Events, secret: Secret.optional(), description: z.string().max(500).default("") })
        .openapi("WebhookConfigureRequest"),
      responses: {
        201: { description: "registered", schema: WebhookBody },
        409: { description: `already ${MAX_WEBHOOKS_PER_USER} webhooks`, schema: ErrorBodySchema },
        422: { description: "not an http(s) URL, a refused address, or an unknown event", schema: ErrorBodySchema },
      },
      handler: async ({ body, principal }) => {
        checkUrl(body.url);
        const existing = await listWebhooks(db, principal!.userId);
        if (existing.length >= MAX_WEBHOOKS_PER_USER) throw new ConflictError(`At most ${MAX_WEBHOOKS_PER_USER} webhooks per user; delete one first`, { limit: MAX_WEBHOOKS_PER_USER });
        const webhook = await createWebhook(db, { userId: principal!.userId, url: body.url, events: [...new Set(body.events)], secret: body.secret ?? newSecret(), description: body.description });
        changed();
        return { status: 201, body: presentWebhook(webhook, true) };
      },
    }),
    route({
      method: "get",
      path: "/api/webhooks",
      summary: "Your webhooks, and every event one may subscribe to",
      tags: ["webhooks"],
      access: "user",
      responses: { 200: { description: "webhooks (without their secrets) and the supported events" } },
      handler: async ({ principal }) => {
        const items = (await listWebhooks(db, principal!.userId)).map((w) => presentWebhook(w));
        return { body: { items, total: items.length, supported_events: SUPPORTED_EVENTS } };
      },
    }),
    route({
      method: "get",
      path: "/api/webhooks/{id}",
      summary: "One of your webhooks",
      tags: ["webhooks"],
      access: "user",
      params: WebhookId,
      responses: { 200: { description: "the webhook", schema: WebhookBody }, ...notFound },
      handler: async ({ params, principal }) => ({ body: presentWebhook(await own(params.id, principal!.userId)) }),
    }),
    route({
      method: "patch",
      path: "/api/webhooks/{id}",
      summary: "Change a webhook's URL, events, description or state, or rotate its secret",
      tags: ["webhooks"],
      access: "user",
      params: WebhookId,
      body: z
        .strictObject({
          url: Url.optional(),
          events: Events.optional(),
          description: z.string().max(500).optional(),
          active: z.boolean().optional().describe("false: no new deliveries, and pending ones are cancelled"),
          rotate_secret: z.boolean().optional().describe("true: a new secret, returned in this answer; later deliveries are signed with it"),
        })
        .openapi("WebhookUpdateRequest"),
      responses: { 200: { description: "the webhook (with its new secret when rotated)", schema: WebhookBody }, ...notFound, 422: { description: "invalid change", schema: ErrorBodySchema } },
      handler: async ({ params, body, principal }) => {
        await own(params.id, principal!.userId);
        if (body.url !== undefined) checkUrl(body.url);
        const { rotate_secret: rotate, events, ...rest } = body;
        const webhook = await updateWebhook(db, params.id, { ...rest, ...(events ? { events: [...new Set(events)] } : {}), ...(rotate ? { secret: newSecret() } : {}) });
        changed();
        return { body: presentWebhook(webhook, rotate === true) };
      },
    }),
    route({
      method: "delete",
      path: "/api/webhooks/{id}",
      summary: "Delete a webhook and its delivery log",
      tags: ["webhooks"],
      access: "user",
      params: WebhookId,
      responses: { 204: { description: "deleted" }, ...notFound },
      handler: async ({ params, principal }) => {
        await own(params.id, principal!.userId);
        await deleteWebhook(db, params.id);
        changed();
        return { status: 204, body: null };
      },
    }),
    route({
      method: "get",
      path: "/api/webhooks/{id}/deliveries",
      summary: "A webhook's deliveries, newest first: status, attempts, the endpoint's last answer",
      tags: ["webhooks"],
      access: "user",
      params: WebhookId,
      query: z.strictObject({
        status: z.enum(["pending", "delivered", "failed", "cancelled"]).optional(),
        page: z.coerce.number().int().min(1).default(1),
        page_size: z.coerce.number().int().min(1).max(100).default(20),
      }),
      responses: { 200: { description: "a page of deliveries" }, ...notFound },
      handler: async ({ params, query, principal }) => {
        await own(params.id, principal!.userId);
        return { body: await listDeliveries(db, params.id, query) };
      },
    }),
    route({
      method: "post",
      path: "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver",
      summary: "Send a finished delivery (delivered, failed or cancelled) again, with a fresh set of attempts",
      tags: ["webhooks"],
      access: "user",
      params: z.strictObject({ id: z.uuid(), delivery_id: z.uuid() }),
      responses: {
        202: { description: "queued; follow it in the deliveries" },
        ...notFound,
        409: { description: "the delivery is pending already, or the webhook is inactive", schema: ErrorBodySchema },
      },
      handler: async ({ params, principal }) => {
        const webhook = await ownActive(params.id, principal!.userId);
        const reopened = await reopenDelivery(db, webhook.id, params.delivery_id);
        if (!reopened) {
          if (await deliveryExists(db, webhook.id, params.delivery_id)) throw new ConflictError("The delivery is pending already", { delivery_id: params.delivery_id });
          throw new NotFoundError(`Delivery '${params.delivery_id}' not found`, { delivery_id: params.delivery_id });
        }
        await requeueDelivery(jobs.queues.webhookDeliveries, reopened.id);
        return { status: 202, body: { delivery_id: reopened.id, status: "pending", deliveries_url: `/api/webhooks/${webhook.id}/deliveries` } };
      },
    }),
    route({
      method: "post",
      path: "/api/webhooks/{id}/test",
      summary: "Send a signed `webhook.test` event to the endpoint now",
      tags: ["webhooks"],
      access: "user",
      params: WebhookId,
      responses: { 202: { description: "queued; follow it in the deliveries" }, ...notFound, 409: { description: "the webhook is inactive", schema: ErrorBodySchema } },
      handler: async ({ params, principal }) => {
        const webhook = await ownActive(params.id, principal!.userId);
        const id = `webhook.test:${randomUUID()}`;
        const payload = deliveryPayload({ id, timestamp: new Date().toISOString(), data: { webhook_id: webhook.id, message: "a test delivery from Tidecast" } }, "webhook.test");
        const [delivery] = await recordDeliveries(db, [{ webhook_id: webhook.id, notice_id: id, event: "webhook.test", payload }]);
        await enqueueDeliveries(jobs.queues.webhookDeliveries, [delivery!.id]);
        return { status: 202, body: { delivery_id: delivery!.id, status: "pending", deliveries_url: `/api/webhooks/${webhook.id}/deliveries` } };
      },
    }),
  ];
}
