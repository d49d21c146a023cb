import type { Alert } from "../alerts/index.ts";
import type { Logger } from "../log.ts";
import { encodeJson, type Bus } from "../streams/index.ts";

/**
 * Where an alert that someone acknowledged or resolved is announced, so that every API process
 * (and through it every open console) sees the change. Core NATS, not the ALERTS stream: Postgres
 * holds the status and every (re)connect's snapshot reads it from there, so a missed announcement
 * costs nothing lasting; and a message under `alerts.>` would look like a new alert to its readers.
 */
export function alertStatusSubject(subjectPrefix: string): string {
  return `${subjectPrefix}console.alert-status`;
}

/**
 * Announces an alert's new status. Called after the change is stored, so a failure to publish
 * (NATS closed) is logged and not the caller's error: the change itself succeeded.
 */
export function announceAlertStatus(deps: { bus: Bus; log: Logger; subjectPrefix: string }, alert: Alert): void {
  try {
    deps.bus.nc.publish(alertStatusSubject(deps.subjectPrefix), encodeJson(alert));
  } catch (err) {
    deps.log.warn({ err, alert: alert.id }, "could not announce an alert's status to the consoles");
  }
}
