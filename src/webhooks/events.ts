import { z } from "zod";
import type { Bus } from "../streams/index.ts";

/**
 * The events a webhook subscribes to: the seeds' names (000: prediction.completed, model.updated,
 * alert.triggered, user.credit_low; 003: model.trained, churn.alert; 004:
 * recommendation.generated, model.deployed, anomaly.detected, batch.completed). `owner` events
 * concern one user and reach only that user's endpoints; the others are platform events every
 * signed-in user may read through the API anyway (alerts, model versions, recommendations) and
 * reach every endpoint subscribed to them.
 */
export const WEBHOOK_EVENTS = {
  "prediction.completed": { scope: "owner", description: "a prediction you requested completed (any route: sync, async, batch, CSV)" },
  "user.credit_low": { scope: "owner", description: "a charge took your credits below the platform's CREDIT_LOW_THRESHOLD" },
  "batch.completed": { scope: "owner", description: "a CSV import or recommendation batch you queued finished (completed or failed)" },
  "alert.triggered": { scope: "platform", description: "a pipeline raised an alert (churn risk, hot lead, anomaly)" },
  "churn.alert": { scope: "platform", description: "a customer moved to High churn risk (an alert of type churn_risk)" },
  "anomaly.detected": { scope: "platform", description: "the anomaly pipeline raised an alarm (an alert of type anomaly)" },
  "model.deployed": { scope: "platform", description: "a model version was activated and is now served" },
  "model.updated": { scope: "platform", description: "seed 000's name for model.deployed" },
  "model.trained": { scope: "platform", description: "a training job finished (completed or failed)" },
  "recommendation.generated": { scope: "platform", description: "the recommendations pipeline stored a customer's new top items (once per customer per batch of events)" },
} as const;

export type WebhookEvent = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_NAMES = Object.keys(WEBHOOK_EVENTS) as [WebhookEvent, ...WebhookEvent[]];

/** What the platform publishes on `notices.<kind>`; the dispatcher turns one into deliveries. */
export const NOTICE_KINDS = ["prediction.completed", "user.credit_low", "batch.completed", "alert.triggered", "model.deployed", "model.trained", "recommendation.generated"] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const NoticeSchema = z.object({
  /** derived from the cause, so publishing it twice (a retried step) delivers it once */
  id: z.string().min(1).max(200),
  kind: z.enum(NOTICE_KINDS),
  timestamp: z.string(),
  /** the user an `owner` event concerns */
  user_id: z.number().int().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type Notice = z.infer<typeof NoticeSchema>;

/**
 * The subscribed names a notice is delivered under, the most specific first: an endpoint that
 * subscribed to both churn.alert and alert.triggered gets the alert once, as churn.alert.
 */
export function eventNamesOf(notice: Pick<Notice, "kind" | "data">): WebhookEvent[] {
  switch (notice.kind) {
    case "alert.triggered": {
      const specific = notice.data.type === "churn_risk" ? "churn.alert" : notice.data.type === "anomaly" ? "anomaly.detected" : null;
      return specific ? [specific, "alert.triggered"] : ["alert.triggered"];
    }
    case "model.deployed":
      return ["model.deployed", "model.updated"];
    default:
      return [notice.kind];
  }
}

/** A notice for now: its id names its cause (see NoticeSchema.id). */
export function notice(kind: NoticeKind, id: string, userId: number | null, data: Record<string, unknown>): Notice {
  return { id: `${kind}:${id}`, kind, timestamp: new Date().toISOString(), user_id: userId, data };
}

export type PublishNotice = (notice: Notice) => Promise<void>;

/** Publishes notices on the NOTICES stream, the notice id as Nats-Msg-Id. */
export function noticePublisher(bus: Bus): PublishNotice {
  return async (n) => {
    await bus.publisher.publish("notices", bus.names.noticeSubject(n.kind), n, { msgId: n.id });
  };
}
