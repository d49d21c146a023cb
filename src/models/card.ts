import { z } from "zod";

/**
 * A model card: everything needed to serve, validate and explain one model version.
 * Stored as `models/<name>/<version>/card.json` beside `model.onnx`.
 *
 * The ONNX graph takes one float tensor `[batch, encoding.columns.length]`; the card's `encoding`
 * says how features become that vector, so serving and training share one encoder.
 */
/**
 * How a `"text"` feature's string becomes terms, implemented once in `src/models/text.ts` and used
 * by training and serving alike. Every step is driven by these fields, in this order:
 *
 * 1. Unicode normalisation (`normalization`), then `lowercase` (locale-independent), then each
 *    character of `apostrophes` becomes an ASCII `'`.
 * 2. Scanning left to right, a match of `token_pattern` is a token and a match of
 *    `boundary_pattern` is a clause boundary (both compiled with the `u` flag); anything else is
 *    skipped.
 * 3. Negation (when `negation` is set): after a token in `negation.words` or ending in one of
 *    `negation.suffixes`, the next `negation.scope` tokens of the same clause get `negation.prefix`.
 * 4. Lexicon (when `lexicon` is set): every token whose un-prefixed form is in `lexicon.terms` also
 *    yields the term `lexicon.prefix + "+" + score` (or `"-"`, with the sign flipped when negated).
 * 5. N-grams of `ngram_range` over the (marked) tokens of one clause, joined by one space.
 *
 * The encoder then weighs each vocabulary term (its `term` encoding column) by `tf` × that column's
 * `idf`, and applies `norm` over the vocabulary terms present. Terms outside the vocabulary are ignored.
 */
export const TextAnalyzerSchema = z.object({
  /** the algorithm in src/models/text.ts these parameters drive; another value is refused */
  algorithm: z.literal("tidecast-text/1"),
  normalization: z.enum(["NFC", "NFKC"]),
  lowercase: z.boolean(),
  /** characters folded to ASCII apostrophe before tokenising (e.g. "’‘ʼ`") */
  apostrophes: z.string().default(""),
  /** regular expression (source, `u` flag) of one token */
  token_pattern: z.string().min(1),
  /** regular expression (source, `u` flag) of a clause boundary: ends negation scopes and n-grams */
  boundary_pattern: z.string().min(1),
  negation: z
    .object({
      words: z.array(z.string()),
      /** a token ending in one of these is a negation cue too (e.g. "n't") */
      suffixes: z.array(z.string()).default([]),
      /** how many following tokens of the clause are marked */
      scope: z.number().int().min(1),
      prefix: z.string().min(1),
    })
    .optional(),
  lexicon: z
    .object({
      name: z.string(),
      source: z.string(),
      license: z.string(),
      prefix: z.string().min(1),
      /** single-word entries: token → integer valence */
      terms: z.record(z.string(), z.number().int()),
    })
    .optional(),
  ngram_range: z.tuple([z.number().int().min(1), z.number().int().min(1)]),
  /** term frequency weight: 1 when present, the count, or 1 + ln(count) */
  tf: z.enum(["binary", "count", "log"]),
  norm: z.enum(["l2", "none"]),
  /** how the vocabulary (the `term` columns) was chosen: documentation of the training run */
  vocabulary: z.object({
    documents: z.number().int().min(0),
    min_df: z.number().int().min(1),
    max_terms: z.number().int().min(1).optional(),
    idf: z.string(),
  }),
});
export type TextAnalyzer = z.infer<typeof TextAnalyzerSchema>;

/** Longest text a `"text"` feature accepts when its spec states no `max_length` (UTF-16 code units). */
export const DEFAULT_TEXT_MAX_LENGTH = 10_000;

export const FeatureSpecSchema = z.object({
  name: z.string(),
  type: z.enum(["number", "integer", "boolean", "category", "text"]),
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
  /** type "text": longest accepted string in UTF-16 code units (default DEFAULT_TEXT_MAX_LENGTH) */
  max_length: z.number().int().positive().optional(),
  /** type "text": the tokenisation; its vocabulary is the feature's `term` encoding columns */
  analyzer: TextAnalyzerSchema.optional(),
  /**
   * type "category" only: the value is a set of categories (a JSON array of strings, e.g. the items
   * in a basket), encoded multi-hot: each listed category sets its onehot column to 1.
   */
  multiple: z.boolean().optional(),
  /**
   * Other names a request may give this feature: the dataset column's own snake_case name when the
   * feature is named otherwise (churn_telco's `contract_type` is the column `Contract`), or the
   * column names of another copy of the dataset (credit's `X1`..`X23`). A request gives one of them.
   */
  aliases: z.array(z.string()).optional(),
});
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

/**
 * A column of the model's dataset that is deliberately not a feature (an identifier, the label, a
 * column that leaks the outcome). A request may carry it, so a dataset row can be sent as it is:
 * the value is ignored and a warning says why. Any other unknown field is still a 422.
 */
export const IgnoredColumnSchema = z.object({ name: z.string(), reason: z.string() });
export type IgnoredColumn = z.infer<typeof IgnoredColumnSchema>;

export const EncodedColumnSchema = z.discriminatedUnion("kind", [
  /** the feature's numeric value (booleans as 0/1) */
  z.object({ kind: z.literal("numeric"), feature: z.string() }),
  /** 1 when the feature equals `category`, else 0 */
  z.object({ kind: z.literal("onehot"), feature: z.string(), category: z.string() }),
  /** a text feature's vocabulary term: tf(term) × `idf`, normalised over the feature's terms */
  z.object({ kind: z.literal("term"), feature: z.string(), term: z.string(), idf: z.number().positive() }),
  /** derived: `scale × a × b` (rules: see `DERIVED_COLUMN_KINDS`) */
  z.object({ kind: z.literal("product"), ...derivedFields() }),
  /** derived: `scale × (a − b)` */
  z.object({ kind: z.literal("difference"), ...derivedFields() }),
  /** derived: `scale × a / b`, and `on_zero_denominator` (default 0, not scaled) when b = 0 */
  z.object({ kind: z.literal("ratio"), ...derivedFields(), on_zero_denominator: z.number().optional() }),
]);
export type EncodedColumn = z.infer<typeof EncodedColumnSchema>;

/**
 * Derived columns: an encoded value computed from two features the caller sends, so a model can
 * use e.g. power = torque × speed while requests (and the API's schema, which is `features`) carry
 * only the raw readings. The rules, implemented once in `src/models/encode.ts`:
 *
 * - `features: [a, b]` name two `number`, `integer` or `boolean` features of the card (they may be
 *   the same feature; neither needs a column of its own). Their values are the ones the encoder
 *   writes for them: after validation, `out_of_range` clipping, imputation of a missing optional
 *   feature by its `default`, booleans as 0/1. A request the encoder rejects has no derived value.
 * - `product` is `scale × a × b`, `difference` is `scale × (a − b)`, `ratio` is `scale × a / b`,
 *   except that a ratio whose denominator b is 0 (or −0) is `on_zero_denominator` (default 0; not
 *   scaled). `scale` defaults to 1 and must not be 0.
 * - Arithmetic is float64 on the values as sent, then stored as float32 like every column; a result
 *   beyond ±3.4028235e38 (the float32 range: only possible when `out_of_range` is "accept" or the
 *   ranges are huge) is clipped to it, so a derived column is always finite.
 * - `name` is documentation (e.g. "power_w"); explanations attribute a derived column's
 *   contribution to its source features, half to each (all of it when `a` and `b` are the same).
 */
export const DERIVED_COLUMN_KINDS = ["product", "difference", "ratio"] as const;
export type DerivedColumn = Extract<EncodedColumn, { kind: (typeof DERIVED_COLUMN_KINDS)[number] }>;

function derivedFields() {
  return {
    features: z.tuple([z.string(), z.string()]),
    scale: z
      .number()
      .refine((s) => s !== 0, "scale must not be 0")
      .optional(),
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/)
      .optional(),
  };
}

export function isDerivedColumn(column: EncodedColumn): column is DerivedColumn {
  return column.kind === "product" || column.kind === "difference" || column.kind === "ratio";
}

/** The card features an encoded column is computed from: its `feature`, or a derived column's two. */
export function columnSources(column: EncodedColumn): readonly string[] {
  return isDerivedColumn(column) ? column.features : [column.feature];
}

export const MetricsSchema = z.record(z.string(), z.number());

/**
 * What serving needs to explain one prediction of a linear model without re-running training.
 * For encoded column j with value x_j, its contribution is `coefficients[j] * (x_j - column_means[j])`;
 * a feature's contribution is the sum over its columns (`encoding.columns[j].feature`; a derived
 * column's contribution is split equally between its two source features).
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

/**
 * One tree of an ensemble in flat arrays (index = node id, node 0 the root, children after their
 * parent). At an internal node (`feature[i]` ≥ 0, an encoding column) a row goes to `left[i]` when
 * its value ≤ `threshold[i]`, else to `right[i]`; a NaN goes left when `missing_left[i]` is 1
 * (absent: right). `threshold` and `value` are float32 numbers and are compared and summed as such
 * (`Math.fround`), like onnxruntime; they may be written in their shortest float32 spelling.
 * `value` is the leaf's contribution to the raw score (0 at internal nodes); `cover` is the number
 * of training rows that reached the node, which TreeSHAP weighs the branches by.
 */
export const TreeSchema = z
  .object({
    feature: z.array(z.number().int().min(-1)),
    threshold: z.array(z.number()),
    left: z.array(z.number().int().min(-1)),
    right: z.array(z.number().int().min(-1)),
    value: z.array(z.number()),
    cover: z.array(z.number().positive()),
    missing_left: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
  })
  .superRefine((tree, ctx) => {
    const n = tree.feature.length;
    for (const key of ["threshold", "left", "right", "value", "cover", "missing_left"] as const) {
      const length = tree[key]?.length ?? n;
      if (length !== n) ctx.addIssue({ code: "custom", path: [key], message: `has ${length} entries for ${n} nodes` });
    }
  });
export type TreeArrays = z.infer<typeof TreeSchema>;

/**
 * What serving needs to explain one prediction of a tree ensemble: the trees themselves, for exact
 * path-dependent TreeSHAP on the encoded row (`src/models/tree-shap.ts`). A column's Shapley value is
 * computed per encoding column; a feature's contribution is the sum over its columns, where a
 * derived column's value counts half for each of its two source features.
 * `base_value + Σ contributions` is the raw score (the logit when `link` is "logit").
 */
export const TreeExplainerSchema = z.object({
  kind: z.literal("tree"),
  link: z.enum(["logit", "identity"]),
  /** raw score before any tree (the training prior's log-odds, or the training mean) */
  base_score: z.number(),
  /** base_score + Σ over trees of the cover-weighted mean leaf value: the expected raw score */
  base_value: z.number(),
  trees: z.array(TreeSchema),
});
export type TreeExplainer = z.infer<typeof TreeExplainerSchema>;

/**
 * What serving needs to explain a weighted blend of models on the same encoded vector, whose raw
 * score is `Σ weight × member raw score`. Shapley values are linear in the model, so each column's
 * contribution is `Σ weight × the member's contribution` (a linear member's own definition, exact
 * TreeSHAP for a tree member), and `base_value = Σ weight × member base_value`.
 */
export const BlendExplainerSchema = z.object({
  kind: z.literal("blend"),
  link: z.enum(["logit", "identity"]),
  members: z.array(z.object({ weight: z.number(), explainer: z.discriminatedUnion("kind", [LinearExplainerSchema, TreeExplainerSchema]) })).min(2),
  base_value: z.number(),
});
export type BlendExplainer = z.infer<typeof BlendExplainerSchema>;

/** One member per model family that can be explained. */
export const ExplainerSchema = z.discriminatedUnion("kind", [LinearExplainerSchema, TreeExplainerSchema, BlendExplainerSchema]);
export type Explainer = z.infer<typeof ExplainerSchema>;

/** One cluster of a clustering model; `id` is the graph's segment index. */
export const SegmentSchema = z.object({
  id: z.number().int().min(0),
  name: z.string(),
  description: z.string(),
  /** the naming rule that matched the centroid */
  rule: z.string(),
  /** training rows in the segment, and their share */
  size: z.number().int(),
  share: z.number(),
  /** the centroid in feature units */
  centroid: z.record(z.string(), z.number()),
  /** extra per-segment numbers (e.g. the centroid's population percentiles) */
  scores: z.record(z.string(), z.number()).default({}),
});
export const SegmentsSchema = z.object({
  /** float [N, K] output: each row's distance to each centroid */
  distances_output: z.string(),
  /** the space distances are measured in */
  distance: z.string(),
  list: z.array(SegmentSchema),
});
export type Segments = z.infer<typeof SegmentsSchema>;

/** A recommender's item vocabulary, by output index. */
export const ItemsSchema = z.object({
  /** int64 [N, M] output: recommended item indices, best first; -1 pads when fewer are recommended */
  items_output: z.string(),
  /** float [N, M] output: the score of each recommended item */
  scores_output: z.string(),
  vocabulary: z.array(z.object({ id: z.string(), label: z.string() })),
});
export type Items = z.infer<typeof ItemsSchema>;

/** A regression's prediction interval, output by the graph as `lower_output` / `upper_output`. */
export const IntervalSchema = z.object({
  /** nominal coverage, e.g. 0.95 */
  level: z.number().gt(0).lt(1),
  method: z.string(),
  /** what the regression predicts (e.g. "sales"): the presenter's `forecasted_<target>` */
  target: z.string(),
  lower_output: z.string(),
  upper_output: z.string(),
  /** measured numbers behind the interval (residual sd, degrees of freedom, validation coverage...) */
  stats: z.record(z.string(), z.number()).default({}),
});
export type Interval = z.infer<typeof IntervalSchema>;

/** A measurement of the model's algorithm on another (public) dataset, e.g. a recommender on MovieLens. */
export const BenchmarkSchema = z.object({
  dataset: z.string(),
  protocol: z.string(),
  /** how to re-run it */
  command: z.string(),
  measured_at: z.string(),
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
  metrics: MetricsSchema,
  /** named baselines measured the same way (or quoted reference numbers) */
  baselines: z.record(z.string(), MetricsSchema).default({}),
  notes: z.string().default(""),
});
export type Benchmark = z.infer<typeof BenchmarkSchema>;

/**
 * Ranked buckets on a binary model's positive-class probability (seed 002's buckets 1–5 and tiers
 * A–E). Bucket b (1-based) holds scores with `cut_points[b − 2] ≤ score < cut_points[b − 1]`: bucket 1
 * is below the first cut, the last bucket at or above the last one. See `scoreBucket`.
 */
export const ScoreBucketsSchema = z
  .object({
    /** how the cut points were chosen, e.g. "quintiles of the validation scores" */
    method: z.string(),
    /** ascending */
    cut_points: z.array(z.number()).min(1),
    /** label per bucket, bucket 1 first (so one more than the cut points), e.g. ["E", "D", "C", "B", "A"] */
    tiers: z.array(z.string()).optional(),
    /** what each tier means, by tier label */
    tier_definitions: z.record(z.string(), z.string()).optional(),
    /** observed positive rate per bucket on the rows the cut points came from, bucket 1 first */
    positive_rate: z.array(z.number()).optional(),
  })
  .superRefine((b, ctx) => {
    for (let i = 1; i < b.cut_points.length; i++) {
      if (!(b.cut_points[i]! > b.cut_points[i - 1]!)) ctx.addIssue({ code: "custom", path: ["cut_points", i], message: "cut points must be strictly ascending" });
    }
    for (const key of ["tiers", "positive_rate"] as const) {
      const length = b[key]?.length;
      if (length !== undefined && length !== b.cut_points.length + 1) {
        ctx.addIssue({ code: "custom", path: [key], message: `has ${length} entries for ${b.cut_points.length + 1} buckets` });
      }
    }
  });
export type ScoreBuckets = z.infer<typeof ScoreBucketsSchema>;

/** The 1-based bucket of `score` and its tier (when the card names tiers). */
export function scoreBucket(buckets: ScoreBuckets, score: number): { bucket: number; tier: string | undefined } {
  let bucket = 1;
  for (const cut of buckets.cut_points) if (score >= cut) bucket++;
  return { bucket, tier: buckets.tiers?.[bucket - 1] };
}

export const ModelCardSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  version: z.string(),
  display_name: z.string(),
  description: z.string(),
  task: z.enum(["binary_classification", "multiclass_classification", "regression", "clustering", "recommendation"]),
  algorithm: z.string(),
  created_at: z.string(),
  features: z.array(FeatureSpecSchema),
  ignored_columns: z.array(IgnoredColumnSchema).optional(),
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
  /** decision threshold on the positive-class probability (how it was chosen: `training.hyperparameters.selection`, else the validation split) */
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
  /** clustering: what each segment id (the score) means */
  segments: SegmentsSchema.optional(),
  /** recommendation: which item each output index is */
  items: ItemsSchema.optional(),
  /** regression: the prediction interval the graph outputs beside the value */
  interval: IntervalSchema.optional(),
  /** the algorithm measured elsewhere (benchmarks with published reference numbers) */
  benchmarks: z.array(BenchmarkSchema).optional(),
  /** binary classification: ranked buckets (and tiers) on the positive-class probability */
  score_buckets: ScoreBucketsSchema.optional(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;
