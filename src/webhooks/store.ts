import { randomBytes, randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { pageCounts } from "../db/pagination.ts";
import { WEBHOOK_EVENTS, type WebhookEvent } from "./events.ts";

export interface WebhookRow {
  id: string;
  user_id: number;
  url: string;
  events: WebhookEvent[];
  secret: string;
  description: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  notice_id: string;
  event: string;
  payload: Record<string, unknown>;
  status: "pending" | "delivered" | "failed" | "cancelled";
  attempts: number;
  response_status: number | null;
  last_error: string | null;
  created_at: Date;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
}

/** A new endpoint's signing secret: 256 random bits. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/** A webhook as its owner sees it: the secret only when it was just created (or rotated). */
export function presentWebhook(row: WebhookRow, withSecret = false) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    active: row.active,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(withSecret ? { secret: row.secret } : {}),
  };
}

export function presentDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    response_status: row.response_status,
    last_error: row.last_error,
    payload: row.payload,
    created_at: row.created_at.toISOString(),
    last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
    delivered_at: row.delivered_at?.toISOString() ?? null,
  };
}

export async function createWebhook(db: Knex, w: { userId: number; url: string; events: WebhookEvent[]; secret: string; description: string }): Promise<WebhookRow> {
  const [row] = await db("webhooks")
    .insert({ id: randomUUID(), user_id: w.userId, url: w.url, events: w.events, secret: w.secret, description: w.description })
    .returning("*");
  return row as WebhookRow;
}

/** The caller's webhooks; an admin's `all` lists everyone's. */
export function listWebhooks(db: Knex, userId: number | "all"): Promise<WebhookRow[]> {
  const q = db("webhooks").orderBy("created_at");
  if (userId !== "all") q.where({ user_id: userId });
  return q;
}

/** A webhook its owner (or an admin, `userId` "any") may see, or undefined. */
export function findWebhook(db: Knex, id: string, userId: number | "any"): Promise<WebhookRow | undefined> {
  const q = db("webhooks").where({ id });
  if (userId !== "any") q.andWhere({ user_id: userId });
  return q.first();
}

export async function updateWebhook(db: Knex, id: string, changes: Partial<Pick<WebhookRow, "url" | "events" | "description" | "active" | "secret">>): Promise<WebhookRow> {
  const [row] = await db("webhooks").where({ id }).update({ ...changes, updated_at: db.fn.now() }).returning("*");
  return row as WebhookRow;
}

/** Deletes a webhook; its pending deliveries go with it (a queued one finds nothing and ends). */
export async function deleteWebhook(db: Knex, id: string): Promise<void> {
  await db("webhooks").where({ id }).delete();
}

/**
 * The active endpoints subscribed to any of `events`: for an owner event only the owner's, for
 * a platform event everyone's.
 */
export async function subscribedEndpoints(db: Knex, events: readonly WebhookEvent[], owners: readonly number[]): Promise<Array<Pick<WebhookRow, "id" | "user_id" | "events">>> {
  const owned = events.filter((e) => WEBHOOK_EVENTS[e].scope === "owner");
  const platform = events.filter((e) => WEBHOOK_EVENTS[e].scope === "platform");
  if (platform.length === 0 && (owned.length === 0 || owners.length === 0)) return [];
  return db("webhooks")
    .where("active", true)
    .andWhere((q) => {
      if (platform.length > 0) q.orWhereRaw("events && ?::text[]", [platform]);
      if (owned.length > 0 && owners.length > 0) q.orWhere((o) => o.whereRaw("events && ?::text[]", [owned]).whereIn("user_id", owners));
    })
    .select("id", "user_id", "events");
}

/** The users with an active endpoint for an owner event: the scorer publishes only for them. */
export async function subscribedUsers(db: Knex, event: WebhookEvent): Promise<Set<number>> {
  const rows: Array<{ user_id: number }> = await db("webhooks").where("active", true).whereRaw("? = ANY(events)", [event]).distinct("user_id");
  return new Set(rows.map((r) => r.user_id));
}

export interface NewDelivery {
  webhook_id: string;
  notice_id: string;
  event: string;
  payload: Record<string, unknown>;
}

/**
 * Records deliveries (a second record of the same notice to the same endpoint is ignored) and
 * returns every one of them still pending, the ones recorded before included: a dispatcher that
 * recorded them and then failed to queue them queues them on the redelivery.
 */
export async function recordDeliveries(db: Knex, deliveries: readonly NewDelivery[]): Promise<Array<Pick<DeliveryRow, "id">>> {
  if (deliveries.length === 0) return [];
  await db("webhook_deliveries")
    .insert(deliveries.map((d) => ({ id: randomUUID(), ...d, payload: JSON.stringify(d.payload) })))
    .onConflict(["webhook_id", "notice_id"])
    .ignore();
  return db("webhook_deliveries")
    .where("status", "pending")
    .whereIn(
      ["webhook_id", "notice_id"],
      deliveries.map((d) => [d.webhook_id, d.notice_id]),
    )
    .select("id");
}

export function findDelivery(db: Knex, id: string): Promise<(DeliveryRow & { url: string; secret: string; active: boolean }) | undefined> {
  return db("webhook_deliveries")
    .join("webhooks", "webhooks.id", "webhook_deliveries.webhook_id")
    .where("webhook_deliveries.id", id)
    .first("webhook_deliveries.*", "webhooks.url", "webhooks.secret", "webhooks.active");
}

/** Records one attempt's outcome; `status` moves the delivery on (delivered, failed for good, cancelled). */
export async function recordAttempt(
  db: Knex,
  id: string,
  attempt: { status: DeliveryRow["status"]; responseStatus: number | null; error: string | null; counted: boolean },
): Promise<void> {
  await db("webhook_deliveries")
    .where({ id })
    .update({
      status: attempt.status,
      response_status: attempt.responseStatus,
      last_error: attempt.error,
      ...(attempt.counted ? { attempts: db.raw("attempts + 1"), last_attempt_at: db.fn.now() } : {}),
      ...(attempt.status === "delivered" ? { delivered_at: db.fn.now() } : {}),
    });
}

/** A delivery whose attempts are used up: failed for good, with its last attempt's answer kept. */
export async function failDelivery(db: Knex, id: string): Promise<void> {
  await db("webhook_deliveries").where({ id, status: "pending" }).update({ status: "failed" });
}

/**
 * Puts a finished delivery (delivered, failed or cancelled) back to pending, to be sent again;
 * undefined when the webhook has no such delivery or it is pending already.
 */
export async function reopenDelivery(db: Knex, webhookId: string, deliveryId: string): Promise<Pick<DeliveryRow, "id"> | undefined> {
  const [row] = await db("webhook_deliveries")
    .where({ id: deliveryId, webhook_id: webhookId })
    .whereNot("status", "pending")
    .update({ status: "pending", last_error: null, response_status: null, delivered_at: null })
    .returning("id");
  return row;
}

export function deliveryExists(db: Knex, webhookId: string, deliveryId: string): Promise<boolean> {
  return db("webhook_deliveries").where({ id: deliveryId, webhook_id: webhookId }).first("id").then(Boolean);
}

/** A webhook's deliveries, newest first. */
export async function listDeliveries(db: Knex, webhookId: string, q: { status?: DeliveryRow["status"]; page: number; page_size: number }) {
  const filtered = () => {
    const query = db("webhook_deliveries").where({ webhook_id: webhookId });
    if (q.status) query.andWhere({ status: q.status });
    return query;
  };
  const [{ total }] = (await filtered().count({ total: "*" })) as [{ total: string | number }];
  const rows: DeliveryRow[] = await filtered()
    .orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }])
    .limit(q.page_size)
    .offset((q.page - 1) * q.page_size);
  const count = Number(total);
  return { items: rows.map(presentDelivery), pagination: { total: count, page: q.page, page_size: q.page_size, ...pageCounts(count, q.page, q.page_size) } };
}
