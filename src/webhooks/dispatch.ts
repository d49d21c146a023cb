import { eventNamesOf, WEBHOOK_EVENTS, type Notice, type WebhookEvent } from "./events.ts";
import type { NewDelivery, WebhookRow } from "./store.ts";

/** What an endpoint receives: seed 000's payload, with the notice id to tell repeats apart. */
export function deliveryPayload(notice: Pick<Notice, "id" | "timestamp" | "data">, event: string): Record<string, unknown> {
  return { id: notice.id, event, timestamp: notice.timestamp, data: notice.data };
}

/**
 * The deliveries of a batch of notices to the endpoints subscribed to them: each notice at most
 * once per endpoint, under the most specific name the endpoint subscribed to; an owner event only
 * to its owner's endpoints.
 */
export function deliveriesFor(notices: readonly Notice[], endpoints: ReadonlyArray<Pick<WebhookRow, "id" | "user_id" | "events">>): NewDelivery[] {
  const deliveries: NewDelivery[] = [];
  for (const notice of notices) {
    const names = eventNamesOf(notice);
    for (const endpoint of endpoints) {
      const event = names.find((name) => endpoint.events.includes(name) && (WEBHOOK_EVENTS[name].scope === "platform" || endpoint.user_id === notice.user_id));
      if (event) deliveries.push({ webhook_id: endpoint.id, notice_id: notice.id, event, payload: deliveryPayload(notice, event) });
    }
  }
  return deliveries;
}

/** Every name the notices may be delivered under, and the users their owner events concern: the endpoint query's terms. */
export function subscriptionTerms(notices: readonly Notice[]): { events: WebhookEvent[]; owners: number[] } {
  const events = new Set<WebhookEvent>();
  const owners = new Set<number>();
  for (const notice of notices) {
    for (const name of eventNamesOf(notice)) events.add(name);
    if (notice.user_id !== null) owners.add(notice.user_id);
  }
  return { events: [...events], owners: [...owners] };
}
