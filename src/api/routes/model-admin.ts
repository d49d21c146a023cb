/**
 * Seed 004's model management, for admins: a model's versions, registering a version written to
 * the models directory, activating one and rolling back to one (the same act: serve that version
 * everywhere, `activateVersion`), and A/B tests: a second version takes a share of the scorer's
 * predictions until the test is stopped or a version is activated.
 */
import { join, resolve } from "node:path";
import { ConflictError, NotFoundError, ValidationError } from "../../errors.ts";
import { abTestResults, announceActivation, latestAbTest, presentAbTest, type LoadedModel } from "../../models/index.ts";
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

const Split = z.number().int().min(1).max(99);

export function modelAdminRoutes(deps: ApiDeps): AnyRoute[] {
  const { registry } = deps;
  // every process reads the versions and tests from Postgres when told
  const announce = (name: string, version: string) => announceActivation({ bus: deps.bus, log: deps.log, subjectPrefix: deps.config.SUBJECT_PREFIX }, name, version);
  const startTest = async (name: string, versionA: string, versionB: string, split: number, userId: number) => {
    const { a, b, previous } = await registry.startAbTest(deps.db, name, versionA, versionB, split, userId);
    announce(name, a.version);
    deps.log.info({ model: name, version_a: a.version, version_b: b.version, split, previous: previous.version }, "A/B test started");
    const test = (await latestAbTest(deps.db, name))!;
    return { message: "A/B test started", ...presentAbTest(name, test), previous_version: previous.version };
  };
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
        const challenger = registry.challengerOf(params.model_name);
        const share = (version: string) => (version === challenger?.model.version ? challenger.percent : version === active ? 100 - (challenger?.percent ?? 0) : 0);
        return {
          body: {
            model_name: params.model_name,
            versions: registry.listVersions(params.model_name).map((m) => ({
              version: m.version,
              is_active: m.version === active,
              ab_test_percentage: share(m.version),
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
          ab_percentage: z
            .number()
            .int()
            .min(1)
            .max(100)
            .default(100)
            .describe("100 (default): serve the version to all traffic; less: an A/B test, this version taking that share of predictions beside the active one"),
        })
        .openapi("ActivateModelVersionByName"),
      responses: ACTIVATE_RESPONSES,
      handler: async ({ body, principal }) => {
        if (body.ab_percentage === 100) return { body: { message: "Model activated", ...(await activateVersion(deps, body.model_name, body.version, principal!.userId)) } };
        return { body: await startTest(body.model_name, registry.get(body.model_name).version, body.version, body.ab_percentage, principal!.userId) };
      },
    }),
    route({
      method: "post",
      path: "/api/admin/models/ab-test",
      summary: "Start an A/B test: version_a becomes (or stays) active, version_b takes `split` % of the scorer's predictions (seed 004)",
      tags: ["models"],
      access: ADMINS,
      body: z
        .strictObject({ model_name: ModelName, version_a: Version, version_b: Version, split: Split.describe("percent of predictions scored by version_b (1–99)") })
        .openapi("StartAbTest"),
      responses: {
        200: { description: "started; a test already running for the model ended" },
        403: ACTIVATE_RESPONSES[403],
        404: ACTIVATE_RESPONSES[404],
        409: { description: "the same version twice, a version taking different input, or files that do not load", schema: ErrorBodySchema },
      },
      handler: async ({ body, principal }) => ({ body: await startTest(body.model_name, body.version_a, body.version_b, body.split, principal!.userId) }),
    }),
    route({
      method: "get",
      path: "/api/admin/models/ab-test/{model_name}",
      summary: "A model's running A/B test (else its latest), with each version's predictions, share, scores and latency since it started",
      tags: ["models"],
      access: ADMINS,
      params: z.strictObject({ model_name: ModelName }),
      responses: { 200: { description: "the test and its results" }, 403: ACTIVATE_RESPONSES[403], 404: { description: "unknown model, or it never had an A/B test", schema: ErrorBodySchema } },
      handler: async ({ params }) => {
        registry.get(params.model_name);
        const test = await latestAbTest(deps.db, params.model_name);
        if (!test) throw new NotFoundError(`Model '${params.model_name}' has had no A/B test`, { model_name: params.model_name });
        return { body: { ...presentAbTest(params.model_name, test), results: await abTestResults(deps.db, params.model_name, test) } };
      },
    }),
    route({
      method: "delete",
      path: "/api/admin/models/ab-test/{model_name}",
      summary: "Stop a model's A/B test: its active version (A) takes every prediction again",
      tags: ["models"],
      access: ADMINS,
      params: z.strictObject({ model_name: ModelName }),
      responses: { 200: { description: "stopped, with the test's final results" }, 403: ACTIVATE_RESPONSES[403], 404: ACTIVATE_RESPONSES[404], 409: { description: "no test is running", schema: ErrorBodySchema } },
      handler: async ({ params, principal }) => {
        if (!(await registry.endAbTest(deps.db, params.model_name, principal!.userId))) {
          throw new ConflictError(`No A/B test of '${params.model_name}' is running`, { model_name: params.model_name });
        }
        announce(params.model_name, registry.get(params.model_name).version);
        const test = (await latestAbTest(deps.db, params.model_name))!;
        return { body: { message: "A/B test stopped", ...presentAbTest(params.model_name, test), results: await abTestResults(deps.db, params.model_name, test) } };
      },
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
