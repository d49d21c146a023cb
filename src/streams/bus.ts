import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { streamNames, type StreamNames } from "./names.ts";
import { Publisher } from "./publisher.ts";
import { ReplyRouter } from "./reply-router.ts";
import { ensureStreams, streamConfigs } from "./topology.ts";

const WEEK_MS = 7 * 86_400_000;

export interface BusOptions {
  url: string;
  name: string;
  streamPrefix: string;
  subjectPrefix: string;
  duplicateWindowMs: number;
}

/** One NATS connection with the JetStream handles, names and publisher every role shares. */
export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: StreamNames;
  publisher: Publisher;
  /** routes answers to this process's request/reply callers */
  replies: ReplyRouter;
  failures: KV;
  /** drains subscriptions and pending publishes, then closes */
  close(): Promise<void>;
}

export class ServiceConnectError extends Error {
  override name = "ServiceConnectError";
}

/** Connects, creates or reconciles the streams, and opens the failure-record bucket. */
export async function connectBus(options: BusOptions, deps: { metrics: Metrics; log: Logger }): Promise<Bus> {
  let nc: NatsConnection;
  try {
    // noAsyncTraces: by default every request (a JetStream API call, a KV write) captures a stack
    // trace up front, to decorate a timeout error should one come; when publishes were requests that
    // was ~5.6 % of the sync prediction path's CPU. Timeouts still say what timed out, without the
    // caller's frames.
    nc = await connect({ servers: options.url, name: options.name, maxReconnectAttempts: -1, noAsyncTraces: true });
  } catch (err) {
    throw new ServiceConnectError(`cannot reach NATS at ${options.url}`, { cause: err });
  }
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const names = streamNames(options.streamPrefix, options.subjectPrefix);
  await ensureStreams(jsm, streamConfigs(names, { duplicateWindowMs: options.duplicateWindowMs }));
  // Failure records live only until the dead-letter worker has copied them.
  const failures = await new Kvm(js).create(names.failuresBucket, { ttl: WEEK_MS, history: 1 });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") deps.log.warn({ status: s.type }, "nats connection");
    }
  })();
  const publisher = new Publisher(nc, deps.metrics);
  return {
    nc,
    js,
    jsm,
    names,
    publisher,
    replies: new ReplyRouter(nc),
    failures,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
      publisher.close();
    },
  };
}
