import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { StreamNames } from "./names.ts";

const DAY_MS = 86_400_000;

export interface TopologyOptions {
  duplicateWindowMs: number;
}

/**
 * The streams Tidecast owns. Each consumer reads a whole stream, never a wildcard-filtered part of
 * one: on nats-server 2.9 a consumer filtered by wildcard over many subjects (one per customer)
 * slows to tens of messages per second once the stream's caches go cold. Hence one stream per
 * event domain. nats-server 2.9 is the minimum.
 */
export function streamConfigs(names: StreamNames, options: TopologyOptions): Array<Partial<StreamConfig> & { name: string }> {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(options.duplicateWindowMs),
    num_replicas: 1,
  };
  const maxDeliveries = (stream: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`;
  return [
    ...names.eventStreams.map(({ domain, stream }) => ({ ...common, name: stream, subjects: [names.eventFilter(domain)], max_age: nanos(7 * DAY_MS) })),
    { ...common, name: names.predict, subjects: [names.predictFilter()], max_age: nanos(DAY_MS) },
    { ...common, name: names.alerts, subjects: [names.alertFilter()], max_age: nanos(30 * DAY_MS) },
    { ...common, name: names.dlq, subjects: [names.dlqFilter()], max_age: nanos(30 * DAY_MS) },
    { ...common, name: names.notices, subjects: [names.noticeFilter()], max_age: nanos(7 * DAY_MS) },
    {
      ...common,
      // Advisories are captured in a stream so none is lost while the dead-letter worker is down.
      name: names.advisories,
      subjects: [...names.eventStreams.map(({ stream }) => maxDeliveries(stream)), maxDeliveries(names.predict), maxDeliveries(names.alerts), maxDeliveries(names.notices)],
      max_age: nanos(7 * DAY_MS),
    },
  ];
}

/** Creates each stream, or reconciles its config when it exists. */
export async function ensureStreams(jsm: JetStreamManager, configs: Array<Partial<StreamConfig> & { name: string }>) {
  for (const config of configs) {
    try {
      const { config: current } = await jsm.streams.info(config.name);
      // As with consumers, nats-server 2.9 slows a stream's consumers after an update to the same
      // values, so only a real difference is sent.
      const changed = Object.entries(config).some(([k, v]) => JSON.stringify(current[k as keyof typeof current]) !== JSON.stringify(v));
      if (changed) await jsm.streams.update(config.name, config);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      await jsm.streams.add(config);
    }
  }
}

export interface DurableSpec {
  stream: string;
  durable: string;
  /** empty: every subject of the stream */
  filterSubject: string;
  maxDeliver: number;
  ackWaitMs: number;
  /** the server stops delivering past this many unacknowledged messages: the pipeline's backpressure */
  maxAckPending: number;
  /**
   * Explicit: every message is acked on its own. All: an ack covers every message up to its stream
   * sequence, so an ordered runner acks a whole batch with one message. Set when the consumer is
   * created: the server cannot change it, so a consumer found with the other policy is left as it
   * is here (an ordered runner recreates it when it takes the lead, see ConsumerRunner).
   */
  ackPolicy: AckPolicy;
  /** create the consumer to deliver from this stream sequence on (a rewind); only when creating */
  startSeq?: number;
}

/** Creates or reconciles a durable pull consumer. */
export async function ensureDurable(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: spec.ackPolicy,
    ...(spec.startSeq ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: spec.startSeq } : { deliver_policy: DeliverPolicy.All }),
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending,
  };
  try {
    const { config: current } = await jsm.consumers.info(spec.stream, spec.durable);
    const changes = {
      ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
      max_deliver: config.max_deliver,
      ack_wait: config.ack_wait,
      max_ack_pending: config.max_ack_pending,
    };
    // Update only on a real change: on nats-server 2.9 a consumer update, even to the same
    // values, leaves the consumer delivering one message per ack afterwards.
    const changed = Object.entries(changes).some(([k, v]) => current[k as keyof typeof current] !== v);
    if (changed) await jsm.consumers.update(spec.stream, spec.durable, changes);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(spec.stream, config);
  }
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
