/**
 * `churn_telco` 2.0.0: will this telecom customer churn? Gradient-boosted trees on the IBM Telco
 * Customer Churn sample, with exactly the features (names, types, categories) of 1.0.0, which the
 * API serves, and the same seeded validation split, so the two versions compare like for like.
 *
 * Not in `registry.ts`, so `npm run train` does not ship it: 2.0.0 ships only if its validation AUC
 * beats 1.0.0's 0.846055 on that split, and it does not (0.845996; out-of-fold AUC on the training
 * rows 0.8522 against logistic regression's 0.8440 on the same folds — a tie within noise on 1,127
 * validation rows). Registering it would also need `findTrainer` to tell two versions of one name apart.
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { evaluationSetFor } from "../binary-linear.ts";
import { loadTelco, TELCO_DIR, TELCO_FEATURES, TELCO_FILE } from "../datasets/telco.ts";
import { trainBinaryGbdt, type BinaryGbdtSpec } from "../gbdt/binary-recipe.ts";
import type { TrainerEntry } from "../trainer.ts";

const NAME = "churn_telco";
const VERSION = "2.0.0";

function spec(source: string, notes: string): BinaryGbdtSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Telco customer churn",
    description:
      "Probability that a telecom customer churns (leaves), from contract, billing, tenure and subscribed services. " +
      "Gradient-boosted decision trees on the IBM Telco Customer Churn sample (same features and validation split as " +
      "1.0.0); `probabilities[:,1]` is P(churn) and `threshold` (best validation F1) turns it into a yes/no. Numeric " +
      "inputs outside the range seen in training are clipped to that range (with a warning); an unknown category value " +
      "is encoded as unknown (all of that feature's one-hot columns 0, with a warning); a missing optional feature takes " +
      "its training median or most frequent value.",
    features: TELCO_FEATURES,
    classLabels: ["No", "Yes"],
    params: { learningRate: 0.05, maxTrees: 2000, earlyStoppingRounds: 50, subsample: 0.8, colsample: 0.8, l2: 1, seed: 20240612 },
    grid: [
      { maxDepth: 2, maxLeaves: 4, minSamplesLeaf: 20 },
      { maxDepth: 2, maxLeaves: 4, minSamplesLeaf: 50 },
      { maxDepth: 3, maxLeaves: 8, minSamplesLeaf: 50 },
    ],
    split: { validationFraction: 0.2, seed: 20240611 },
    crossFit: { folds: 4, seed: 20240613 },
    training: { dataset: TELCO_DIR, source, files: [TELCO_FILE], synthetic: false, notes },
    parityRows: 50,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const churnTelcoGbdt: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "telecom churn, gradient-boosted trees on IBM Telco Customer Churn",
  async train({ datasetsDir, log, now }) {
    const data = await loadTelco(datasetsDir);
    log(`${NAME} ${VERSION}: read ${data.rows.length} rows from ${data.file}`);
    const notes =
      `Real data: the ${data.rows.length} rows of ${TELCO_FILE} available here (sha256 ${data.sha256}); ` +
      "the dataset's organisers hold back a further 20% of the original 7,043 rows, which were never seen. " +
      `TotalCharges is blank for ${data.rows.filter((r) => r["total_charges"]!.trim() === "").length} rows (tenure 0); ` +
      "they are treated as missing and take the training median, exactly as a request without total_charges would.";
    return trainBinaryGbdt(spec(relative(ROOT_DIR, data.sourceFile), notes), data, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card, datasetsDir) {
    if (!(await exists(join(datasetsDir, TELCO_DIR, TELCO_FILE)))) return undefined;
    return evaluationSetFor(card, await loadTelco(datasetsDir));
  },
};
