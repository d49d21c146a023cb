/**
 * The first steps every binary-classification recipe shares (logistic, boosted trees, their blend):
 * seeded stratified split → feature ranges and defaults from the training rows → the serving encoder
 * → the training and validation rows encoded by it. Training rows must encode cleanly; validation
 * rows may be clipped or hold unknown categories, as a caller's would, and are counted.
 */
import type { DerivedColumn, FeatureSpec, IgnoredColumn, ModelCard } from "../models/card.ts";
import { coerceStringRow, createEncoder, type Encoder } from "../models/encode.ts";
import { buildEncoding, describeFeatures, draftFeatureSpecs, encodeTrainingRows, type DeclaredFeature, type EncodedRows } from "./features.ts";
import type { BinaryMetrics } from "./metrics.ts";
import { stratifiedSplit, type Split } from "./split.ts";
import { TrainingError, type LabelledRows } from "./trainer.ts";

export interface BinaryDataSpec {
  name: string;
  features: DeclaredFeature[];
  /** the dataset's columns that a request may carry and the model ignores (card.ts IgnoredColumn) */
  ignoredColumns?: IgnoredColumn[];
  /** encoded columns computed from the features (after their own columns); none by default */
  derived?: DerivedColumn[];
  split: { validationFraction: number; seed: number };
}

export interface BinaryData {
  split: Split;
  /** every row coerced by the declared feature types, as a JSON caller would send it */
  typed: Record<string, unknown>[];
  features: FeatureSpec[];
  encoding: ModelCard["encoding"];
  encoder: Encoder;
  train: EncodedRows;
  validation: EncodedRows;
  trainY: Uint8Array;
  validationY: Uint8Array;
}

export function prepareBinaryData(spec: BinaryDataSpec, data: LabelledRows, inputName: string, log: (line: string) => void): BinaryData {
  if (data.rows.length !== data.labels.length) throw new TrainingError(`${data.rows.length} rows but ${data.labels.length} labels`);
  const split = stratifiedSplit(data.labels, spec.split.validationFraction, spec.split.seed);
  log(`${spec.name}: ${data.rows.length} rows → ${split.train.length} train / ${split.validation.length} validation (seed ${spec.split.seed})`);

  const draft = { features: draftFeatureSpecs(spec.features) };
  const typed = data.rows.map((row) => coerceStringRow(draft, row));
  let features;
  try {
    features = describeFeatures(spec.features, split.train.map((i) => typed[i]!));
  } catch (cause) {
    throw new TrainingError(`${spec.name}: ${(cause as Error).message}`, { cause });
  }
  const encoding = buildEncoding(features, inputName, spec.derived ?? []);
  const encoder = createEncoder({ features, encoding });
  const train = encodeTrainingRows(encoder, typed, split.train, data, "training", true);
  const validation = encodeTrainingRows(encoder, typed, split.validation, data, "validation", false);
  log(`${spec.name}: encoded ${encoder.width} columns; ${validation.warnings} validation values clipped or unknown`);
  return { split, typed, features, encoding, encoder, train, validation, trainY: pick(data.labels, split.train), validationY: pick(data.labels, split.validation) };
}

/** How a recipe reports progress, and the card's `created_at` (the current time by default). */
export interface TrainOptions {
  log?: (line: string) => void;
  now?: Date;
}

export interface BinaryCardSpec extends BinaryDataSpec {
  version: string;
  displayName: string;
  description: string;
  /** names of label 0 and label 1 */
  classLabels: [string, string];
  training: { dataset: string; source: string; files: string[]; synthetic: boolean; notes: string };
}

/**
 * The card fields every binary recipe fills alike: identity, request schema, outputs, threshold and
 * where the rows came from; each recipe adds its hyperparameters, notes, metrics and explainer.
 */
export function binaryCardBase(
  spec: BinaryCardSpec,
  prepared: Pick<BinaryData, "split" | "features" | "encoding">,
  card: { algorithm: string; outputName: string; threshold: number; rows: number; now: Date | undefined },
) {
  return {
    name: spec.name,
    version: spec.version,
    display_name: spec.displayName,
    description: spec.description,
    task: "binary_classification" as const,
    algorithm: card.algorithm,
    created_at: (card.now ?? new Date()).toISOString(),
    features: prepared.features,
    ...(spec.ignoredColumns ? { ignored_columns: spec.ignoredColumns } : {}),
    encoding: prepared.encoding,
    outputs: { score_output: card.outputName, probability_index: 1, labels: spec.classLabels },
    threshold: card.threshold,
    training: {
      dataset: spec.training.dataset,
      source: spec.training.source,
      files: spec.training.files,
      rows: card.rows,
      synthetic: spec.training.synthetic,
      split: {
        method: `stratified by label, ${Math.round(spec.split.validationFraction * 100)}% validation, mulberry32 shuffle`,
        train_rows: prepared.split.train.length,
        validation_rows: prepared.split.validation.length,
        seed: spec.split.seed,
      },
    },
  };
}

/** Metric values in the card are rounded to this many decimals (the threshold is kept exact). */
export const round = (x: number, decimals = 6): number => Number(x.toFixed(decimals));

/** A binary model's metrics as the card stores them. */
export function roundMetrics(m: BinaryMetrics): Record<string, number> {
  return {
    auc: round(m.auc),
    accuracy: round(m.accuracy),
    precision: round(m.precision),
    recall: round(m.recall),
    f1: round(m.f1),
    log_loss: round(m.log_loss),
    brier: round(m.brier),
    threshold: m.threshold,
    positive_rate: round(m.positive_rate),
    rows: m.rows,
  };
}

export function pick(labels: Uint8Array, indices: readonly number[]): Uint8Array {
  const out = new Uint8Array(indices.length);
  indices.forEach((index, k) => (out[k] = labels[index]!));
  return out;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Mean and sample standard deviation, as the cards report cross-validated fold AUCs. */
export function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  const m = mean(values);
  return { mean: m, sd: Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, values.length - 1)) };
}
