/**
 * `churn_telco` 1.0.0: will this telecom customer churn? L2 logistic regression on the IBM Telco
 * Customer Churn sample.
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { evaluationSetFor, trainBinaryLinear, type BinaryLinearSpec } from "../binary-linear.ts";
import { loadTelco, TELCO_DIR, TELCO_FEATURES, TELCO_FILE } from "../datasets/telco.ts";
import type { TrainerEntry } from "../trainer.ts";

const NAME = "churn_telco";
const VERSION = "1.0.0";

function spec(source: string, notes: string): BinaryLinearSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Telco customer churn",
    description:
      "Probability that a telecom customer churns (leaves), from contract, billing, tenure and subscribed services. " +
      "L2-regularised logistic regression on the IBM Telco Customer Churn sample; `probabilities[:,1]` is P(churn) and " +
      "`threshold` (best validation F1) turns it into a yes/no. Numeric inputs outside the range seen in training are " +
      "clipped to that range (with a warning); an unknown category value is encoded as unknown (all of that feature's " +
      "one-hot columns 0, with a warning); a missing optional feature takes its training median or most frequent value.",
    features: TELCO_FEATURES,
    classLabels: ["No", "Yes"],
    l2Grid: [1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
    split: { validationFraction: 0.2, seed: 20240611 },
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

export const churnTelco: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "telecom churn, logistic regression on IBM Telco Customer Churn",
  async train({ datasetsDir, log, now }) {
    const data = await loadTelco(datasetsDir);
    log(`${NAME}: read ${data.rows.length} rows from ${data.file}`);
    const notes =
      `Real data: the ${data.rows.length} rows of ${TELCO_FILE} available here (sha256 ${data.sha256}); ` +
      "the dataset's organisers hold back a further 20% of the original 7,043 rows, which were never seen. " +
      `TotalCharges is blank for ${data.rows.filter((r) => r["total_charges"]!.trim() === "").length} rows (tenure 0); ` +
      "they are treated as missing and take the training median, exactly as a request without total_charges would.";
    return trainBinaryLinear(spec(relative(ROOT_DIR, data.sourceFile), notes), data, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card, datasetsDir) {
    if (!(await exists(join(datasetsDir, TELCO_DIR, TELCO_FILE)))) return undefined;
    return evaluationSetFor(card, await loadTelco(datasetsDir));
  },
};
