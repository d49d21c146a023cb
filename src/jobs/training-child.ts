/**
 * The child process of one training job (forked by training-runner.ts): runs the trainer, writes
 * the version directory, and reports over IPC. Entry point only; nothing imports it.
 */
import { rmSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { findTrainer, modelDir, writeModelArtifacts, type TrainedModel } from "../training/index.ts";
import type { ChildMessage, TrainingRequest, TrainingResult } from "./training-runner.ts";

/** A version directory this process created and has not finished: removed if it exits early. */
let claimed: string | null = null;

process.on("exit", () => {
  if (claimed) rmSync(claimed, { recursive: true, force: true });
});
// the default SIGTERM action skips the exit handler above
process.on("SIGTERM", () => process.exit(143));
// the jobs process is gone: nobody is left to report to, and its job will be run again elsewhere
const orphaned = () => process.exit(1);
process.on("disconnect", orphaned);

process.once("message", (request) => {
  train(request as TrainingRequest).then(
    (result) => finish({ kind: "done", result }, 0),
    (err: unknown) => finish({ kind: "failed", error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, 1),
  );
});

function send(message: ChildMessage): void {
  process.send!(message);
}

function finish(message: ChildMessage, code: number): void {
  process.off("disconnect", orphaned);
  process.send!(message, () => process.exit(code));
}

class VersionExistsError extends Error {
  override name = "VersionExistsError";
  constructor(dir: string) {
    super(`${dir} exists already; a trained version never replaces one`);
  }
}

async function train(request: TrainingRequest): Promise<TrainingResult> {
  const trainer = findTrainer(request.trainer);
  if (!trainer) throw new Error(`no trainer for ${request.trainer}`);
  const dir = modelDir(request.modelsDir, trainer.name, request.version);
  // checked before minutes of training, and claimed (atomically) before writing
  if (await stat(dir).then(() => true, () => false)) throw new VersionExistsError(dir);
  const started = performance.now();
  const trained = await trainer.train({ datasetsDir: request.datasetsDir, log: (line) => send({ kind: "log", line }) });
  send({ kind: "writing" });
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new VersionExistsError(dir);
    throw err;
  }
  claimed = dir;
  await writeModelArtifacts(request.modelsDir, asVersion(trained, request.version, trainer.version));
  claimed = null;
  return {
    model: trainer.name,
    version: request.version,
    model_dir: dir,
    trainer: `${trainer.name} ${trainer.version}`,
    metrics: trained.card.metrics.validation,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** The trainer's model under the job's version number; the card's notes keep the recipe's own. */
function asVersion(model: TrainedModel, version: string, recipe: string): TrainedModel {
  if (version === recipe) return model;
  const { card, parity } = model;
  const provenance = `Trained by a training job with the ${card.name} ${recipe} recipe.`;
  return {
    ...model,
    card: { ...card, version, training: { ...card.training, notes: card.training.notes ? `${card.training.notes} ${provenance}` : provenance } },
    parity: { ...parity, version },
  };
}
