import type { Server } from "node:http";
import { Redis } from "ioredis";
import type { Knex } from "knex";
import { PIPELINES, type PipelineDefinition } from "../pipelines/index.ts";
import { relayPending } from "./alerts/index.ts";
import { createApp } from "./api/app.ts";
import type { ApiDeps } from "./api/deps.ts";
import { AuthService, TokenService } from "./auth/index.ts";
import type { Config } from "./config.ts";
import { attachConsole, startSnapshotPublisher } from "./console/index.ts";
import { createDb } from "./db/knex.ts";
import { LeaderLock } from "./db/leader-lock.ts";
import { migrateLatest } from "./db/migrate.ts";
import type { Logger } from "./log.ts";
import { startJobs, type Jobs } from "./jobs/index.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { followActivations, ModelRegistry } from "./models/index.ts";
import {
  connectBus,
  ConsumerRunner,
  deadLetterHandler,
  type BatchHandler,
  type Bus,
} from "./streams/index.ts";

export const VERSION = "0.1.0";

/** Which parts of the platform a process runs. */
export interface Roles {
  api: boolean;
  /** pipeline names; the dead-letter worker runs whenever any pipeline does */
  pipelines: string[];
  /** BullMQ workers for long jobs (CSV imports: src/jobs) */
  jobs?: boolean;
}

/** ROLE=all | api | jobs | pipelines | a comma list of pipeline names (optionally with "api", "jobs"). */
export function parseRoles(role: string): Roles {
  const all = PIPELINES.map((p) => p.name);
  const parts = role.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.includes("all")) return { api: true, pipelines: all, jobs: true };
  const pipelines = parts.includes("pipelines") ? all : parts.filter((p) => p !== "api" && p !== "jobs");
  const unknown = pipelines.filter((p) => !all.includes(p));
  if (unknown.length > 0) throw new Error(`unknown ROLE part(s) ${unknown.join(", ")}; use all, api, jobs, pipelines or ${all.join(", ")}`);
  return { api: parts.includes("api"), pipelines, jobs: parts.includes("jobs") };
}

export class ServiceUnreachableError extends Error {
  override name = "ServiceUnreachableError";
  constructor(
    readonly service: "PostgreSQL" | "NATS" | "Redis",
    readonly url: string,
    cause: unknown,
  ) {
    super(`${service} is not reachable at ${url}`, { cause });
  }
}

export interface Platform {
  config: Config;
  db: Knex;
  bus: Bus;
  redis: Redis;
  registry: ModelRegistry;
  metrics: Metrics;
  auth: AuthService;
  /** the API's address when it runs, e.g. http://127.0.0.1:8000 */
  url: string | null;
  runners: Map<string, ConsumerRunner>;
  /** queues, upload store and (with the jobs role) workers; null when the process runs neither api nor jobs */
  jobs: Jobs | null;
  /** graceful stop; idempotent, and every step runs even when one fails */
  close(): Promise<void>;
}

/**
 * Starts the platform: migrate, streams, models, pipelines, API. Every service is checked at start
 * so a missing one is reported by name instead of as a late, obscure failure.
 */
export async function startPlatform(config: Config, log: Logger, roles: Roles = parseRoles(config.ROLE)): Promise<Platform> {
  const metrics = createMetrics();
  const cleanup: Array<[string, () => Promise<unknown>]> = [];
  const closeAll = async () => {
    const errors: unknown[] = [];
    for (const [step, fn] of cleanup.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        log.error({ err, step }, "shutdown step failed");
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "shutdown finished with errors");
  };
  try {
    const db = createDb({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX });
    cleanup.push(["knex", () => db.destroy()]);
    try {
      await db.raw("select 1");
    } catch (err) {
      throw new ServiceUnreachableError("PostgreSQL", redact(config.DATABASE_URL), err);
    }
    const applied = await migrateLatest(db, config.DATABASE_SCHEMA);
    if (applied.length > 0) log.info({ applied }, "migrations applied");

    const bus = await connectBus(
      {
        url: config.NATS_URL,
        name: `tidecast-${process.pid}`,
        streamPrefix: config.STREAM_PREFIX,
        subjectPrefix: config.SUBJECT_PREFIX,
        duplicateWindowMs: config.DUPLICATE_WINDOW_MS,
      },
      { metrics, log },
    ).catch((err) => {
      throw err?.name === "ServiceConnectError" ? new ServiceUnreachableError("NATS", config.NATS_URL, err) : err;
    });
    cleanup.push(["nats", () => bus.close()]);

    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new ServiceUnreachableError("Redis", config.REDIS_URL, err);
    }
    cleanup.push(["redis", () => redis.quit()]);

    const registry = await ModelRegistry.loadFromDir(config.MODELS_DIR, log);
    cleanup.push(["models", () => registry.close()]);
    await registry.syncWithDb(db);
    log.info({ models: registry.listActive().map((m) => `${m.name}@${m.version}`) }, "models loaded");
    const activations = followActivations({ bus, db, registry, log, subjectPrefix: config.SUBJECT_PREFIX });
    cleanup.push(["model activations", () => activations.stop()]);

    const auth = new AuthService(db, new TokenService(config.JWT_SECRET, config.JWT_TTL_SECONDS));
    const runners = new Map<string, ConsumerRunner>();
    // which stream each running pipeline reads, for the console's per-stream rates
    const pipelineStreams = new Map<string, string>();
    const snapshots = startSnapshotPublisher({ bus, metrics, subjectPrefix: config.SUBJECT_PREFIX, pipelineStreams });
    cleanup.push(["console snapshots", async () => snapshots.stop()]);
    const pipelineDeps = { db, bus, registry, metrics, log, config };

    const startRunner = async (name: string, stream: string, handler: BatchHandler, def: Pick<PipelineDefinition, "batchSize" | "maxInFlightBatches" | "ordered" | "lanes">) => {
      const runner = new ConsumerRunner(
        {
          pipeline: name,
          consumer: {
            stream,
            durable: name,
            filterSubject: "",
            maxDeliver: config.MAX_DELIVER,
            ackWaitMs: config.ACK_WAIT_MS,
            // per consumer across all processes; each process holds at most batchSize × (in flight × lanes + 1)
            maxAckPending: def.batchSize * (def.maxInFlightBatches * (def.lanes ?? 1) + 1) * 16,
          },
          handler,
          batchSize: def.batchSize,
          maxInFlightBatches: def.maxInFlightBatches,
          lanes: def.lanes,
          ordered: def.ordered,
        },
        {
          bus,
          metrics,
          log: log.child({ pipeline: name }),
          // one lock per pipeline per install (schema and stream prefix tell installs apart)
          lock: def.ordered ? new LeaderLock(config.DATABASE_URL, `tidecast:${config.DATABASE_SCHEMA}:${config.STREAM_PREFIX}:${name}`, log) : undefined,
        },
      );
      await runner.start();
      runners.set(name, runner);
      pipelineStreams.set(name, stream);
    };

    // Runners stop together: each waits for its last pull request (at most 2 s) and its batches.
    cleanup.push(["pipelines", () => Promise.all([...runners.values()].map((r) => r.stop()))]);
    if (roles.pipelines.length > 0) {
      await startRunner("dead-letter", bus.names.advisories, deadLetterHandler({ metrics, log, jsm: bus.jsm, failures: bus.failures, publisher: bus.publisher, names: bus.names }), {
        batchSize: 50,
        maxInFlightBatches: 1,
        ordered: false,
      });
      for (const def of PIPELINES.filter((p) => roles.pipelines.includes(p.name))) {
        await startRunner(def.name, def.stream(bus.names), def.createHandler(pipelineDeps), def);
      }
      const relayed = await relayPending(db, bus, metrics);
      if (relayed > 0) log.info({ relayed }, "published alerts left over from a previous run");
    }

    // the API queues jobs and the jobs role runs them; workers stop before NATS and Postgres close
    const jobs = roles.api || roles.jobs ? await startJobs(pipelineDeps, roles.jobs === true) : null;
    if (jobs) cleanup.push(["jobs", () => jobs.close()]);

    let url: string | null = null;
    if (roles.api) {
      const deps: ApiDeps = { config, db, redis, bus, registry, auth, metrics, log, startedAt: new Date(), version: VERSION };
      const { app } = createApp(deps, jobs);
      const server = await listen(app.callback(), config.PORT, config.HOST);
      // Closed first on shutdown (cleanup runs in reverse): in-flight requests still reach the pipelines.
      cleanup.push(["http", () => closeServer(server, config.SHUTDOWN_TIMEOUT_MS)]);
      const live = attachConsole(server, { auth, bus, db, log, streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX });
      // before the HTTP server closes: its WebSockets would otherwise keep it open
      cleanup.push(["console sockets", () => live.close()]);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.PORT;
      url = `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`;
    } else if (config.METRICS_PORT !== undefined) {
      const server = await listen(metricsHandler(metrics), config.METRICS_PORT, config.HOST);
      cleanup.push(["metrics http", () => closeServer(server, config.SHUTDOWN_TIMEOUT_MS)]);
    }

    let closing: Promise<void> | undefined;
    return { config, db, bus, redis, registry, metrics, auth, url, runners, jobs, close: () => (closing ??= closeAll()) };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}

function listen(handler: Parameters<typeof import("node:http").createServer>[1], port: number, host: string): Promise<Server> {
  return import("node:http").then(
    ({ createServer }) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer(handler);
        server.keepAliveTimeout = 65_000;
        server.once("error", reject);
        server.listen(port, host, () => resolve(server));
      }),
  );
}

/** The whole HTTP surface of a process without the API: its Prometheus metrics and a liveness answer. */
function metricsHandler(metrics: Metrics): Parameters<typeof import("node:http").createServer>[1] {
  return (req, res) => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(503, { "content-type": "text/plain" }).end(String(err)),
      );
    } else if (req.method === "GET" && path === "/health/live") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "alive" }));
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ status: "error", code: "NOT_FOUND", message: "this process serves only /metrics and /health/live" }));
    }
  };
}

/** Stops accepting connections, lets in-flight requests finish, then closes idle keep-alive sockets. */
function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // past the deadline, connections still open (a stuck client) are cut so shutdown completes
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    deadline.unref();
    server.close((err) => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, "//$1:***@");
}
