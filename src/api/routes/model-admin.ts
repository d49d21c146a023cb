/**
 * Seed 004's model management, for admins: a model's versions, registering a version written to
 * the models directory, activating one and rolling back to one. Activation and rollback are the
 * same act here (serve that version everywhere, `activateVersion`). There are no A/B splits: every
 * node serves one version per model, so `ab_percentage` may only be 100 and `/ab-test` is not served.
 */
import { join, resolve } from "node:path";
import { ValidationError } from "../../errors.ts";
import type { LoadedModel } from "../../models/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";
import { ACTIVATE_RESPONSES, ActivateBody, activateVersion } from "./models.ts";

const ADMINS = ["admin"] as const;
const ModelName = z.string().min(1).max(100);
const Version = ActivateBody.shape.version;

/** The version's headline validation figure: AUC, else P@10, else R², else silhouette (higher is better for each). */
function performanceScore(model: LoadedModel): number | null {
  const v = model.card.metrics.validation;
  return v.auc ?? v.precision_at_10 ?? v.r2 ?? v.silhouette ?? null;
}

export function modelAdminRoutes(deps: ApiDeps): AnyRoute[] {
  const { registry } = deps;
  return [
    route({
      method: "get",
      path: "/api/admin/models/list/{model_name}",
      summary: "A model's versions, newest first, with the active one (seed 004)",
      tags: ["models"],
      access: ADMINS,
      params: z.strictObject({ model_name: ModelName }),
      responses: { 200: { description: "versions" }, 403: ACTIVATE_RESPONSES[403], 404: ACTIVATE_RESPONSES[404] },
      handler: ({ params }) => {
        const active = registry.get(params.model_name).version;
        return {
          body: {
            model_name: params.model_name,
            versions: registry.listVersions(params.model_name).map((m) => ({
              version: m.version,
              is_active: m.version === active,
              ab_test_percentage: m.version === active ? 100 : 0,
              performance_score: performanceScore(m),
              created_at: m.card.created_at,
            })),
          },
        };
      },
    }),
    route({
      method: "post",
      path: "/api/admin/models/register",
      summary: "Register a version written under MODELS_DIR/<model_name>/<version>/ (by npm run train or a training job); not served until activated (seed 004)",
      tags: ["models"],
      access: ADMINS,
      body: z
        .strictObject({
          model_name: ModelName,
          version: Version,
          model_path: z.string().max(1_000).optional().describe("if given, must be that version's directory: models are read from MODELS_DIR only"),
        })
        .openapi("RegisterModelVersion"),
      responses: {
        201: { description: "registered" },
        403: ACTIVATE_RESPONSES[403],
        404: { description: "unknown model, or no such version directory", schema: ErrorBodySchema },
        409: { description: "the version's files do not load", schema: ErrorBodySchema },
        422: { description: "bad version or path", schema: ErrorBodySchema },
      },
      handler: async ({ body }) => {
        const dir = join(deps.config.MODELS_DIR, body.model_name, body.version);
        if (body.model_path !== undefined && resolve(deps.config.MODELS_DIR, body.model_path) !== resolve(dir)) {
          throw new ValidationError(`model_path must be the version's directory under MODELS_DIR (${dir})`, { model_path: [`expected ${dir}`] });
        }
        registry.get(body.model_name); // a served model: 404 otherwise
        const model = await registry.register(deps.db, body.model_name, body.version);
        return { status: 201, body: { message: "Model registered", model_name: model.name, version: model.version, performance_score: performanceScore(model) } };
      },
    }),
    route({
      method: "post",
      path: "/api/admin/models/activate",
      summary: "Serve a version of a model on every node (seed 004; the same as POST /api/v1/models/{model_id}/activate)",
      tags: ["models"],
      access: ADMINS,
      body: z
        .strictObject({
          model_name: ModelName,
          version: Version,
          ab_percentage: z.literal(100).optional().describe("100 only: a version is served to all traffic or none"),
        })
        .openapi("ActivateModelVersionByName"),
      responses: ACTIVATE_RESPONSES,
      handler: async ({ body, principal }) => ({
        body: { message: "Model activated", ...(await activateVersion(deps, body.model_name, body.version, principal!.userId)) },
      }),
    }),
    route({
      method: "post",
      path: "/api/admin/models/rollback",
      summary: "Serve an earlier version again (seed 004)",
      tags: ["models"],
      access: ADMINS,
      query: z.strictObject({ model_name: ModelName, version: Version }),
      responses: ACTIVATE_RESPONSES,
      handler: async ({ query, principal }) => {
        const activated = await activateVersion(deps, query.model_name, query.version, principal!.userId);
        return { body: { message: `Rolled back to ${activated.version}`, ...activated } };
      },
    }),
  ];
}
