import { z } from "zod";

/**
 * A model card: everything needed to serve, validate and explain one model version.
 * Stored as `models/<name>/<version>/card.json` beside `model.onnx`.
 *
 * The ONNX graph takes one float tensor `[batch, encoding.columns.length]`; the card's `encoding`
 * says how features become that vector, so serving and training share one encoder.
 */
export const FeatureSpecSchema = z.object({
  name: z.string(),
  type: z.enum(["number", "integer", "boolean", "category"]),
  required: z.boolean(),
  description: z.string().default(""),
  /** numeric range observed in training data; what happens outside it is `out_of_range` */
  min: z.number().optional(),
  max: z.number().optional(),
  out_of_range: z.enum(["clip", "reject", "accept"]).default("clip"),
  /** categories known to the model (type "category") */
  categories: z.array(z.string()).optional(),
  /** what an unseen category does: encode as all-zeros ("unknown") or reject with 422 */
  unknown_category: z.enum(["map_unknown", "reject"]).default("map_unknown"),
  /** value used when an optional feature is absent (training median or mode) */
  default: z.union([z.number(), z.string(), z.boolean()]).optional(),
});
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

export const EncodedColumnSchema = z.discriminatedUnion("kind", [
  /** the feature's numeric value (booleans as 0/1) */
  z.object({ kind: z.literal("numeric"), feature: z.string() }),
  /** 1 when the feature equals `category`, else 0 */
  z.object({ kind: z.literal("onehot"), feature: z.string(), category: z.string() }),
]);
export type EncodedColumn = z.infer<typeof EncodedColumnSchema>;

export const MetricsSchema = z.record(z.string(), z.number());

/**
 * What serving needs to explain one prediction of a linear model without re-running training.
 * For encoded column j with value x_j, its contribution is `coefficients[j] * (x_j - column_means[j])`;
 * a feature's contribution is the sum over its columns (`encoding.columns[j].feature`).
 * `base_value + Σ contributions` is the model's raw score (the logit when `link` is "logit").
 */
export const LinearExplainerSchema = z.object({
  kind: z.literal("linear"),
  link: z.enum(["logit", "identity"]),
  /** on the raw encoded vector (standardisation already folded in), one per encoding column */
  coefficients: z.array(z.number()),
  intercept: z.number(),
  /** mean of each encoded column over the training split */
  column_means: z.array(z.number()),
  /** intercept + Σ coefficients[j] * column_means[j]: the raw score of the average training row */
  base_value: z.number(),
});
export type LinearExplainer = z.infer<typeof LinearExplainerSchema>;

/** One member per model family that can be explained; tree explainers can join the union later. */
export const ExplainerSchema = z.discriminatedUnion("kind", [LinearExplainerSchema]);
export type Explainer = z.infer<typeof ExplainerSchema>;

export const ModelCardSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  version: z.string(),
  display_name: z.string(),
  description: z.string(),
  task: z.enum(["binary_classification", "multiclass_classification", "regression", "clustering", "recommendation"]),
  algorithm: z.string(),
  created_at: z.string(),
  features: z.array(FeatureSpecSchema),
  encoding: z.object({
    input_name: z.string(),
    columns: z.array(EncodedColumnSchema),
  }),
  /** ONNX output names; `probability_index` picks the positive-class column of a [N,2] output */
  outputs: z.object({
    score_output: z.string(),
    probability_index: z.number().int().optional(),
    labels: z.array(z.string()).optional(),
  }),
  /** decision threshold on the positive-class probability, chosen on the validation split */
  threshold: z.number().optional(),
  training: z.object({
    dataset: z.string(),
    source: z.string(),
    files: z.array(z.string()),
    rows: z.number().int(),
    synthetic: z.boolean().default(false),
    split: z.object({
      method: z.string(),
      train_rows: z.number().int(),
      validation_rows: z.number().int(),
      seed: z.number().int(),
    }),
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
    notes: z.string().default(""),
  }),
  metrics: z.object({
    validation: MetricsSchema,
    baseline: MetricsSchema.optional(),
  }),
  /** global importance: mean |contribution| per feature on the validation split */
  feature_importance: z.record(z.string(), z.number()).default({}),
  /** optional: lets serving compute per-prediction contributions (absent on cards written before it) */
  explainer: ExplainerSchema.optional(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;
