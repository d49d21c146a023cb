import { v5 as uuidv5 } from "uuid";
import type { Knex } from "knex";
import { pageCounts } from "../db/pagination.ts";
import type { Alert, NewAlert } from "./alert.ts";

const ALERT_NS = "b8f4a0f2-5c1e-4d7e-8f57-0c4b1d2f9a31";

interface AlertRow {
  id: string;
  type: string;
  severity: Alert["severity"];
  source: string;
  entity_type: string;
  entity_id: string;
  message: string;
  data: Record<string, unknown>;
  status: Alert["status"];
  created_at: Date;
}

export function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    type: row.type,
    severity: row.severity,
    source: row.source,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    message: row.message,
    data: row.data,
    status: row.status,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Stores alerts inside the caller's transaction (the outbox) and returns only those that are new:
 * the caller publishes them after its commit.
 */
export async function insertAlerts(trx: Knex.Transaction | Knex, alerts: readonly NewAlert[]): Promise<Alert[]> {
  if (alerts.length === 0) return [];
  const rows: AlertRow[] = await trx("alerts")
    .insert(
      alerts.map((a) => ({
        id: uuidv5(a.dedupKey, ALERT_NS),
        dedup_key: a.dedupKey,
        type: a.type,
        severity: a.severity,
        source: a.source,
        entity_type: a.entityType,
        entity_id: a.entityId,
        message: a.message,
        data: JSON.stringify(a.data),
      })),
    )
    .onConflict("dedup_key")
    .ignore()
    .returning(["id", "type", "severity", "source", "entity_type", "entity_id", "message", "data", "status", "created_at"]);
  return rows.map(toAlert);
}

export async function unpublishedAlerts(db: Knex, limit = 500): Promise<Alert[]> {
  const rows: AlertRow[] = await db("alerts").whereNull("published_at").orderBy("created_at").limit(limit);
  return rows.map(toAlert);
}

export async function markPublished(db: Knex, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await db("alerts").whereIn("id", ids).update({ published_at: db.fn.now() });
}

export interface AlertQuery {
  status?: Alert["status"];
  type?: string;
  severity?: Alert["severity"];
  entity_id?: string;
  page: number;
  page_size: number;
}

/** Alerts newest first, filtered, with seed 001 pagination. */
export async function listAlerts(db: Knex, q: AlertQuery) {
  const filtered = () => {
    const query = db("alerts");
    if (q.status) query.where("status", q.status);
    if (q.type) query.where("type", q.type);
    if (q.severity) query.where("severity", q.severity);
    if (q.entity_id) query.where("entity_id", q.entity_id);
    return query;
  };
  const [{ total }] = (await filtered().count({ total: "*" })) as [{ total: string | number }];
  const rows: AlertRow[] = await filtered()
    .orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }])
    .limit(q.page_size)
    .offset((q.page - 1) * q.page_size);
  const count = Number(total);
  return {
    items: rows.map(toAlert),
    pagination: { total: count, page: q.page, page_size: q.page_size, ...pageCounts(count, q.page, q.page_size) },
  };
}

/** Moves an alert forward (open → acknowledged → resolved); returns null when it does not exist. */
export async function setAlertStatus(db: Knex, id: string, status: "acknowledged" | "resolved", userId: number): Promise<Alert | null> {
  const changes =
    status === "acknowledged"
      ? { status, acknowledged_at: db.fn.now(), acknowledged_by: userId }
      : { status, resolved_at: db.fn.now(), acknowledged_at: db.raw("coalesce(acknowledged_at, now())"), acknowledged_by: db.raw("coalesce(acknowledged_by, ?)", [userId]) };
  const query = db("alerts").where({ id });
  // acknowledging a resolved alert would move it backwards
  if (status === "acknowledged") query.where("status", "open");
  const [row] = (await query.update(changes).returning("*")) as AlertRow[];
  if (row) return toAlert(row);
  const existing = (await db("alerts").where({ id }).first()) as AlertRow | undefined;
  return existing ? toAlert(existing) : null;
}
