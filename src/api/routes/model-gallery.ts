/**
 * Seed 000's model gallery over the same registry as `/api/v1/models`: every served model with its
 * headline figures, one model with its versions, and activation (admins). Custom model uploads
 * (seed 000 takes pickled files) are not offered: a model version here is an ONNX graph with a
 * card that its trainer writes and checks, and unpickling a caller's file would run its code.
 */
import type { LoadedModel } from "../../models/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";
import { ACTIVATE_RESPONSES, ActivateBody, activateVersion, lastActivations } from "./models.ts";

const ModelName = z.strictObject({ model_name: z.string().min(1).max(100) });
const notFound = { 404: { description: "unknown model", schema: ErrorBodySchema } };

function galleryEntry(model: LoadedModel, ids: Map<string, number>) {
  const { card } = model;
  const accuracy = card.metrics.validation.accuracy;
  return {
    id: ids.get(card.name) ?? null,
    name: card.name,
    display_name: card.display_name,
    version: card.version,
    status: "active",
    task: card.task,
    algorithm: card.algorithm,
    // seed 000 shows accuracy in percent; models without one (regressions, recommenders) show null and their own metrics
    accuracy: accuracy === undefined ? null : Math.round(accuracy * 1000) / 10,
    metrics: card.metrics.validation,
    created_at: card.created_at,
    description: card.description,
    features: card.features.map((f) => f.name),
    training_data_size: card.training.rows,
    synthetic_data: card.training.synthetic,
    last_retrained: card.created_at,
  };
}

export function modelGalleryRoutes(deps: ApiDeps): AnyRoute[] {
  const { registry } = deps;
  const modelIds = async () => new Map((await deps.db("models").select("id", "name")).map((m: { id: number; name: string }) => [m.name, m.id]));
  return [
    route({
      method: "get",
      path: "/api/model-gallery/models",
      summary: "Every served model with its active version and headline figures (seed 000)",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "models" } },
      handler: async () => {
        const ids = await modelIds();
        const models = registry.listActive().map((m) => galleryEntry(m, ids));
        return { body: { models, total: models.length, active: models.length } };
      },
    }),
    route({
      method: "get",
      path: "/api/model-gallery/models/{model_name}",
      summary: "One model with its versions, when and by whom each was last activated (seed 000)",
      tags: ["models"],
      access: "user",
      params: ModelName,
      responses: { 200: { description: "model" }, ...notFound },
      handler: async ({ params }) => {
        const model = registry.get(params.model_name);
        const activations = new Map((await lastActivations(deps.db, model.name)).map((a) => [a.version, a]));
        return {
          body: {
            ...galleryEntry(model, await modelIds()),
            feature_schema: `/api/v1/models/${model.name}`,
            versions: registry.listVersions(model.name).map((v) => ({
              version: v.version,
              active: v.version === model.version,
              created_at: v.card.created_at,
              metrics: v.card.metrics.validation,
              activated_at: activations.get(v.version)?.activated_at ?? null,
              activated_by: activations.get(v.version)?.username ?? null,
            })),
          },
        };
      },
    }),
    route({
      method: "post",
      path: "/api/model-gallery/models/{model_name}/activate",
      summary: "Serve another version of a model, as POST /api/v1/models/{model_id}/activate (seed 000)",
      tags: ["models"],
      access: ["admin"],
      params: ModelName,
      body: ActivateBody,
      responses: ACTIVATE_RESPONSES,
      handler: async ({ params, body, principal }) => ({ body: await activateVersion(deps, params.model_name, body.version, principal!.userId) }),
    }),
  ];
}
