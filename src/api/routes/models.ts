import type { Knex } from "knex";
import { announceActivation, EXPLANATION_METHODS, VERSION_PATTERN, type LoadedModel } from "../../models/index.ts";
import { featuresSchema } from "../card-schema.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";
import { notice, noticePublisher } from "../../webhooks/index.ts";

const ModelId = z.strictObject({ model_id: z.string().min(1).max(100) });
const notFound = { 404: { description: "unknown model", schema: ErrorBodySchema } };

// seed 000 writes versions as "v2.0"; ours are directory names ("1.2.0")
export const ActivateBody = z
  .strictObject({
    version: z
      .string()
      .transform((v) => v.replace(/^v/i, ""))
      .pipe(z.string().regex(VERSION_PATTERN, "a version is major.minor.patch, e.g. 1.2.0"))
      .describe("the version to serve, as GET /api/v1/models/{model_id}/versions lists it (a leading v is allowed)"),
  })
  .openapi("ActivateModelVersion");

/**
 * The card as the API shows it: explanation internals (a linear model's coefficients are small,
 * a tree ensemble's trees are megabytes) are summarised, not sent.
 */
function publicCard(model: LoadedModel) {
  const { explainer, ...card } = model.card;
  return { ...card, explainer: explainer ? { kind: explainer.kind } : null };
}

// Converting a card to JSON Schema builds a zod schema first: most of this route's time (measured:
// ~450 answers a second before it was kept). A version's card never changes once loaded.
const featureSchemas = new WeakMap<LoadedModel, unknown>();

function featureSchemaOf(model: LoadedModel): unknown {
  let schema = featureSchemas.get(model);
  if (schema === undefined) featureSchemas.set(model, (schema = z.toJSONSchema(featuresSchema(model.card))));
  return schema;
}

function summary(model: LoadedModel, activeVersion: string) {
  const { card } = model;
  return {
    model_id: card.name,
    display_name: card.display_name,
    description: card.description,
    task: card.task,
    algorithm: card.algorithm,
    version: card.version,
    active: card.version === activeVersion,
    created_at: card.created_at,
    metrics: card.metrics.validation,
    training: { dataset: card.training.dataset, rows: card.training.rows, synthetic: card.training.synthetic },
    features: card.features.map((f) => ({
      name: f.name,
      type: f.type,
      required: f.required,
      description: f.description,
      ...(f.min !== undefined ? { min: f.min, max: f.max, out_of_range: f.out_of_range } : {}),
      ...(f.categories ? { categories: f.categories, unknown_category: f.unknown_category } : {}),
      ...(f.aliases ? { aliases: f.aliases } : {}),
    })),
    ignored_columns: card.ignored_columns ?? [],
  };
}

/** When each version of a model was last activated, and by which user. */
export function lastActivations(db: Knex, model: string): Promise<{ version: string; activated_at: Date | null; username: string | null }[]> {
  return db("model_versions")
    .join("models", "models.id", "model_versions.model_id")
    .leftJoin("users", "users.id", "model_versions.activated_by")
    .where("models.name", model)
    .select("model_versions.version", "model_versions.activated_at", "users.username");
}

export const ACTIVATE_RESPONSES = {
  200: { description: "now served" },
  403: { description: "not an admin", schema: ErrorBodySchema },
  ...notFound,
  409: { description: "the version cannot replace the active one", schema: ErrorBodySchema },
};

/**
 * Serves `version` of a model on every process (`ModelRegistry.activate`, then the announcement
 * the others adopt it on); answers the version's summary and the one it replaced.
 */
export async function activateVersion(deps: ApiDeps, name: string, version: string, userId: number) {
  const { model, previous } = await deps.registry.activate(deps.db, name, version, userId);
  announceActivation({ bus: deps.bus, log: deps.log, subjectPrefix: deps.config.SUBJECT_PREFIX }, model.name, model.version);
  deps.log.info({ model: model.name, version: model.version, previous: previous.version }, "model version activated");
  // the activation is stored: a notice that cannot be published is logged, not the caller's error
  const activatedAt = new Date();
  await noticePublisher(deps.bus)(
    notice("model.deployed", `${model.name}:${model.version}:${activatedAt.getTime()}`, null, {
      model: model.name,
      version: model.version,
      previous_version: previous.version,
      activated_by: userId,
      activated_at: activatedAt.toISOString(),
    }),
  ).catch((err: unknown) => deps.log.warn({ err, model: model.name }, "could not publish the model.deployed notice"));
  return { ...summary(model, model.version), previous_version: previous.version, artifact_sha256: model.sha256 };
}

/** Seed 001's model catalogue: every model with its feature schema, card and versions. */
export function modelRoutes(deps: ApiDeps) {
  const { registry } = deps;
  return [
    route({
      method: "get",
      path: "/api/v1/models",
      summary: "Every model with its active version, features and validation metrics",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "models" } },
      handler: () => {
        const items = registry.listActive().map((m) => ({
          ...summary(m, m.version),
          versions: registry.listVersions(m.name).map((v) => v.version),
        }));
        return { body: { items, total: items.length } };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/models/{model_id}",
      summary: "One model: card, JSON schema of its features, versions",
      tags: ["models"],
      access: "user",
      params: ModelId,
      responses: { 200: { description: "model" }, ...notFound },
      handler: ({ params }) => {
        const model = registry.get(params.model_id);
        return {
          body: {
            ...summary(model, model.version),
            versions: registry.listVersions(model.name).map((v) => v.version),
            feature_schema: featureSchemaOf(model),
            card: publicCard(model),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/models/{model_id}/versions",
      summary: "A model's versions, newest first, with when and by whom each was last activated",
      tags: ["models"],
      access: "user",
      params: ModelId,
      responses: { 200: { description: "versions" }, ...notFound },
      handler: async ({ params }) => {
        const active = registry.get(params.model_id).version;
        const activations = new Map(
          (await lastActivations(deps.db, params.model_id)).map((a) => [a.version, { activated_at: a.activated_at, activated_by: a.username }]),
        );
        const items = registry.listVersions(params.model_id).map((v) => ({
          version: v.version,
          active: v.version === active,
          created_at: v.card.created_at,
          algorithm: v.card.algorithm,
          artifact_sha256: v.sha256,
          metrics: v.card.metrics.validation,
          // activated_by is null when the platform activated it (a model's first start)
          ...(activations.get(v.version) ?? { activated_at: null, activated_by: null }),
        }));
        return { body: { model_id: params.model_id, items, total: items.length } };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/models/{model_id}/versions/{version_id}",
      summary: "One version's card",
      tags: ["models"],
      access: "user",
      params: z.strictObject({ model_id: z.string().min(1).max(100), version_id: z.string().min(1).max(50) }),
      responses: { 200: { description: "version" }, ...notFound },
      handler: ({ params }) => {
        const active = registry.get(params.model_id).version;
        const v = registry.getVersion(params.model_id, params.version_id);
        return { body: { ...summary(v, active), artifact_sha256: v.sha256, card: publicCard(v) } };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/models/{model_id}/activate",
      summary:
        "Serve another version of a model (seed 000's activate), on every node within moments; a version written after start is loaded " +
        "from the models directory. A version whose input contract differs is refused (409): it belongs under a new model name",
      tags: ["models"],
      access: ["admin"],
      params: ModelId,
      body: ActivateBody,
      responses: ACTIVATE_RESPONSES,
      handler: async ({ params, body, principal }) => ({ body: await activateVersion(deps, params.model_id, body.version, principal!.userId) }),
    }),
    route({
      method: "get",
      path: "/api/v1/models/{model_id}/metrics",
      summary: "Validation metrics of the active version, with its baseline",
      tags: ["models"],
      access: "user",
      params: ModelId,
      responses: { 200: { description: "metrics" }, ...notFound },
      handler: ({ params }) => {
        const { card } = registry.get(params.model_id);
        return {
          body: {
            model_id: card.name,
            model_version: card.version,
            metrics: card.metrics.validation,
            baseline: card.metrics.baseline ?? null,
            split: card.training.split,
            threshold: card.threshold ?? null,
            measured_on: "validation split",
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/analytics/feature-importance",
      summary: "Global feature importance of a model (seed 001)",
      tags: ["models"],
      access: "user",
      query: z.strictObject({ model_id: z.string().min(1).max(100) }),
      responses: { 200: { description: "importance" }, ...notFound },
      handler: ({ query }) => {
        const { card } = registry.get(query.model_id);
        const sorted = Object.entries(card.feature_importance).sort((a, b) => b[1] - a[1]);
        return {
          body: {
            model_id: card.name,
            model_version: card.version,
            feature_importance: Object.fromEntries(sorted),
            methodology: card.explainer ? EXPLANATION_METHODS[card.explainer.kind].importance : null,
            sample_size: card.training.split.validation_rows,
            created_at: card.created_at,
          },
        };
      },
    }),
  ];
}
