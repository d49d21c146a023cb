/**
 * Seed 001's explainability routes. `POST /api/v1/explain` gives every feature's exact contribution
 * to one prediction: a stored one by `prediction_id`, or new features, which are first scored like
 * any prediction (through the stream, stored and charged). The contributions are computed here
 * from the card of the version that scored, on the stored input, so they are the ones the scorer
 * would give: `base_value + Σ contributions` is the raw score (the logit of a probability).
 * `GET /api/v1/explain/methods` lists the methods and the models that use each.
 */
import type { Principal } from "../../auth/index.ts";
import { ConflictError, ValidationError } from "../../errors.ts";
import { EXPLANATION_METHODS, type LoadedModel } from "../../models/index.ts";
import { getPrediction, requestPrediction } from "../../predictions/index.ts";
import { predictDeps, type ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const ExplainBody = z
  .union([
    z.strictObject({ prediction_id: z.uuid().describe("a completed prediction of yours") }),
    z.strictObject({
      model_id: z.string().min(1).max(100),
      features: z.record(z.string(), z.unknown()).describe("as in POST /api/v1/predict: the features are scored first, stored and charged"),
    }),
  ], { error: () => "send either {prediction_id} or {model_id, features}" })
  .openapi("ExplainRequest");

const ExplanationSchema = z
  .object({
    prediction_id: z.uuid(),
    model_id: z.string(),
    model_version: z.string(),
    method: z.string(),
    link: z.enum(["logit", "identity"]).describe("logit: the raw score is the log-odds of `score`; identity: it is `score`"),
    score: z.number(),
    base_value: z.number().describe("the raw score of the average training row"),
    raw_score: z.number().describe("base_value + Σ contributions"),
    contributions: z.array(z.object({ feature: z.string(), contribution: z.number() })).describe("every feature, largest |contribution| first"),
    feature_importance: z.record(z.string(), z.number()).describe("the same contributions by feature name"),
  })
  .openapi("Explanation");

const METHOD_DESCRIPTIONS: Record<keyof typeof EXPLANATION_METHODS, string> = {
  linear: "coefficient × (value − training mean), summed over a feature's encoded columns; exact for linear models",
  tree: "path-dependent TreeSHAP on the encoded row: exact Shapley values of the tree ensemble",
  blend: "the weighted sum of the members' contributions (linear and TreeSHAP), exact for the blend since Shapley values are linear",
};

export function explainRoutes(deps: ApiDeps): AnyRoute[] {
  const predicting = predictDeps(deps);

  /** the prediction to explain: a stored one, or the features scored now */
  async function prediction(body: z.infer<typeof ExplainBody>, principal: Principal) {
    if ("prediction_id" in body) {
      const stored = await getPrediction(deps.db, body.prediction_id, principal);
      if (stored.status !== "completed" || stored.score === null) {
        throw new ConflictError(`Prediction '${stored.prediction_id}' is ${stored.status}; only a completed prediction can be explained`, { status: stored.status });
      }
      return { id: stored.prediction_id, model: stored.model_id, version: stored.model_version, features: stored.input, score: stored.score };
    }
    explainable(deps.registry.get(body.model_id));
    const r = await requestPrediction(predicting, { model: body.model_id, features: body.features, principal, source: "sync" });
    return { id: r.prediction_id, model: r.model, version: r.model_version, features: body.features, score: r.output.score };
  }

  return [
    route({
      method: "post",
      path: "/api/v1/explain",
      summary: "Every feature's exact contribution to a prediction (seed 001)",
      tags: ["models"],
      access: "user",
      body: ExplainBody,
      responses: {
        200: { description: "the explanation", schema: ExplanationSchema },
        401: { description: "unauthenticated", schema: ErrorBodySchema },
        404: { description: "no such prediction of yours, or unknown model", schema: ErrorBodySchema },
        409: { description: "the prediction is pending or failed", schema: ErrorBodySchema },
        422: { description: "invalid features, or a model without an explainer", schema: ErrorBodySchema },
      },
      handler: async ({ body, principal }) => {
        const p = await prediction(body, principal!);
        const model = explainable(await deps.registry.ensureLoaded(p.model, p.version));
        const encoded = model.encoder(p.features);
        // a stored input was valid for this version when it was scored, and the card cannot change since
        if (!encoded.ok) throw new ValidationError("The prediction's input no longer encodes", encoded.errors);
        const contributions = model.explain(encoded.vector, 0);
        const explainer = model.card.explainer!;
        const raw = explainer.base_value + contributions.reduce((sum, c) => sum + c.contribution, 0);
        return {
          body: {
            prediction_id: p.id,
            model_id: model.name,
            model_version: model.version,
            method: EXPLANATION_METHODS[explainer.kind].prediction,
            link: explainer.link,
            score: p.score,
            base_value: round(explainer.base_value),
            raw_score: round(raw),
            contributions: contributions.map((c) => ({ feature: c.feature, contribution: round(c.contribution) })),
            feature_importance: Object.fromEntries(contributions.map((c) => [c.feature, round(c.contribution)])),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/explain/methods",
      summary: "The explanation methods, and the served models that use each (seed 001)",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "methods" }, 401: { description: "unauthenticated", schema: ErrorBodySchema } },
      handler: () => {
        const active = deps.registry.listActive();
        return {
          body: {
            methods: (Object.keys(EXPLANATION_METHODS) as Array<keyof typeof EXPLANATION_METHODS>).map((kind) => ({
              method: EXPLANATION_METHODS[kind].prediction,
              importance_method: EXPLANATION_METHODS[kind].importance,
              description: METHOD_DESCRIPTIONS[kind],
              models: active.filter((m) => m.card.explainer?.kind === kind).map((m) => m.name),
            })),
            unexplained_models: active.filter((m) => !m.card.explainer).map((m) => m.name),
          },
        };
      },
    }),
  ];
}

function explainable(model: LoadedModel): LoadedModel & { explain: NonNullable<LoadedModel["explain"]> } {
  if (!model.explain) throw new ValidationError(`Model '${model.name}' has no explainer (a ${model.card.task} model)`, { model_id: [`${model.name} cannot be explained`] });
  return model as LoadedModel & { explain: NonNullable<LoadedModel["explain"]> };
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;
