/**
 * UCI "default of credit card clients" (Taiwan, 2005; see ../shared/datasets/credit/SOURCE.md):
 * does the client default on next month's payment? This copy names its columns `ID, X1..X23, Y`
 * (the first header row of the UCI .xls); the widespread Kaggle copy uses the descriptive names
 * (`LIMIT_BAL`, ..., `default.payment.next.month`). Both are read. Features are the descriptive
 * names in snake_case; `ID` is dropped.
 *
 * SEX, EDUCATION and MARRIAGE are categorical codes. They are declared as integers, not as category
 * features, because API callers send the dataset's numeric codes (`"sex": 2`) and a category feature
 * takes strings only; trees isolate any code with at most two splits, so nothing is lost. Codes
 * outside the training range are clipped to it (EDUCATION 0, 5 and 6 and MARRIAGE 0 are the
 * dataset's undocumented "unknown" codes).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, readCsv } from "../csv.ts";
import type { IgnoredColumn } from "../../models/card.ts";
import type { DeclaredFeature } from "../features.ts";
import type { DatasetFile } from "./bank.ts";

export const CREDIT_DIR = "credit";
export const CREDIT_FILE = "UCI_Credit_Card.csv";

/** feature name → [column in this copy (X-names), column in the descriptive-header copy] */
export const CREDIT_COLUMNS: Readonly<Record<string, readonly [string, string]>> = {
  limit_bal: ["X1", "LIMIT_BAL"],
  sex: ["X2", "SEX"],
  education: ["X3", "EDUCATION"],
  marriage: ["X4", "MARRIAGE"],
  age: ["X5", "AGE"],
  pay_0: ["X6", "PAY_0"],
  pay_2: ["X7", "PAY_2"],
  pay_3: ["X8", "PAY_3"],
  pay_4: ["X9", "PAY_4"],
  pay_5: ["X10", "PAY_5"],
  pay_6: ["X11", "PAY_6"],
  bill_amt1: ["X12", "BILL_AMT1"],
  bill_amt2: ["X13", "BILL_AMT2"],
  bill_amt3: ["X14", "BILL_AMT3"],
  bill_amt4: ["X15", "BILL_AMT4"],
  bill_amt5: ["X16", "BILL_AMT5"],
  bill_amt6: ["X17", "BILL_AMT6"],
  pay_amt1: ["X18", "PAY_AMT1"],
  pay_amt2: ["X19", "PAY_AMT2"],
  pay_amt3: ["X20", "PAY_AMT3"],
  pay_amt4: ["X21", "PAY_AMT4"],
  pay_amt5: ["X22", "PAY_AMT5"],
  pay_amt6: ["X23", "PAY_AMT6"],
};
export const CREDIT_LABEL_COLUMNS = ["Y", "default.payment.next.month"] as const;

const MONTHS = ["September", "August", "July", "June", "May", "April"];
const status = (name: string, month: string, required: boolean): DeclaredFeature => ({
  name,
  type: "integer",
  required,
  description: `repayment status in ${month} 2005: -2 no consumption, -1 paid duly, 0 revolving credit, 1..9 months of delay`,
});

/** The file's other columns, in snake_case in either header style: a request may carry them (see IgnoredColumn). */
export const CREDIT_IGNORED: IgnoredColumn[] = [
  { name: "id", reason: "the row's identifier" },
  { name: "y", reason: "the label" },
  { name: "default_payment_next_month", reason: "the label" },
];

/** Declared in the order of the encoded vector (one numeric column each). */
const DECLARED: DeclaredFeature[] = [
  { name: "limit_bal", type: "number", required: true, description: "amount of given credit (NT dollars), including family/supplementary credit" },
  { name: "sex", type: "integer", required: false, description: "code: 1 male, 2 female" },
  { name: "education", type: "integer", required: false, description: "code: 1 graduate school, 2 university, 3 high school, 4 others; 0, 5, 6 unknown" },
  { name: "marriage", type: "integer", required: false, description: "code: 1 married, 2 single, 3 others; 0 unknown" },
  { name: "age", type: "integer", required: true, description: "age in years" },
  status("pay_0", "September", true),
  ...["pay_2", "pay_3", "pay_4", "pay_5", "pay_6"].map((name, i) => status(name, MONTHS[i + 1]!, false)),
  ...MONTHS.map((month, i) => ({
    name: `bill_amt${i + 1}`,
    type: "number" as const,
    required: false,
    description: `bill statement amount in ${month} 2005 (NT dollars)`,
  })),
  ...MONTHS.map((month, i) => ({
    name: `pay_amt${i + 1}`,
    type: "number" as const,
    required: false,
    description: `amount paid in ${month} 2005 (NT dollars)`,
  })),
];

/** Each feature also takes its column's name in this copy: `x1`..`x23`, the dataset's columns in snake_case. */
export const CREDIT_FEATURES: DeclaredFeature[] = DECLARED.map((f) => ({ ...f, aliases: [CREDIT_COLUMNS[f.name]![0].toLowerCase()] }));

/** Reads the CSV (either header style); a missing file or column, or a label other than 0/1, is a DatasetError. */
export async function loadCredit(datasetsDir: string): Promise<DatasetFile> {
  const file = join(datasetsDir, CREDIT_DIR, CREDIT_FILE);
  const table = await readCsv(file);
  const style = table.header.includes("X1") ? 0 : 1;
  const labelColumn = CREDIT_LABEL_COLUMNS[style];
  const entries = Object.entries(CREDIT_COLUMNS).map(([feature, names]) => [feature, names[style]] as const);
  const missing = [...entries.map(([, column]) => column), labelColumn].filter((c) => !table.header.includes(c));
  if (missing.length > 0) throw new DatasetError(`${file}:1: header lacks column(s) ${missing.join(", ")}`, file, 1);
  const sha256 = createHash("sha256").update(await readFile(file)).digest("hex");
  const labels = new Uint8Array(table.rows.length);
  const rows = table.rows.map((source, i) => {
    const label = source[labelColumn];
    if (label === "1") labels[i] = 1;
    else if (label !== "0") throw new DatasetError(`${file}:${table.lines[i]}: ${labelColumn} is "${label}", expected 0 or 1`, file, table.lines[i]);
    const row: Record<string, string> = {};
    for (const [feature, column] of entries) row[feature] = source[column]!;
    return row;
  });
  return { rows, labels, origin: (i) => `${file}:${table.lines[i] ?? "?"}`, file, sourceFile: join(datasetsDir, CREDIT_DIR, "SOURCE.md"), sha256 };
}
