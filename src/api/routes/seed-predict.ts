/**
 * Seed 000's typed prediction routes: `POST /api/predict/churn`, `/lead-score`, `/sales-forecast`
 * and `/sentiment`. Each takes its model's features as the body (the card's schema: names,
 * aliases, types; sentiment's `{text}`) and answers seed 000's envelope `{model, model_version,
 * prediction_id, prediction, warnings, processing_time, credits_consumed}`; a route is present when
 * its model is shipped. Scored like every REST prediction (`requestPrediction`), so each is stored
 * and charged; `prediction` is presented with the card of the version that scored.
 */
import { isMetered } from "../../auth/index.ts";
import type { LoadedModel, ModelCard } from "../../models/index.ts";
import { requestPrediction, type PredictSuccess } from "../../predictions/index.ts";
import { featuresSchema } from "../card-schema.ts";
import { predictDeps, type ApiDeps } from "../deps.ts";
import { elapsedSeconds } from "../elapsed.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";
import { SENTIMENT_MODEL, sentimentBody, sentimentPrediction, SentimentPredictionSchema } from "./sentiment.ts";

export type LeadQuality = "Hot" | "Warm" | "Cold";

/**
 * Seed 000's lead quality, on the model's own decision: "Cold" below the card's threshold (not
 * predicted to convert), "Warm" at or above it, "Hot" when converting is more likely than not. So a
 * lead predicted to convert is never called cold, whatever the base rate makes the threshold.
 */
export function leadQuality(probability: number, threshold: number): LeadQuality {
  if (probability >= Math.max(0.5, threshold)) return "Hot";
  return probability >= threshold ? "Warm" : "Cold";
}

interface SeedRoute {
  path: string;
  model: string;
  summary: string;
  /** the OpenAPI names of the body and of `prediction` */
  names: { body: string; prediction: string };
  prediction: z.ZodType;
  /** the body's schema when it is not the card's features (it is still an object of features) */
  body?: (card: ModelCard) => z.ZodType<Record<string, unknown>>;
  present: (r: PredictSuccess, scoring: LoadedModel, body: Record<string, unknown>) => unknown;
}

const SEED_ROUTES: SeedRoute[] = [
  {
    path: "/api/predict/churn",
    model: "churn_telco",
    summary: "Churn probability of a telco customer (seed 000)",
    names: { body: "ChurnFeatures", prediction: "ChurnPrediction" },
    prediction: z.object({
      churn_probability: z.number(),
      risk_level: z.enum(["Low", "Medium", "High"]),
      confidence: z.number(),
      prediction: z.number(),
      key_factors: z.array(z.string()),
      retention_score: z.number(),
    }),
    present: (r) => r.output.details,
  },
  {
    path: "/api/predict/lead-score",
    model: "lead_scoring",
    summary: "Conversion score 0–100 and quality (Hot, Warm, Cold) of a lead from seed 000's seven fields",
    names: { body: "LeadScoringFeatures", prediction: "LeadScoringPrediction" },
    prediction: z.object({
      score: z.number().describe("P(convert) × 100"),
      quality: z.enum(["Hot", "Warm", "Cold"]).describe("Cold: below the model's decision threshold; Warm: at or above it; Hot: P(convert) ≥ 0.5 as well"),
      confidence: z.number().describe("probability of the predicted outcome"),
      prediction: z.number().describe("1: predicted to convert (P(convert) ≥ the card's threshold)"),
      model_version: z.string(),
      features_used: z.array(z.string()).describe("the features the request gave; the others took the card's defaults"),
    }),
    present: (r, { card }, body) => ({
      score: Math.round(r.output.score * 10_000) / 100,
      quality: leadQuality(r.output.score, card.threshold ?? 0.5),
      confidence: r.output.confidence,
      prediction: r.output.label,
      model_version: r.model_version,
      features_used: card.features.filter((f) => [f.name, ...(f.aliases ?? [])].some((name) => body[name] !== undefined)).map((f) => f.name),
    }),
  },
  {
    path: "/api/predict/sales-forecast",
    model: "sales_forecast",
    summary: "Sales forecast with a 95 % prediction interval from TV, radio and newspaper budgets (seed 000's route, the advertising model's fields)",
    names: { body: "SalesForecastFeatures", prediction: "SalesForecastPrediction" },
    prediction: z.object({
      forecasted_sales: z.number().describe("thousands of units"),
      confidence_interval: z.object({ lower: z.number(), upper: z.number(), level: z.number() }),
    }),
    present: (r) => r.output.details,
  },
  {
    path: "/api/predict/sentiment",
    model: SENTIMENT_MODEL,
    summary: "Sentiment of a text: positive, negative or neutral, with keywords (seed 000)",
    names: { body: "SentimentRequest", prediction: "SentimentPrediction" },
    prediction: SentimentPredictionSchema,
    body: sentimentBody,
    present: (r, scoring, body) => sentimentPrediction(scoring, String(body.text), r.output.score),
  },
];

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  402: { description: "no credits left", schema: ErrorBodySchema },
  422: { description: "invalid features", schema: ErrorBodySchema },
  504: { description: "not answered in time; poll the prediction id", schema: ErrorBodySchema },
};

export function seedPredictRoutes(deps: ApiDeps): AnyRoute[] {
  const predicting = predictDeps(deps);
  return SEED_ROUTES.filter((s) => deps.registry.has(s.model)).map((s) => {
    const card = deps.registry.get(s.model).card;
    const response = z
      .object({
        model: z.string(),
        model_version: z.string(),
        prediction_id: z.uuid(),
        prediction: s.prediction,
        warnings: z.array(z.string()),
        processing_time: z.number().describe("seconds"),
        credits_consumed: z.number(),
      })
      .openapi(s.names.prediction);
    return route({
      method: "post",
      path: s.path,
      summary: s.summary,
      tags: ["predictions"],
      access: "user",
      // every version of a model takes the same input (activation refuses a change), so the schema is built once
      body: (s.body?.(card) ?? (featuresSchema(card) as z.ZodType<Record<string, unknown>>)).openapi(s.names.body),
      responses: { 200: { description: "scored", schema: response }, ...errors },
      handler: async ({ body, principal }) => {
        const started = performance.now();
        const r = await requestPrediction(predicting, { model: s.model, features: body, principal: principal!, source: "sync" });
        return {
          body: {
            model: r.model,
            model_version: r.model_version,
            prediction_id: r.prediction_id,
            prediction: s.present(r, deps.registry.scoredBy(r.model, r.model_version), body),
            warnings: r.warnings,
            processing_time: elapsedSeconds(started),
            credits_consumed: isMetered(principal!) ? 1 : 0,
          },
        };
      },
    });
  });
}
