/**
 * Stream, subject and consumer names. A prefix pair lets several installs (and every test) share
 * one NATS server without seeing each other's messages.
 */
export interface StreamNames {
  /** one stream per event domain: `events.<domain>.*` */
  events(domain: EventDomain): string;
  eventStreams: Array<{ domain: EventDomain; stream: string }>;
  predict: string;
  alerts: string;
  dlq: string;
  /** platform events webhooks subscribe to (src/webhooks) */
  notices: string;
  advisories: string;
  failuresBucket: string;
  /** subject builders */
  eventSubject(domain: string, key: string): string;
  eventFilter(domain: EventDomain): string;
  predictSubject(model: string): string;
  predictFilter(): string;
  alertSubject(type: string): string;
  alertFilter(): string;
  dlqSubject(stream: string, consumer: string): string;
  dlqFilter(): string;
  noticeSubject(event: string): string;
  noticeFilter(): string;
  /** the subject a stream prefix-strips back to its domain parts */
  parseEventSubject(subject: string): { domain: string; key: string } | null;
  parsePredictSubject(subject: string): string | null;
}

/** The domains producers publish to; each has its own stream and (or will have) a pipeline. */
export const EVENT_DOMAINS = ["customer", "lead", "metric", "interaction"] as const;
export type EventDomain = (typeof EVENT_DOMAINS)[number];

/** A subject token: NATS forbids '.', '*', '>' and whitespace inside one. */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_\-:@+=]{1,128}$/;

export function streamNames(streamPrefix: string, subjectPrefix: string): StreamNames {
  const sp = subjectPrefix;
  const strip = (subject: string, head: string): string[] | null =>
    subject.startsWith(sp + head + ".") ? subject.slice(sp.length + head.length + 1).split(".") : null;
  return {
    events: (domain) => `${streamPrefix}EVENTS_${domain.toUpperCase()}`,
    eventStreams: EVENT_DOMAINS.map((domain) => ({ domain, stream: `${streamPrefix}EVENTS_${domain.toUpperCase()}` })),
    predict: `${streamPrefix}PREDICT`,
    alerts: `${streamPrefix}ALERTS`,
    dlq: `${streamPrefix}DLQ`,
    notices: `${streamPrefix}NOTICES`,
    advisories: `${streamPrefix}ADVISORIES`,
    failuresBucket: `${streamPrefix}TIDECAST_FAILURES`,
    eventSubject: (domain, key) => `${sp}events.${domain}.${key}`,
    eventFilter: (domain) => `${sp}events.${domain}.*`,
    predictSubject: (model) => `${sp}predict.${model}`,
    predictFilter: () => `${sp}predict.*`,
    alertSubject: (type) => `${sp}alerts.${type}`,
    alertFilter: () => `${sp}alerts.>`,
    dlqSubject: (stream, consumer) => `${sp}dlq.${stream}.${consumer}`,
    dlqFilter: () => `${sp}dlq.>`,
    noticeSubject: (event) => `${sp}notices.${event}`,
    noticeFilter: () => `${sp}notices.>`,
    parseEventSubject(subject) {
      const parts = strip(subject, "events");
      return parts && parts.length === 2 ? { domain: parts[0]!, key: parts[1]! } : null;
    },
    parsePredictSubject(subject) {
      const parts = strip(subject, "predict");
      return parts && parts.length === 1 ? parts[0]! : null;
    },
  };
}
