import type { Knex } from "knex";
import type { Metrics } from "../metrics.ts";
import type { Bus } from "../streams/index.ts";
import { notice, noticePublisher } from "../webhooks/index.ts";
import type { Alert } from "./alert.ts";
import { markPublished, unpublishedAlerts } from "./store.ts";

/**
 * Publishes stored alerts to `alerts.<type>` and each as an `alert.triggered` notice for webhooks
 * (the alert id is in both Nats-Msg-Ids, so publishing twice is harmless), then marks them
 * published. Pipelines call it after their commit; `relayPending` at start picks up alerts whose
 * process died between commit and publish.
 */
export async function publishAlerts(db: Knex, bus: Bus, metrics: Metrics, alerts: readonly Alert[]): Promise<void> {
  if (alerts.length === 0) return;
  const publishNotice = noticePublisher(bus);
  await Promise.all(
    alerts.map(async (alert) => {
      await Promise.all([
        bus.publisher.publish("alerts", bus.names.alertSubject(alert.type), alert, { msgId: `alert:${alert.id}` }),
        publishNotice(notice("alert.triggered", alert.id, null, alert)),
      ]);
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
