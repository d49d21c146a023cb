import { AlertSchema, listAlerts, SEVERITIES, setAlertStatus } from "../../alerts/index.ts";
import { announceAlertStatus } from "../../console/index.ts";
import { NotFoundError } from "../../errors.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

// rebuilt with the OpenAPI-extended zod so it can carry a component name
const AlertBody = z.object(AlertSchema.shape).openapi("Alert");
const AlertId = z.strictObject({ id: z.uuid() });

/** Alerts raised by the pipelines: everyone signed in may read them, operators move them along. */
export function alertRoutes(deps: ApiDeps) {
  const transition = (status: "acknowledged" | "resolved") =>
    route({
      method: "post",
      path: `/api/v1/alerts/{id}/${status === "acknowledged" ? "acknowledge" : "resolve"}`,
      summary: status === "acknowledged" ? "Acknowledge an open alert" : "Resolve an alert",
      tags: ["alerts"],
      access: ["admin", "operator"],
      params: AlertId,
      responses: { 200: { description: "the alert", schema: AlertBody }, 404: { description: "no such alert", schema: ErrorBodySchema } },
      handler: async ({ params, principal }) => {
        const alert = await setAlertStatus(deps.db, params.id, status, principal!.userId);
        if (!alert) throw new NotFoundError(`Alert '${params.id}' not found`, { id: params.id });
        // every open console, on this API process or another, shows the new status
        announceAlertStatus({ bus: deps.bus, log: deps.log, subjectPrefix: deps.config.SUBJECT_PREFIX }, alert);
        return { body: alert };
      },
    });
  return [
    route({
      method: "get",
      path: "/api/v1/alerts",
      summary: "Alerts, newest first",
      tags: ["alerts"],
      access: "user",
      query: z.strictObject({
        status: z.enum(["open", "acknowledged", "resolved"]).optional(),
        type: z.string().max(50).optional(),
        severity: z.enum(SEVERITIES).optional(),
        entity_id: z.string().max(200).optional(),
        page: z.coerce.number().int().min(1).default(1),
        page_size: z.coerce.number().int().min(1).max(100).default(20),
      }),
      responses: { 200: { description: "a page of alerts" } },
      handler: async ({ query }) => ({ body: await listAlerts(deps.db, query) }),
    }),
    transition("acknowledged"),
    transition("resolved"),
  ];
}
