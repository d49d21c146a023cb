/**
 * onnxruntime-node, reduced to what serving needs: open a session for a model file and score a
 * packed batch of encoded rows. `session.run()` blocks the event loop while it computes, so callers
 * batch rows together instead of calling once per row.
 */
import * as ort from "onnxruntime-node";
import type { ModelCard } from "./card.ts";

export type OnnxSession = ort.InferenceSession;

export interface SessionOptions {
  /** threads inside one operator; 1 keeps a worker from competing with its siblings for cores */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
}

/** The ONNX file does not load, or does not have the inputs and outputs its card names. */
export class OnnxModelError extends Error {
  override name = "OnnxModelError";
}

/**
 * Opens an ONNX model (a file path or its bytes). When a card is given, checks that the graph has
 * the card's input and score output, so a mismatched artifact fails at load rather than per request.
 */
export async function loadOnnxSession(
  source: string | Uint8Array,
  card?: Pick<ModelCard, "encoding" | "outputs">,
  options: SessionOptions = {},
): Promise<OnnxSession> {
  let session: OnnxSession;
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: options.interOpNumThreads ?? 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  };
  const where = typeof source === "string" ? source : `<${source.byteLength} bytes>`;
  try {
    session =
      typeof source === "string"
        ? await ort.InferenceSession.create(source, sessionOptions)
        : await ort.InferenceSession.create(source, sessionOptions);
  } catch (cause) {
    throw new OnnxModelError(`cannot load ONNX model ${where}: ${(cause as Error).message}`, { cause });
  }
  if (card) {
    const { input_name } = card.encoding;
    const { score_output } = card.outputs;
    if (!session.inputNames.includes(input_name)) {
      await session.release();
      throw new OnnxModelError(`ONNX model ${where} has inputs [${session.inputNames}], card expects "${input_name}"`);
    }
    if (!session.outputNames.includes(score_output)) {
      await session.release();
      throw new OnnxModelError(`ONNX model ${where} has outputs [${session.outputNames}], card expects "${score_output}"`);
    }
  }
  return session;
}

/**
 * Scores `n` encoded rows packed row-major in `flat` (as `encodeBatch` produces them) and returns
 * one number per row: the positive-class probability (column `outputs.probability_index` of a
 * [N, k] output) or, for a single-column output, that column (a regression value, a score, or an
 * integer output such as a segment id, converted to float).
 */
export async function runBatch(
  session: OnnxSession,
  card: Pick<ModelCard, "encoding" | "outputs">,
  flat: Float32Array,
  n: number,
): Promise<Float32Array> {
  checkInput(card, flat, n);
  if (n === 0) return new Float32Array(0);
  const results = await session.run(feeds(card, flat, n), [card.outputs.score_output]);
  return scoreColumn(card, results, n);
}

/** One row's value of every graph output, as plain numbers (int64 outputs converted). */
export type RowOutputs = Readonly<Record<string, readonly number[]>>;

export interface BatchOutputs {
  /** one number per row, exactly what `runBatch` returns */
  scores: Float32Array;
  /** every output's values for row `r` (its slice of each [N, ...] output) */
  row(r: number): RowOutputs;
}

/**
 * Like `runBatch`, but computes every output of the graph in the same run, for models whose
 * presentation needs more than the score: a clustering's distances to each centroid, a
 * recommender's items, a regression's interval.
 */
export async function runBatchOutputs(
  session: OnnxSession,
  card: Pick<ModelCard, "encoding" | "outputs">,
  flat: Float32Array,
  n: number,
): Promise<BatchOutputs> {
  checkInput(card, flat, n);
  if (n === 0) return { scores: new Float32Array(0), row: () => ({}) };
  const results = await session.run(feeds(card, flat, n), [...session.outputNames]);
  const scores = scoreColumn(card, results, n);
  const columns = session.outputNames.map((name) => {
    const values = numbers(name, results[name]);
    const width = values.length / n;
    if (!Number.isInteger(width)) throw new OnnxModelError(`output "${name}" has ${values.length} values for ${n} rows`);
    return { name, values, width };
  });
  return {
    scores,
    row(r) {
      if (!(Number.isInteger(r) && r >= 0 && r < n)) throw new RangeError(`row ${r} of ${n}`);
      const out: Record<string, number[]> = {};
      for (const c of columns) out[c.name] = Array.from(c.values.subarray(r * c.width, (r + 1) * c.width), Number);
      return out;
    },
  };
}

/** What `scoreWithOutputs` needs of a loaded model (a `LoadedModel` fits). */
export interface ScorableModel {
  card: Pick<ModelCard, "encoding" | "outputs" | "segments" | "items" | "interval">;
  session: OnnxSession;
  score(flat: Float32Array, n: number): Promise<Float32Array>;
}

/**
 * The scorer's one call per batch: the scores, and each row's outputs when the card names outputs
 * beyond the score (a clustering's `segments`, a recommender's `items`, a regression's `interval`).
 * Other models are scored exactly as before through `model.score`, and `row(r)` is undefined.
 */
export async function scoreWithOutputs(
  model: ScorableModel,
  flat: Float32Array,
  n: number,
): Promise<{ scores: Float32Array; row(r: number): RowOutputs | undefined }> {
  const { segments, items, interval } = model.card;
  if (!segments && !items && !interval) {
    const scores = await model.score(flat, n);
    return { scores, row: () => undefined };
  }
  return runBatchOutputs(model.session, model.card, flat, n);
}

function checkInput(card: Pick<ModelCard, "encoding">, flat: Float32Array, n: number): number {
  const width = card.encoding.columns.length;
  if (!Number.isInteger(n) || n < 0 || flat.length < n * width) {
    throw new RangeError(`runBatch: ${n} rows of ${width} need ${n * width} floats, got ${flat.length}`);
  }
  return width;
}

function feeds(card: Pick<ModelCard, "encoding">, flat: Float32Array, n: number): Record<string, ort.Tensor> {
  const width = checkInput(card, flat, n);
  const data = flat.length === n * width ? flat : flat.subarray(0, n * width);
  return { [card.encoding.input_name]: new ort.Tensor("float32", data, [n, width]) };
}

/** An output's values as a typed array of numbers: float32 as is, integer and boolean tensors converted. */
function numbers(name: string, output: ort.Tensor | undefined): Float32Array | Float64Array {
  if (!output) throw new OnnxModelError(`model returned no output "${name}"`);
  const values = output.data;
  if (values instanceof Float32Array || values instanceof Float64Array) return values;
  if (values instanceof BigInt64Array) return Float64Array.from(values, Number);
  if (values instanceof Int32Array || values instanceof Uint8Array) return Float64Array.from(values);
  throw new OnnxModelError(`output "${name}" is ${output.type}, expected a numeric tensor`);
}

function scoreColumn(card: Pick<ModelCard, "outputs">, results: ort.InferenceSession.ReturnType, n: number): Float32Array {
  const { score_output, probability_index } = card.outputs;
  const raw = numbers(score_output, results[score_output]);
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw);
  const columns = values.length / n;
  if (!Number.isInteger(columns) || columns < 1) {
    throw new OnnxModelError(`output "${score_output}" has ${values.length} values for ${n} rows`);
  }
  if (columns === 1) return values;
  const index = probability_index ?? -1;
  if (index < 0 || index >= columns) {
    throw new OnnxModelError(`output "${score_output}" has ${columns} columns; card.outputs.probability_index is ${probability_index}`);
  }
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) scores[i] = values[i * columns + index]!;
  return scores;
}
