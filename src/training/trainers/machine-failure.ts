/**
 * `machine_failure` 1.0.0: will this machine fail? Gradient-boosted trees on the (synthetic) UCI
 * AI4I 2020 Predictive Maintenance data, from the six sensor/product columns only.
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { evaluationSetFor } from "../binary-linear.ts";
import { AI4I_COLUMNS, AI4I_DIR, AI4I_EXCLUDED_COLUMNS, AI4I_FEATURES, AI4I_FILE, AI4I_LABEL_COLUMN, loadAi4i } from "../datasets/ai4i.ts";
import { trainBinaryGbdt, type BinaryGbdtSpec } from "../gbdt/binary-recipe.ts";
import type { TrainerEntry } from "../trainer.ts";

const NAME = "machine_failure";
const VERSION = "1.0.0";

function spec(source: string, notes: string): BinaryGbdtSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Machine failure (predictive maintenance)",
    description:
      "Probability that a milling machine fails, from the product quality variant and five process readings (air and " +
      "process temperature, rotational speed, torque, tool wear). Gradient-boosted decision trees on the synthetic UCI " +
      "AI4I 2020 Predictive Maintenance dataset. `probabilities[:,1]` is P(failure) and `threshold` (best validation F1 " +
      "on the failure class) turns it into a yes/no. Numeric inputs outside the training range are clipped to it (with a " +
      "warning); an unknown type is encoded as unknown (with a warning); a missing type takes the most frequent (L).",
    features: AI4I_FEATURES,
    classLabels: ["no_failure", "failure"],
    params: { learningRate: 0.05, maxTrees: 3000, earlyStoppingRounds: 100, subsample: 0.8, colsample: 1, l2: 0.1, seed: 20240722 },
    grid: [
      { maxDepth: 4, maxLeaves: 16, minSamplesLeaf: 5 },
      { maxDepth: 6, maxLeaves: 31, minSamplesLeaf: 5 },
      { maxDepth: 8, maxLeaves: 63, minSamplesLeaf: 3, learningRate: 0.1 },
    ],
    selectBy: "log_loss",
    split: { validationFraction: 0.2, seed: 20240721 },
    crossFit: { folds: 4, seed: 20240723 },
    training: { dataset: AI4I_DIR, source, files: [AI4I_FILE], synthetic: true, notes },
    parityRows: 50,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const machineFailure: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "machine failure, gradient-boosted trees on UCI AI4I 2020 (without failure-mode flags)",
  async train({ datasetsDir, log, now }) {
    const data = await loadAi4i(datasetsDir);
    log(`${NAME}: read ${data.rows.length} rows from ${data.file}`);
    const mapping = Object.entries(AI4I_COLUMNS)
      .map(([feature, column]) => `"${column}" → ${feature}`)
      .join(", ");
    const notes =
      `Synthetic data (modelled on real maintenance data by its author): the ${data.rows.length} rows of ${AI4I_FILE} available ` +
      `here (sha256 ${data.sha256}); the organisers hold back a further 20% of the original 10,000 rows, which were never seen. ` +
      `Feature ← column: ${mapping}; label "${AI4I_LABEL_COLUMN}". Not used: ${AI4I_EXCLUDED_COLUMNS.join(", ")} ` +
      "(identifiers, and the failure-mode flags that leak the label). The failure modes are rules on derived quantities " +
      "(power = torque × speed, temperature difference, torque × tool wear); the serving encoder cannot compute those, so " +
      "the trees approximate them from the raw readings, which costs F1 (see the card's metrics).";
    return trainBinaryGbdt(spec(relative(ROOT_DIR, data.sourceFile), notes), data, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card, datasetsDir) {
    if (!(await exists(join(datasetsDir, AI4I_DIR, AI4I_FILE)))) return undefined;
    return evaluationSetFor(card, await loadAi4i(datasetsDir));
  },
};
