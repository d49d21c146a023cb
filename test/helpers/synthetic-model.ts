import assert from "node:assert/strict";
import type { ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE } from "../../src/training/artifacts.ts";
import { binaryMetrics } from "../../src/training/metrics.ts";
import type { TrainerEntry } from "../../src/training/trainer.ts";

/** onnxruntime scores the parity rows (features → the trainer's probability) within `tolerance`. */
export async function assertOnnxParity(card: ModelCard, onnx: string | Uint8Array, rows: { features: Record<string, unknown>; probability: number }[], tolerance: number): Promise<void> {
  const session = await loadOnnxSession(onnx, card);
  const batch = encodeBatch(createEncoder(card), rows.map((r) => r.features));
  assert.equal(batch.n, rows.length, "every parity row encodes");
  const scores = await runBatch(session, card, batch.flat, batch.n);
  await session.release();
  rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= tolerance, `row ${i}: ${scores[i]} vs ${row.probability}`));
}

/**
 * A model trained on generated rows can always be checked again: its trainer regenerates the
 * validation rows from the card's generator seed (no dataset needed), and the shipped ONNX file
 * scores them to the card's own validation metrics.
 */
export async function assertRegeneratesCardMetrics(trainer: TrainerEntry, card: ModelCard, dir: string): Promise<void> {
  const set = await trainer.evaluationSet(card, "/nonexistent");
  assert.ok(set, "generated data is always available");
  assert.equal(set.labels.length, card.training.split.validation_rows);
  const session = await loadOnnxSession(`${dir}/${MODEL_FILE}`, card);
  const batch = encodeBatch(createEncoder(card), set.features);
  const scores = await runBatch(session, card, batch.flat, batch.n);
  await session.release();
  const measured = binaryMetrics(set.labels, scores, card.threshold!);
  for (const key of ["auc", "accuracy", "f1"] as const) assert.ok(Math.abs(measured[key] - card.metrics.validation[key]!) < 1e-4, key);
}
