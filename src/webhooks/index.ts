export { DeliveryRefusedError, postJson, signatureHeader, SIGNATURE_HEADER, urlProblem, verifySignature } from "./deliver.ts";
export { deliveriesFor, deliveryPayload, subscriptionTerms } from "./dispatch.ts";
export { notice, noticePublisher, NoticeSchema, WEBHOOK_EVENT_NAMES, WEBHOOK_EVENTS } from "./events.ts";
export type { Notice, PublishNotice, WebhookEvent } from "./events.ts";
export {
  createWebhook,
  deleteWebhook,
  deliveryExists,
  failDelivery,
  findDelivery,
  findWebhook,
  listDeliveries,
  listWebhooks,
  newSecret,
  presentWebhook,
  recordAttempt,
  recordDeliveries,
  reopenDelivery,
  subscribedEndpoints,
  updateWebhook,
} from "./store.ts";
export type { WebhookRow } from "./store.ts";
export { announceWebhookChange, EventSubscribers } from "./subscribers.ts";
