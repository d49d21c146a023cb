/**
 * `npm run train [model...] [-- --workers N]`: trains the named models (all registered ones without
 * arguments) and writes their artifacts under MODELS_DIR. Progress goes to stderr, a line per step
 * named by its model; the written directories go to stdout.
 *
 * Several models train in child processes, one per core by default (`--workers`): each trainer is
 * single-threaded and deterministic on its own, so running them side by side changes no artifact,
 * only the wall time. One model, or `--workers 1`, trains in this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig, type Config } from "../config.ts";
import { writeModelArtifacts } from "./artifacts.ts";
import { findTrainer, TRAINERS } from "./registry.ts";
import type { TrainerEntry } from "./trainer.ts";

const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`;

async function main(argv: string[]): Promise<number> {
  const { values: options, positionals: refs } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { workers: { type: "string", default: String(availableParallelism()) }, help: { type: "boolean", short: "h" } },
  });
  if (options.help) {
    process.stderr.write(
      `usage: npm run train [model[@version]...] [-- --workers N]\n\nmodels:\n${TRAINERS.map((t) => `  ${t.name} ${t.version}  ${t.summary}`).join("\n")}\n`,
    );
    return 0;
  }
  const workers = Number(options.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    log(`--workers must be a positive integer, got ${options.workers}`);
    return 2;
  }
  const unknown = refs.filter((a) => !findTrainer(a));
  if (unknown.length > 0) {
    log(`unknown model(s): ${unknown.join(", ")}; known: ${TRAINERS.map((t) => t.name).join(", ")}`);
    return 2;
  }
  const trainers = refs.length === 0 ? TRAINERS : refs.map((a) => findTrainer(a)!);
  if (trainers.length === 1 || workers === 1) {
    const config = loadConfig();
    for (const trainer of trainers) await trainHere(trainer, config);
    return 0;
  }
  return trainInChildren(trainers, Math.min(workers, trainers.length));
}

async function trainHere(trainer: TrainerEntry, config: Config): Promise<void> {
  const started = performance.now();
  log(`${trainer.name} ${trainer.version}: training`);
  const model = await trainer.train({ datasetsDir: config.DATASETS_DIR, log });
  const dir = await writeModelArtifacts(config.MODELS_DIR, model);
  log(`${trainer.name} ${trainer.version}: ${headline(model.card.metrics.validation)} in ${seconds(started)}`);
  process.stdout.write(`${dir}\n`);
}

/**
 * Trains each model in a child process running this CLI for that one model, `workers` at a time.
 * After a failure no new model starts; the running ones finish, and the exit code is 1.
 */
async function trainInChildren(trainers: readonly TrainerEntry[], workers: number): Promise<number> {
  const started = performance.now();
  log(`training ${trainers.length} models, ${workers} at a time`);
  const queue = [...trainers];
  const failed: string[] = [];
  const running = new Set<ChildProcess>();
  // a SIGTERM stops the children too, and nothing new starts
  const stop = (signal: NodeJS.Signals) => {
    queue.length = 0;
    failed.push(`stopped by ${signal}`);
    for (const child of running) child.kill(signal);
  };
  process.once("SIGTERM", stop).once("SIGINT", stop);
  const cli = fileURLToPath(import.meta.url);
  const worker = async () => {
    for (let trainer = queue.shift(); trainer && failed.length === 0; trainer = queue.shift()) {
      const ref = `${trainer.name}@${trainer.version}`;
      const child = spawn(process.execPath, [...process.execArgv, cli, ref, "--workers", "1"], { stdio: ["ignore", "inherit", "inherit"] });
      running.add(child);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      running.delete(child);
      if (code !== 0) failed.push(ref);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  process.off("SIGTERM", stop).off("SIGINT", stop);
  if (failed.length > 0) {
    log(`train: failed: ${failed.join(", ")} (after ${seconds(started)})`);
    return 1;
  }
  log(`trained ${trainers.length} models in ${seconds(started)}`);
  return 0;
}

/** AUC and F1 for a classifier; otherwise the card's first three validation metrics (RMSE, P@10, silhouette, ...). */
function headline(validation: Record<string, number>): string {
  const keys = "auc" in validation ? ["auc", "f1"] : Object.keys(validation).slice(0, 3);
  return keys.map((k) => `${k} ${Number.isInteger(validation[k]) ? validation[k] : validation[k]!.toFixed(4)}`).join(", ");
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`train: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
