/**
 * `npm run train [model...]`: trains the named models (all registered ones without arguments) and
 * writes their artifacts under MODELS_DIR. Progress goes to stderr; the written directories to stdout.
 */
import { loadConfig } from "../config.ts";
import { writeModelArtifacts } from "./artifacts.ts";
import { findTrainer, TRAINERS } from "./registry.ts";

async function main(args: string[]): Promise<number> {
  const config = loadConfig();
  if (args.includes("--help") || args.includes("-h")) {
    process.stderr.write(`usage: npm run train [model...]\n\nmodels:\n${TRAINERS.map((t) => `  ${t.name} ${t.version}  ${t.summary}`).join("\n")}\n`);
    return 0;
  }
  const unknown = args.filter((a) => !findTrainer(a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown model(s): ${unknown.join(", ")}; known: ${TRAINERS.map((t) => t.name).join(", ")}\n`);
    return 2;
  }
  const trainers = args.length === 0 ? TRAINERS : args.map((a) => findTrainer(a)!);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const trainer of trainers) {
    const started = performance.now();
    log(`${trainer.name} ${trainer.version}: training`);
    const model = await trainer.train({ datasetsDir: config.DATASETS_DIR, log });
    const dir = await writeModelArtifacts(config.MODELS_DIR, model);
    log(`${trainer.name} ${trainer.version}: ${headline(model.card.metrics.validation)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`${dir}\n`);
  }
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
