import type { Subscription } from "@nats-io/transport-node";
import type { Knex } from "knex";
import type { Logger } from "../log.ts";
import type { Bus } from "../streams/index.ts";
import type { WebhookEvent } from "./events.ts";
import { subscribedUsers } from "./store.ts";

/** Where a change to any webhook is announced (core NATS, as model activations are). */
export function webhooksChangedSubject(subjectPrefix: string): string {
  return `${subjectPrefix}webhooks.changed`;
}

/** Called after a webhook is stored, changed or deleted; a failure to publish is logged, not the caller's error. */
export function announceWebhookChange(bus: Bus, subjectPrefix: string, log: Logger): void {
  try {
    bus.nc.publish(webhooksChangedSubject(subjectPrefix));
  } catch (err) {
    log.warn({ err }, "could not announce a webhook change");
  }
}

/** Reread now and then as well, so a missed announcement (a reconnect) is made up for. */
const RELOAD_EVERY_MS = 30_000;

/**
 * The users with an active endpoint for one event, kept in memory by a process that would
 * otherwise publish that event all the time: the scorer publishes `prediction.completed` only for
 * these users, the recommendations pipeline `recommendation.generated` only while anyone has
 * subscribed, so what nobody subscribed to costs no message. A webhook takes effect once its
 * announcement is read, within moments of being stored.
 */
export class EventSubscribers {
  private users = new Set<number>();
  private readonly subscription: Subscription;
  private readonly timer: NodeJS.Timeout;
  private loading: Promise<void> = Promise.resolve();
  private again = false;
  private stopped = false;

  constructor(
    private readonly db: Knex,
    bus: Bus,
    subjectPrefix: string,
    private readonly event: WebhookEvent,
    private readonly log: Logger,
  ) {
    this.subscription = bus.nc.subscribe(webhooksChangedSubject(subjectPrefix), { callback: (err) => (err ? undefined : this.reload()) });
    this.timer = setInterval(() => this.reload(), RELOAD_EVERY_MS);
    this.timer.unref();
    this.reload();
  }

  has(userId: number | null | undefined): boolean {
    return userId != null && this.users.has(userId);
  }

  /** Whether anyone subscribed: for a platform event, which every subscriber receives. */
  any(): boolean {
    return this.users.size > 0;
  }

  /** One read at a time, and one more queued at most: each reads every subscriber anyway. */
  private reload(): void {
    if (this.stopped) return;
    if (this.again) return;
    this.again = true;
    this.loading = this.loading.then(async () => {
      this.again = false;
      if (this.stopped) return;
      try {
        this.users = await subscribedUsers(this.db, this.event);
      } catch (err) {
        this.log.warn({ err, event: this.event }, "could not read the webhook subscribers");
      }
    });
  }

  /** Waits for a read under way, so that none outlives the database pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.subscription.unsubscribe();
    await this.loading;
  }
}
