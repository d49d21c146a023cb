export { connectBus, ServiceConnectError } from "./bus.ts";
export { decodeJson, encodeJson } from "./codec.ts";
export { ConsumerRunner } from "./consumer-runner.ts";
export {
  deadLetter,
  deadLetterHandler,
  DeadLetterNotFoundError,
  DLQ_HEADERS,
  failureKey,
  listDeadLetters,
  retryDeadLetter,
} from "./dead-letter.ts";
export { EVENT_DOMAINS, streamNames, SUBJECT_TOKEN } from "./names.ts";
export { Publisher } from "./publisher.ts";
export { ReplyRouter, REPLY_HEADER, TIMEOUT } from "./reply-router.ts";
export { ensureDurable, ensureStreams, isApiError, streamConfigs } from "./topology.ts";
export type { Bus, BusOptions } from "./bus.ts";
export type { BatchHandler, Outcome, Reply, RunnerDeps, RunnerOptions } from "./consumer-runner.ts";
export type { DeadLetter, DeadLetterView, FailureRecord } from "./dead-letter.ts";
export type { EventDomain, StreamNames } from "./names.ts";
export type { PublishOptions, PublishResult } from "./publisher.ts";
export type { DurableSpec } from "./topology.ts";
export { EventEnvelopeSchema } from "./event-envelope.ts";
export type { EventEnvelope } from "./event-envelope.ts";
