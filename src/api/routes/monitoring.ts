/**
 * Seed 000's monitoring API, for the people who run the platform: health with each dependency,
 * each served model's activity, system and prediction figures over a recent window, and the
 * alerts not yet resolved. The web dashboard it names (`/monitoring`) is the console.
 */
import { listAlerts } from "../../alerts/index.ts";
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
  ];
}
