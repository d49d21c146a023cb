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
 * [N, k] output) or, for a single-column output, that column (a regression value or a score).
 */
export async function runBatch(
  session: OnnxSession,
  card: Pick<ModelCard, "encoding" | "outputs">,
  flat: Float32Array,
  n: number,
): Promise<Float32Array> {
  const width = card.encoding.columns.length;
  if (!Number.isInteger(n) || n < 0 || flat.length < n * width) {
    throw new RangeError(`runBatch: ${n} rows of ${width} need ${n * width} floats, got ${flat.length}`);
  }
  if (n === 0) return new Float32Array(0);
  const data = flat.length === n * width ? flat : flat.subarray(0, n * width);
  const input = new ort.Tensor("float32", data, [n, width]);
  const { score_output, probability_index } = card.outputs;
  const results = await session.run({ [card.encoding.input_name]: input }, [score_output]);
  const output = results[score_output];
  if (!output) throw new OnnxModelError(`model returned no output "${score_output}"`);
  const values = output.data;
  if (!(values instanceof Float32Array)) {
    throw new OnnxModelError(`output "${score_output}" is ${output.type}, expected float32`);
  }
  const columns = n === 0 ? 0 : values.length / n;
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
