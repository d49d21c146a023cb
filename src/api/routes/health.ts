import { hostname } from "node:os";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { elapsedMs } from "../elapsed.ts";
import { route } from "../route-table.ts";
import { ALERT_PERCENT, resources } from "../system-resources.ts";

const CHECK_TIMEOUT_MS = 1_000;

type Check = { status: "ok" | "fail"; latency_ms: number; error?: string };

async function timed(fn: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS))),
    ]);
    return { status: "ok", latency_ms: elapsedMs(started) };
  } catch (err) {
    return { status: "fail", latency_ms: Math.round(performance.now() - started), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness of every dependency the API needs to answer predictions. */
export async function readiness(deps: ApiDeps) {
  const [nats, postgres, redis] = await Promise.all([
    timed(() => deps.bus.nc.rtt()),
    timed(() => deps.db.raw("select 1")),
    timed(() => deps.redis.ping()),
  ]);
  const models: Check = deps.registry.size > 0 ? { status: "ok", latency_ms: 0 } : { status: "fail", latency_ms: 0, error: "no model loaded" };
  const checks = { nats, postgres, redis, models };
  return { ready: Object.values(checks).every((c) => c.status === "ok"), checks };
}

const uptime = (deps: ApiDeps) => Math.round((Date.now() - deps.startedAt.getTime()) / 100) / 10;
const now = () => new Date().toISOString();

const CheckSchema = z.object({ status: z.enum(["ok", "fail"]), latency_ms: z.number(), error: z.string().optional() });

export function healthRoutes(deps: ApiDeps) {
  const primary = () => deps.registry.listActive()[0];
  return [
    route({
      method: "get",
      path: "/",
      summary: "Service information and links",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "links" } },
      handler: () => ({
        body: { service: "Tidecast", version: deps.version, docs: "/docs", health: "/health", metrics: "/metrics", console: "/console" },
      }),
    }),
    route({
      method: "get",
      path: "/health",
      summary: "The process answers",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "healthy", schema: z.object({ status: z.literal("healthy"), timestamp: z.string() }) } },
      handler: () => ({ body: { status: "healthy", timestamp: now() } }),
    }),
    route({
      method: "get",
      path: "/health/ready",
      summary: "NATS, Postgres, Redis reachable and models loaded",
      tags: ["health"],
      access: "public",
      responses: {
        200: { description: "ready", schema: z.object({ status: z.literal("ready"), model_version: z.string().nullable(), checks: z.record(z.string(), CheckSchema), timestamp: z.string() }) },
        503: { description: "not ready" },
      },
      handler: async () => {
        const { ready, checks } = await readiness(deps);
        return {
          status: ready ? 200 : 503,
          body: { status: ready ? "ready" : "not_ready", model_version: primary()?.version ?? null, checks, timestamp: now() },
        };
      },
    }),
    route({
      method: "get",
      path: "/health/live",
      summary: "Liveness",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "alive", schema: z.object({ status: z.literal("alive"), uptime_seconds: z.number(), timestamp: z.string() }) } },
      handler: () => ({ body: { status: "alive", uptime_seconds: uptime(deps), timestamp: now() } }),
    }),
    route({
      method: "get",
      path: "/status",
      summary: "Service status with models and environment",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "status" } },
      handler: () => {
        const models = deps.registry.listActive();
        const first = models[0];
        return {
          body: {
            status: models.length > 0 ? "operational" : "degraded",
            uptime_seconds: uptime(deps),
            model: {
              version: first?.version ?? null,
              loaded: models.length > 0,
              n_features: first?.card.features.length ?? 0,
              endpoint_provider: "local",
            },
            models: models.map((m) => ({ name: m.name, version: m.version, n_features: m.card.features.length, task: m.card.task })),
            environment: { node_version: process.version, hostname: hostname(), pid: process.pid },
            timestamp: now(),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/resources",
      summary: `Host CPU, memory, disk and network use, and this process's; alert flags above ${ALERT_PERCENT} % (seed 002)`,
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "a snapshot, at most a second old" } },
      handler: async () => ({ body: await resources.snapshot() }),
    }),
    route({
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "Prometheus text format" } },
      handler: async () => ({ body: await deps.metrics.registry.metrics(), type: deps.metrics.registry.contentType }),
    }),
  ];
}
