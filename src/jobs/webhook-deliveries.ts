import { UnrecoverableError } from "bullmq";
import type { Knex } from "knex";
import type { Config } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import { DeliveryRefusedError, failDelivery, findDelivery, postJson, recordAttempt, SIGNATURE_HEADER, signatureHeader } from "../webhooks/index.ts";
import { QUEUES, type Queues, type WebhookDeliveryData } from "./queues.ts";
import type { JobDefinition } from "./workers.ts";

const JOB_NAME = "deliver";

interface Deps {
  db: Knex;
  config: Pick<Config, "WEBHOOK_TIMEOUT_MS" | "WEBHOOK_ALLOW_PRIVATE_NETWORKS">;
  metrics: Metrics;
}

/**
 * The webhook-deliveries queue's job: one POST of one delivery, signed with its endpoint's secret.
 * A 2xx answer delivers it; any other answer, or none, is retried with the queue's backoff, and
 * when the attempts are used up the delivery is failed for good. An endpoint deleted or
 * deactivated meanwhile cancels its pending deliveries.
 */
export function webhookDeliveryJob(deps: Deps, concurrency: number): JobDefinition<WebhookDeliveryData> {
  const { db, config, metrics } = deps;
  return {
    queue: QUEUES.webhookDeliveries,
    concurrency,
    async process(job) {
      const delivery = await findDelivery(db, job.data.deliveryId);
      if (!delivery || delivery.status !== "pending") return { skipped: delivery?.status ?? "webhook deleted" };
      if (!delivery.active) {
        await recordAttempt(db, delivery.id, { status: "cancelled", responseStatus: null, error: "the webhook was deactivated", counted: false });
        metrics.webhookDeliveries.inc({ event: delivery.event, outcome: "cancelled" });
        return { skipped: "cancelled" };
      }
      const body = JSON.stringify(delivery.payload);
      const headers = {
        "user-agent": "Tidecast-Webhooks/1",
        "x-tidecast-event": delivery.event,
        "x-tidecast-delivery": delivery.id,
        [SIGNATURE_HEADER]: signatureHeader(delivery.secret, body, Math.floor(Date.now() / 1000)),
      };
      let answer;
      try {
        answer = await postJson(delivery.url, body, headers, { timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // a refused address stays refused: no retry
        const refused = err instanceof DeliveryRefusedError;
        await recordAttempt(db, delivery.id, { status: refused ? "failed" : "pending", responseStatus: null, error: message, counted: true });
        // a refusal is counted as failed once the job fails, below
        if (!refused) metrics.webhookDeliveries.inc({ event: delivery.event, outcome: "retry" });
        throw refused ? new UnrecoverableError(message) : err;
      }
      if (answer.status >= 200 && answer.status < 300) {
        await recordAttempt(db, delivery.id, { status: "delivered", responseStatus: answer.status, error: null, counted: true });
        metrics.webhookDeliveries.inc({ event: delivery.event, outcome: "delivered" });
        return { status: answer.status };
      }
      const error = `the endpoint answered ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ""}`;
      await recordAttempt(db, delivery.id, { status: "pending", responseStatus: answer.status, error, counted: true });
      metrics.webhookDeliveries.inc({ event: delivery.event, outcome: "retry" });
      throw new Error(error);
    },
    async onFailed(job) {
      await failDelivery(db, job.data.deliveryId);
      const delivery = await findDelivery(db, job.data.deliveryId);
      if (delivery) metrics.webhookDeliveries.inc({ event: delivery.event, outcome: "failed" });
    },
  };
}

/** Queues a delivery that has finished once: its finished job (kept for a week) would otherwise block the id. */
export async function requeueDelivery(queue: Queues["webhookDeliveries"], deliveryId: string): Promise<void> {
  await (await queue.getJob(deliveryId))?.remove();
  await enqueueDeliveries(queue, [deliveryId]);
}

/** Queues deliveries; the job id is the delivery id, so queueing one again while it exists does nothing. */
export async function enqueueDeliveries(queue: Queues["webhookDeliveries"], deliveryIds: readonly string[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  await queue.addBulk(deliveryIds.map((deliveryId) => ({ name: JOB_NAME, data: { deliveryId }, opts: { jobId: deliveryId } })));
}
