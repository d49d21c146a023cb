/**
 * `lead_conversion` 1.0.0: will this contacted client subscribe (convert)? Gradient-boosted trees
 * on UCI Bank Marketing (bank-additional-full), without the leaking call `duration`.
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { evaluationSetFor } from "../binary-linear.ts";
import { BANK_DIR, BANK_FEATURES, BANK_FILE, BANK_LEAKING_COLUMN, loadBank } from "../datasets/bank.ts";
import { trainBinaryGbdt, type BinaryGbdtSpec } from "../gbdt/binary-recipe.ts";
import type { TrainerEntry } from "../trainer.ts";

const NAME = "lead_conversion";
const VERSION = "1.0.0";

function spec(source: string, notes: string): BinaryGbdtSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Lead conversion (bank telemarketing)",
    description:
      "Probability that a contacted lead converts (subscribes a term deposit), from the client's profile, the campaign's " +
      "contact history and the economic context at the time of the call. Gradient-boosted decision trees on UCI Bank " +
      "Marketing (bank-additional-full); the call's duration is not a feature because it is only known after the call " +
      "and leaks the outcome. `probabilities[:,1]` is P(conversion) and `threshold` (best validation F1) turns it into a " +
      "yes/no. Feature names are the dataset's columns in snake_case and categories its own strings (\"unknown\" is a " +
      "category of its own). Numeric inputs outside the training range are clipped to it (with a warning); an unknown " +
      "category is encoded as unknown (all of that feature's one-hot columns 0, with a warning); a missing optional feature " +
      "takes its training median or most frequent value (pdays 999 = never contacted before).",
    features: BANK_FEATURES,
    classLabels: ["no", "yes"],
    params: { learningRate: 0.05, maxTrees: 2000, earlyStoppingRounds: 50, subsample: 0.8, colsample: 0.8, l2: 1, seed: 20240702 },
    grid: [
      { maxDepth: 4, maxLeaves: 16, minSamplesLeaf: 50 },
      { maxDepth: 3, maxLeaves: 8, minSamplesLeaf: 50, colsample: 0.5 },
      { maxDepth: 6, maxLeaves: 31, minSamplesLeaf: 100 },
    ],
    split: { validationFraction: 0.2, seed: 20240701 },
    crossFit: { folds: 4, seed: 20240703 },
    training: { dataset: BANK_DIR, source, files: [BANK_FILE], synthetic: false, notes },
    parityRows: 50,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const leadConversion: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "lead conversion, gradient-boosted trees on UCI Bank Marketing (without duration)",
  async train({ datasetsDir, log, now }) {
    const data = await loadBank(datasetsDir);
    log(`${NAME}: read ${data.rows.length} rows from ${data.file}`);
    const notes =
      `Real data: the ${data.rows.length} rows of ${BANK_FILE} available here (sha256 ${data.sha256}); the dataset's ` +
      "organisers hold back a further 20% of the original 41,188 rows, which were never seen. " +
      `The file's "${BANK_LEAKING_COLUMN}" column is ignored (it leaks the outcome). The rows are ordered by date ` +
      "(May 2008 – Nov 2010) and the split is random, so validation rows share their months with training rows; " +
      "performance on a later period would likely be lower.";
    return trainBinaryGbdt(spec(relative(ROOT_DIR, data.sourceFile), notes), data, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card, datasetsDir) {
    if (!(await exists(join(datasetsDir, BANK_DIR, BANK_FILE)))) return undefined;
    return evaluationSetFor(card, await loadBank(datasetsDir));
  },
};
