/**
 * What every trainer produces and what the CLI needs from it. A trainer is registered by model name
 * in `registry.ts`; `cli.ts` writes its artifacts, `eval-cli.ts` re-measures them.
 */
import type { ModelCard } from "../models/card.ts";

/** Trainer input or data that cannot make a model (bad labels, undeclared categories, ...). */
export class TrainingError extends Error {
  override name = "TrainingError";
}

/** Rows as the dataset has them (strings, keyed by feature name) with 0/1 labels. */
export interface LabelledRows {
  rows: Record<string, string>[];
  labels: Uint8Array;
  /** where row `i` came from, e.g. "file.csv:57", for error messages */
  origin(i: number): string;
}

export interface ParityRow {
  /** the row's features as a JSON API caller would send them */
  features: Record<string, unknown>;
  /** the trainer's own positive-class probability for it (float64 arithmetic) */
  probability: number;
}

/** Rows the runtime must reproduce: `models/<name>/<version>/parity.json`. */
export interface ParityFile {
  model: string;
  version: string;
  description: string;
  /** largest allowed |onnxruntime − trainer| per row, times max(1, |trainer value|) */
  tolerance: number;
  rows: ParityRow[];
}

export interface TrainedModel {
  card: ModelCard;
  onnx: Uint8Array;
  parity: ParityFile;
}

export interface TrainContext {
  datasetsDir: string;
  /** one progress line (the CLI sends them to stderr) */
  log(line: string): void;
  /** the card's `created_at`; defaults to the current time */
  now?: Date;
}

/** Validation rows rebuilt from the dataset, to re-measure a shipped model. */
export interface EvaluationSet {
  features: Record<string, unknown>[];
  labels: Uint8Array;
}

export interface TrainerEntry {
  name: string;
  version: string;
  /** one line for `npm run train --help` style listings */
  summary: string;
  train(context: TrainContext): Promise<TrainedModel>;
  /**
   * The validation rows `card` was measured on, or undefined when the dataset is not on this
   * machine (a fresh clone without ../shared).
   */
  evaluationSet(card: ModelCard, datasetsDir: string): Promise<EvaluationSet | undefined>;
}
