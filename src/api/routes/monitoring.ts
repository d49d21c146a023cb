/**
 * Seed 000's monitoring API, for the people who run the platform: health with each dependency,
 * each served model's activity, system and prediction figures over a recent window, and the
 * alerts not yet resolved; and its enterprise health and model status, the same figures in that
 * family's shapes. The web dashboard it names (`/monitoring`) is the console.
 */
import { listAlerts } from "../../alerts/index.ts";
import type { LoadedModel } from "../../models/index.ts";
import { activityByModel, recentActivity } from "../../predictions/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";
import { resources } from "../system-resources.ts";
import { readiness } from "./health.ts";

const OPERATORS = ["admin", "operator", "analyst"] as const;
const Window = z.strictObject({ window: z.coerce.number().int().min(1).max(10_080).default(60).describe("minutes") });
const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  403: { description: "not an admin, operator or analyst", schema: ErrorBodySchema },
};
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
/** a model failing more of its predictions than this (percent) in the window is "degraded" */
const DEGRADED_ERROR_RATE = 5;

/** The API's own requests since this process started, from its HTTP metrics. */
async function apiPerformance(deps: ApiDeps) {
  const [requests, durations] = await Promise.all([deps.metrics.httpRequests.get(), deps.metrics.httpDuration.get()]);
  let total = 0;
  let errors = 0;
  for (const v of requests.values) {
    total += v.value;
    if (String(v.labels.status).startsWith("5")) errors += v.value;
  }
  let seconds = 0;
  for (const v of durations.values) if (v.metricName === "http_request_duration_seconds_sum") seconds += v.value;
  const minutes = Math.max(1 / 60, (Date.now() - deps.startedAt.getTime()) / 60_000);
  return {
    requests: total,
    avg_response_time_ms: total > 0 ? Math.round((seconds / total) * 1e5) / 100 : null,
    requests_per_minute: Math.round((total / minutes) * 100) / 100,
    error_rate: total > 0 ? Math.round((errors / total) * 1e4) / 100 : 0,
  };
}

export function monitoringRoutes(deps: ApiDeps): AnyRoute[] {
  return [
    route({
      method: "get",
      path: "/monitoring/api/health",
      summary: "Health: healthy when NATS, Postgres, Redis answer and models are loaded, else degraded (seed 000)",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "health" } },
      handler: async () => {
        const { ready, checks } = await readiness(deps);
        return { body: { status: ready ? "healthy" : "degraded", timestamp: new Date().toISOString(), version: deps.version, checks } };
      },
    }),
    route({
      method: "get",
      path: "/monitoring/api/models",
      summary: "Each served model's version and its predictions over the last `window` minutes (seed 000)",
      tags: ["health"],
      access: OPERATORS,
      query: Window,
      responses: { 200: { description: "models" }, ...errors },
      handler: async ({ query, principal }) => {
        const activity = await activityByModel(deps.db, principal!, minutesAgo(query.window));
        const models = Object.fromEntries(
          deps.registry.listActive().map((m) => [
            m.name,
            {
              version: m.version,
              task: m.card.task,
              deployment_status: "active",
              validation_metrics: m.card.metrics.validation,
              window: activity[m.name] ?? { count: 0, success_rate: null, avg_confidence: null, avg_processing_time: null },
            },
          ]),
        );
        return { body: { models, window_minutes: query.window, timestamp: new Date().toISOString() } };
      },
    }),
    route({
      method: "get",
      path: "/monitoring/api/metrics",
      summary: "Host and process resources, and predictions over the last `window` minutes: rate, success, speed (seed 000)",
      tags: ["health"],
      access: OPERATORS,
      query: Window,
      responses: { 200: { description: "metrics" }, ...errors },
      handler: async ({ query, principal }) => {
        const [system, predictions] = await Promise.all([resources.snapshot(), recentActivity(deps.db, principal!, minutesAgo(query.window))]);
        return {
          body: {
            window_minutes: query.window,
            predictions: { ...predictions, per_minute: Math.round((predictions.count / query.window) * 100) / 100 },
            system,
            uptime_seconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
            timestamp: new Date().toISOString(),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/monitoring/api/alerts",
      summary: "Alerts not yet resolved, newest first: open, then acknowledged (seed 000)",
      tags: ["alerts"],
      access: OPERATORS,
      responses: { 200: { description: "alerts" }, ...errors },
      handler: async () => {
        const [open, acknowledged] = await Promise.all([
          listAlerts(deps.db, { status: "open", page: 1, page_size: 100 }),
          listAlerts(deps.db, { status: "acknowledged", page: 1, page_size: 100 }),
        ]);
        return { body: { open, acknowledged, timestamp: new Date().toISOString() } };
      },
    }),
    route({
      method: "get",
      path: "/api/enterprise/health/detailed",
      summary: "Each component's health: Postgres (latency, connections), Redis (latency, memory, keys), NATS, models, and the API's requests (seed 000)",
      tags: ["health"],
      access: OPERATORS,
      responses: { 200: { description: "health" }, ...errors },
      handler: async () => {
        const { checks } = await readiness(deps);
        const [connections, redisMemory, redisKeys, api] = await Promise.all([
          deps.db.raw("SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())::int AS used, current_setting('max_connections')::int AS max").then(
            (r) => r.rows[0] as { used: number; max: number },
            () => null,
          ),
          deps.redis.info("memory").then((info) => Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN), () => NaN),
          deps.redis.dbsize().catch(() => null),
          apiPerformance(deps),
        ]);
        const ok = Object.values(checks).filter((c) => c.status === "ok").length;
        const total = Object.keys(checks).length;
        const state = (c: { status: string }) => (c.status === "ok" ? "healthy" : "unhealthy");
        return {
          body: {
            status: ok === total ? "healthy" : ok === 0 ? "unhealthy" : "degraded",
            overall_health_score: Math.round((ok / total) * 1000) / 10,
            timestamp: new Date().toISOString(),
            components: {
              database: { status: state(checks.postgres), latency_ms: checks.postgres.latency_ms, connections: connections?.used ?? null, max_connections: connections?.max ?? null },
              cache: {
                status: state(checks.redis),
                latency_ms: checks.redis.latency_ms,
                memory_usage_mb: Number.isFinite(redisMemory) ? Math.round((redisMemory / 1024 ** 2) * 10) / 10 : null,
                keys: redisKeys,
              },
              messaging: { status: state(checks.nats), latency_ms: checks.nats.latency_ms },
              models: { status: state(checks.models), loaded_models: deps.registry.size },
              api_performance: api,
            },
            uptime_seconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
            version: deps.version,
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/enterprise/status/models",
      summary: `Each served model's predictions over the last \`hours\` with its version and training, "degraded" above ${DEGRADED_ERROR_RATE} % failed (seed 000)`,
      tags: ["health"],
      access: OPERATORS,
      query: z.strictObject({ hours: z.coerce.number().int().min(1).max(720).default(24) }),
      responses: { 200: { description: "models" }, ...errors },
      handler: async ({ query, principal }) => {
        const activity = await activityByModel(deps.db, principal!, minutesAgo(query.hours * 60));
        const status = (m: LoadedModel) => {
          const a = activity[m.name];
          const errorRate = a?.success_rate === null || a === undefined ? 0 : Math.round((100 - a.success_rate) * 10) / 10;
          return {
            predictions_count: a?.count ?? 0,
            avg_confidence: a?.avg_confidence ?? null,
            avg_processing_time: a?.avg_processing_time ?? null,
            error_rate: errorRate,
            status: errorRate > DEGRADED_ERROR_RATE ? "degraded" : "healthy",
            deployment_status: "active",
            version: m.version,
            last_trained: m.card.created_at,
            training_data_size: m.card.training.rows,
            features_count: m.card.features.length,
          };
        };
        const models = Object.fromEntries(deps.registry.listActive().map((m) => [m.name, status(m)]));
        const degraded = Object.entries(models).filter(([, m]) => m.status === "degraded");
        const now = new Date().toISOString();
        return {
          body: {
            models,
            system_summary: { total_models: Object.keys(models).length, healthy_models: Object.keys(models).length - degraded.length, window_hours: query.hours },
            alerts: degraded.map(([name, m]) => ({ severity: "medium", message: `Model ${name} failed ${m.error_rate}% of its predictions in the last ${query.hours} h`, timestamp: now })),
            timestamp: now,
          },
        };
      },
    }),
  ];
}
