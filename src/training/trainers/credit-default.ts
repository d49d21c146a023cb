/**
 * `credit_default` 1.0.0: will this credit-card client default next month? Gradient-boosted trees
 * on UCI "default of credit card clients" (Taiwan, 2005).
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { evaluationSetFor } from "../binary-linear.ts";
import { CREDIT_DIR, CREDIT_FEATURES, CREDIT_FILE, CREDIT_IGNORED, loadCredit } from "../datasets/credit.ts";
import { trainBinaryGbdt, type BinaryGbdtSpec } from "../gbdt/binary-recipe.ts";
import type { TrainerEntry } from "../trainer.ts";

const NAME = "credit_default";
const VERSION = "1.0.0";

function spec(source: string, notes: string): BinaryGbdtSpec {
  return {
    name: NAME,
    version: VERSION,
    displayName: "Credit-card default",
    description:
      "Probability that a credit-card client defaults on next month's payment, from the credit limit, demographics and " +
      "six months of repayment status, bill and payment amounts. Gradient-boosted decision trees on UCI \"default of " +
      "credit card clients\" (Taiwan, April–September 2005). `probabilities[:,1]` is P(default) and `threshold` (best " +
      "validation F1) turns it into a yes/no. sex, education and marriage are the dataset's integer codes (see each " +
      "feature's description). Numeric inputs outside the training range are clipped to it (with a warning); a missing " +
      "optional feature takes its training median or most frequent value.",
    features: CREDIT_FEATURES,
    ignoredColumns: CREDIT_IGNORED,
    classLabels: ["no_default", "default"],
    params: { learningRate: 0.05, maxTrees: 2000, earlyStoppingRounds: 50, subsample: 0.8, colsample: 0.8, l2: 1, seed: 20240712 },
    grid: [
      { maxDepth: 3, maxLeaves: 8, minSamplesLeaf: 20 },
      { maxDepth: 5, maxLeaves: 16, minSamplesLeaf: 50 },
    ],
    split: { validationFraction: 0.2, seed: 20240711 },
    crossFit: { folds: 4, seed: 20240713 },
    training: { dataset: CREDIT_DIR, source, files: [CREDIT_FILE], synthetic: false, notes },
    parityRows: 50,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const creditDefault: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "credit-card default, gradient-boosted trees on UCI default of credit card clients",
  async train({ datasetsDir, log, now }) {
    const data = await loadCredit(datasetsDir);
    log(`${NAME}: read ${data.rows.length} rows from ${data.file}`);
    const notes =
      `Real data: the ${data.rows.length} rows of ${CREDIT_FILE} available here (sha256 ${data.sha256}); the dataset's ` +
      "organisers hold back a further 20% of the original 30,000 rows, which were never seen. This copy's columns are " +
      "ID, X1..X23, Y; features map X1 → limit_bal, X2 → sex, X3 → education, X4 → marriage, X5 → age, X6..X11 → " +
      "pay_0, pay_2..pay_6, X12..X17 → bill_amt1..6, X18..X23 → pay_amt1..6, and Y (default payment next month) is the " +
      "label; ID is dropped.";
    return trainBinaryGbdt(spec(relative(ROOT_DIR, data.sourceFile), notes), data, { log, ...(now ? { now } : {}) });
  },
  async evaluationSet(card, datasetsDir) {
    if (!(await exists(join(datasetsDir, CREDIT_DIR, CREDIT_FILE)))) return undefined;
    return evaluationSetFor(card, await loadCredit(datasetsDir));
  },
};
