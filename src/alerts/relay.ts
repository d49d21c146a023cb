import type { Knex } from "knex";
import type { Metrics } from "../metrics.ts";
import type { Bus } from "../streams/index.ts";
import type { Alert } from "./alert.ts";
import { markPublished, unpublishedAlerts } from "./store.ts";

/**
 * Publishes stored alerts to `alerts.<type>` (the alert id is the Nats-Msg-Id, so publishing twice
 * is harmless) and marks them published. Pipelines call it after their commit; `relayPending`
 * at start picks up alerts whose process died between commit and publish.
 */
export async function publishAlerts(db: Knex, bus: Bus, metrics: Metrics, alerts: readonly Alert[]): Promise<void> {
  if (alerts.length === 0) return;
  await Promise.all(
    alerts.map(async (alert) => {
      await bus.publisher.publish("alerts", bus.names.alertSubject(alert.type), alert, { msgId: `alert:${alert.id}` });
      metrics.alerts.inc({ type: alert.type, severity: alert.severity });
    }),
  );
  await markPublished(db, alerts.map((a) => a.id));
}

export async function relayPending(db: Knex, bus: Bus, metrics: Metrics): Promise<number> {
  let total = 0;
  for (;;) {
    const pending = await unpublishedAlerts(db);
    if (pending.length === 0) return total;
    await publishAlerts(db, bus, metrics, pending);
    total += pending.length;
  }
}
