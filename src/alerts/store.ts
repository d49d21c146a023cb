import { v5 as uuidv5 } from "uuid";
import type { Knex } from "knex";
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
