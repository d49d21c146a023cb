/**
 * `npm run eval:recs`: the MovieLens 100K benchmark of the recommender algorithm. Reads the
 * hyperparameters from the shipped `recommend_retail` card (the newest version under MODELS_DIR),
 * runs ItemKNN and the popularity baseline on a seeded per-user holdout of `u1.base`, prints P@10,
 * R@10 and NDCG@10 beside the published reference numbers, and checks them against the benchmark the
 * card records (written by `npm run train recommend_retail`). Exits 1 when they differ.
 *
 * Nothing is written: the MovieLens licence forbids redistribution, so no model trained on it leaves
 * this process.
 */
import { loadConfig } from "../config.ts";
import { compareVersions } from "../models/registry.ts";
import { listModelDirs, readCard } from "./artifacts.ts";
import { loadMovielensBase } from "./datasets/movielens.ts";
import type { ItemKnnOptions } from "./recommender.ts";
import { benchmarkMovielens, MOVIELENS_REFERENCE } from "./recommender-benchmark.ts";
import { roundRanking } from "./recommender-eval.ts";

const MODEL = "recommend_retail";
const TOLERANCE = 1e-6;

async function main(): Promise<number> {
  const config = loadConfig();
  const versions = (await listModelDirs(config.MODELS_DIR)).filter((d) => d.name === MODEL).sort((a, b) => compareVersions(b.version, a.version));
  if (!versions[0]) {
    process.stderr.write(`no ${MODEL} model under ${config.MODELS_DIR}; run \`npm run train ${MODEL}\` first\n`);
    return 1;
  }
  const card = await readCard(versions[0].dir);
  const h = card.training.hyperparameters;
  if (typeof h["neighbours"] !== "number" || typeof h["shrinkage"] !== "number" || typeof h["popularity_weight"] !== "number") {
    process.stderr.write(`${versions[0].dir}: the card lacks neighbours / shrinkage / popularity_weight hyperparameters\n`);
    return 1;
  }
  const options: ItemKnnOptions = { neighbours: h["neighbours"], shrinkage: h["shrinkage"], popularityWeight: h["popularity_weight"] };
  process.stderr.write(`${MODEL} ${card.version} hyperparameters: ${JSON.stringify(options)}\n`);

  const started = performance.now();
  const { ratings, file } = await loadMovielensBase(config.DATASETS_DIR);
  const result = benchmarkMovielens(ratings, options);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  const rows = [
    ["ItemKNN (shipped hyperparameters)", result.itemknn.precision, result.itemknn.recall, result.itemknn.ndcg],
    ["popularity", result.popularity.precision, result.popularity.recall, result.popularity.ndcg],
    ["published reference: ItemKNN", MOVIELENS_REFERENCE.itemknn_precision_at_10, NaN, NaN],
    ["published reference: popularity", MOVIELENS_REFERENCE.popularity_precision_at_10, NaN, NaN],
  ] as const;
  const cell = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(4));
  const lines = [
    `MovieLens 100K ${file}: ${result.users} users, ${result.items} movies, ${result.trainInteractions} training / ${result.heldOut} held-out interactions (${seconds} s)`,
    `${"recommender".padEnd(34)}  P@10    R@10    NDCG@10`,
    ...rows.map(([name, p, r, n]) => `${name.padEnd(34)}  ${cell(p)}  ${cell(r).padEnd(6)}  ${cell(n)}`),
    `grid (P@10): ${result.grid.map((g) => `K=${g.neighbours}/s=${g.shrinkage} ${g.precision.toFixed(4)}`).join(", ")}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  const recorded = card.benchmarks?.find((b) => b.dataset.startsWith("movielens-100k"));
  if (!recorded) {
    process.stderr.write(`the ${MODEL} card records no MovieLens benchmark; run \`npm run train ${MODEL}\` with the dataset present\n`);
    return 1;
  }
  const measured = roundRanking(result.itemknn);
  const differences = Object.entries(recorded.metrics).filter(([key, value]) => Math.abs((measured[key] ?? NaN) - value) > TOLERANCE || Number.isNaN(measured[key]));
  if (differences.length > 0) {
    process.stderr.write(`differs from the card: ${differences.map(([k, v]) => `${k} card ${v} measured ${measured[k]}`).join("; ")}\n`);
    return 1;
  }
  process.stderr.write(`matches the benchmark recorded in the ${MODEL} ${card.version} card\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`eval:recs: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
