/**
 * `npm run eval`: a metrics table of every shipped model. For each card under MODELS_DIR it loads
 * the ONNX file with onnxruntime, replays parity.json, and — when the model's dataset is on this
 * machine — rebuilds the validation rows from the card's seed, scores them through the serving
 * encoder and onnxruntime, and recomputes the metrics at the card's threshold. Exits 1 when the
 * runtime disagrees with the trainer (parity) or with the card's own metrics.
 */
import { loadConfig } from "../config.ts";
import type { ModelCard } from "../models/card.ts";
import { createEncoder, encodeBatch } from "../models/encode.ts";
import { loadOnnxSession, runBatch, type OnnxSession } from "../models/onnx-runtime.ts";
import { listModelDirs, MODEL_FILE, readCard, readParity } from "./artifacts.ts";
import { binaryMetrics } from "./metrics.ts";
import { findTrainer } from "./registry.ts";
import { join } from "node:path";

/** metrics re-measured through onnxruntime may differ from the float64 trainer by float32 rounding */
const METRIC_TOLERANCE = 1e-4;
const COLUMNS = ["auc", "accuracy", "precision", "recall", "f1", "log_loss", "threshold"] as const;

interface Row {
  model: string;
  source: string;
  rows: string;
  metrics: Record<string, number> | undefined;
  parity: string;
  cardDelta: string;
  ok: boolean;
}

async function parityCheck(session: OnnxSession, card: ModelCard, dir: string): Promise<{ text: string; ok: boolean }> {
  let parity;
  try {
    parity = await readParity(dir);
  } catch {
    return { text: "no parity.json", ok: false };
  }
  const encoder = createEncoder(card);
  const batch = encodeBatch(encoder, parity.rows.map((r) => r.features));
  if (batch.n !== parity.rows.length) return { text: `${parity.rows.length - batch.n} rows do not encode`, ok: false };
  const scores = await runBatch(session, card, batch.flat, batch.n);
  // the tolerance is absolute up to 1 and relative above (a forecast in units is float32 in the graph)
  let worst = 0;
  let worstScaled = 0;
  parity.rows.forEach((r, i) => {
    const delta = Math.abs(scores[i]! - r.probability);
    worst = Math.max(worst, delta);
    worstScaled = Math.max(worstScaled, delta / Math.max(1, Math.abs(r.probability)));
  });
  const scaled = worstScaled < worst ? `, relative ${worstScaled.toExponential(1)}` : "";
  return { text: `${parity.rows.length} rows, max |Δ| ${worst.toExponential(1)}${scaled}`, ok: worstScaled <= parity.tolerance };
}

async function evaluate(dir: string, datasetsDir: string): Promise<Row> {
  const card = await readCard(dir);
  const label = `${card.name} ${card.version}`;
  const session = await loadOnnxSession(join(dir, MODEL_FILE), card);
  try {
    const parity = await parityCheck(session, card, dir);
    const base = { model: label, parity: parity.text };
    const trainer = findTrainer(card.name);
    const set = card.task === "binary_classification" && trainer ? await trainer.evaluationSet(card, datasetsDir) : undefined;
    if (!set) {
      // re-measuring covers binary classifiers; other tasks show their card's measured metrics
      const why = !trainer ? "no trainer" : card.task !== "binary_classification" ? `${card.task}: card metrics` : "dataset absent";
      return { ...base, source: `card (${why})`, rows: String(card.metrics.validation["rows"] ?? "?"), metrics: card.metrics.validation, cardDelta: "-", ok: parity.ok };
    }
    const encoder = createEncoder(card);
    const batch = encodeBatch(encoder, set.features);
    if (batch.n !== set.features.length) throw new Error(`${label}: ${set.features.length - batch.n} validation rows do not encode`);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    const measured = binaryMetrics(set.labels, scores, card.threshold ?? 0.5);
    const metrics: Record<string, number> = { ...measured };
    let delta = 0;
    for (const key of COLUMNS) {
      const stated = card.metrics.validation[key];
      if (stated !== undefined) delta = Math.max(delta, Math.abs(stated - metrics[key]!));
    }
    return {
      ...base,
      source: "onnxruntime",
      rows: String(set.features.length),
      metrics,
      cardDelta: delta.toExponential(1),
      ok: parity.ok && delta <= METRIC_TOLERANCE && set.features.length === card.training.split.validation_rows,
    };
  } finally {
    await session.release();
  }
}

function table(rows: Row[]): string {
  const header = ["model", "measured by", "rows", ...COLUMNS, "vs card", "parity", "status"];
  const lines = rows.map((r) => [
    r.model,
    r.source,
    r.rows,
    ...COLUMNS.map((c) => (r.metrics?.[c] === undefined ? "-" : r.metrics[c].toFixed(4))),
    r.cardDelta,
    r.parity,
    r.ok ? "ok" : "FAIL",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [format(header), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)].join("\n");
}

async function main(): Promise<number> {
  const config = loadConfig();
  const dirs = await listModelDirs(config.MODELS_DIR);
  if (dirs.length === 0) {
    process.stderr.write(`no models under ${config.MODELS_DIR}\n`);
    return 1;
  }
  const rows: Row[] = [];
  for (const { dir } of dirs) {
    process.stderr.write(`evaluating ${dir}\n`);
    rows.push(await evaluate(dir, config.DATASETS_DIR));
  }
  process.stdout.write(`${table(rows)}\n`);
  return rows.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`eval: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
