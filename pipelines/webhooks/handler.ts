import type { JsMsg } from "@nats-io/jetstream";
import { enqueueDeliveries, webhookDeliveryQueue } from "../../src/jobs/index.ts";
import { decodeJson, type BatchHandler, type Outcome } from "../../src/streams/index.ts";
import { deliveriesFor, NoticeSchema, recordDeliveries, subscribedEndpoints, subscriptionTerms, type Notice } from "../../src/webhooks/index.ts";
import type { PipelineDeps } from "../types.ts";

/**
 * Turns notices into webhook deliveries: finds the endpoints subscribed to them, records one
 * delivery per endpoint and notice, queues each as a BullMQ job (the jobs role sends them, with
 * retries), then acks. A redelivered notice records nothing new and queues what is still pending.
 */
export function createWebhookDispatcher(deps: PipelineDeps): BatchHandler {
  const { db } = deps;
  const queue = webhookDeliveryQueue(deps.config);
  const handler = async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const notices: Notice[] = [];
    batch.forEach((msg, i) => {
      const parsed = NoticeSchema.safeParse(decodeJson(msg.data));
      if (parsed.success) notices.push(parsed.data);
      else outcomes[i] = { kind: "invalid", error: `not a notice: ${parsed.error.issues.map((x) => `${x.path.join(".") || "body"}: ${x.message}`).join("; ")}` };
    });
    const { events, owners } = subscriptionTerms(notices);
    const endpoints = await subscribedEndpoints(db, events, owners);
    const pending = await recordDeliveries(db, deliveriesFor(notices, endpoints));
    await enqueueDeliveries(queue, pending.map((d) => d.id));
    return outcomes;
  };
  return Object.assign(handler, { close: () => queue.close() });
}
