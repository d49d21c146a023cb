/**
 * A `LoadedModel` built from a card and ONNX bytes (or a shipped model directory), as the registry
 * builds it, so tests can drive the scorer's own path: encode → scoreWithOutputs → presentPrediction.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { loadOnnxSession, runBatch, scoreWithOutputs } from "../../src/models/onnx-runtime.ts";
import { presentPrediction, type PredictionOutput } from "../../src/models/presenters.ts";
import type { LoadedModel } from "../../src/models/registry.ts";
import { MODEL_FILE, readCard } from "../../src/training/artifacts.ts";

export async function loadedModel(card: ModelCard, onnx: Uint8Array): Promise<LoadedModel> {
  const session = await loadOnnxSession(onnx, card);
  return {
    name: card.name,
    version: card.version,
    card,
    sha256: "",
    encoder: createEncoder(card),
    explain: createExplainer(card),
    score: (flat, n) => runBatch(session, card, flat, n),
    session,
  };
}

export async function shippedModel(dir: string): Promise<LoadedModel> {
  const card = await readCard(dir);
  return loadedModel(card, new Uint8Array(await readFile(join(dir, MODEL_FILE))));
}

/** Scores feature rows as the scorer does; throws when a row does not encode. */
export async function predict(model: LoadedModel, rows: readonly Record<string, unknown>[]): Promise<{ outputs: PredictionOutput[]; warnings: (readonly string[])[] }> {
  const batch = encodeBatch(model.encoder, rows);
  if (batch.n !== rows.length) {
    const bad = batch.outcomes.flatMap((o, i) => (o.ok ? [] : [`row ${i}: ${JSON.stringify(o.errors)}`]));
    throw new Error(`rows do not encode: ${bad.join("; ")}`);
  }
  const { scores, row } = await scoreWithOutputs(model, batch.flat, batch.n);
  const outputs = rows.map((_, r) => presentPrediction(model, scores[r]!, model.explain?.(batch.flat, r * model.encoder.width) ?? null, row(r)));
  return { outputs, warnings: batch.outcomes.map((o) => (o.ok ? o.warnings : [])) };
}
