/**
 * UCI "Bank Marketing" with social/economic context (see ../shared/datasets/bank-marketing/SOURCE.md),
 * used as a lead-conversion dataset: did the contacted client subscribe a term deposit (`y`)?
 * `duration` (the call's length) is only known after the call and leaks the outcome, so it is not
 * a feature. Feature names are the dataset's columns in snake_case (`emp.var.rate` → `emp_var_rate`).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, readCsv } from "../csv.ts";
import type { IgnoredColumn } from "../../models/card.ts";
import type { DeclaredFeature } from "../features.ts";
import type { LabelledRows } from "../trainer.ts";

export const BANK_DIR = "bank-marketing";
export const BANK_FILE = "bank-additional-full.csv";
export const BANK_LABEL_COLUMN = "y";
/** in the file, never a feature: it is measured after the outcome */
export const BANK_LEAKING_COLUMN = "duration";

/** feature name → dataset column */
export const BANK_COLUMNS: Readonly<Record<string, string>> = {
  age: "age",
  job: "job",
  marital: "marital",
  education: "education",
  default: "default",
  housing: "housing",
  loan: "loan",
  contact: "contact",
  month: "month",
  day_of_week: "day_of_week",
  campaign: "campaign",
  pdays: "pdays",
  previous: "previous",
  poutcome: "poutcome",
  emp_var_rate: "emp.var.rate",
  cons_price_idx: "cons.price.idx",
  cons_conf_idx: "cons.conf.idx",
  euribor3m: "euribor3m",
  nr_employed: "nr.employed",
};

/** The file's other columns, in snake_case: a request may carry them (see IgnoredColumn). */
export const BANK_IGNORED: IgnoredColumn[] = [
  { name: BANK_LEAKING_COLUMN, reason: "the call's length, known only after the call: it leaks the outcome" },
  { name: BANK_LABEL_COLUMN, reason: "the label" },
];

const NO_YES_UNKNOWN = ["no", "yes", "unknown"];

/** Declared in the order of the encoded vector; categories are the dataset's own strings. */
export const BANK_FEATURES: DeclaredFeature[] = [
  { name: "age", type: "integer", required: true, description: "client age in years" },
  {
    name: "job",
    type: "category",
    required: true,
    description: "type of job",
    categories: ["admin.", "blue-collar", "entrepreneur", "housemaid", "management", "retired", "self-employed", "services", "student", "technician", "unemployed", "unknown"],
  },
  { name: "marital", type: "category", required: false, description: "marital status (\"divorced\" includes widowed)", categories: ["divorced", "married", "single", "unknown"] },
  {
    name: "education",
    type: "category",
    required: false,
    description: "education level",
    categories: ["basic.4y", "basic.6y", "basic.9y", "high.school", "illiterate", "professional.course", "university.degree", "unknown"],
  },
  { name: "default", type: "category", required: false, description: "has credit in default?", categories: NO_YES_UNKNOWN },
  { name: "housing", type: "category", required: false, description: "has a housing loan?", categories: NO_YES_UNKNOWN },
  { name: "loan", type: "category", required: false, description: "has a personal loan?", categories: NO_YES_UNKNOWN },
  { name: "contact", type: "category", required: true, description: "contact communication type", categories: ["cellular", "telephone"] },
  {
    name: "month",
    type: "category",
    required: true,
    description: "month of the last contact",
    categories: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day_of_week", type: "category", required: false, description: "weekday of the last contact", categories: ["mon", "tue", "wed", "thu", "fri"] },
  { name: "campaign", type: "integer", required: true, description: "contacts during this campaign for this client, including the last one" },
  { name: "pdays", type: "integer", required: false, description: "days since the client was last contacted in a previous campaign; 999 = never contacted" },
  { name: "previous", type: "integer", required: false, description: "contacts before this campaign for this client" },
  {
    name: "poutcome",
    type: "category",
    required: false,
    description: "outcome of the previous campaign",
    categories: ["failure", "nonexistent", "success"],
  },
  { name: "emp_var_rate", type: "number", required: false, description: "employment variation rate, quarterly indicator" },
  { name: "cons_price_idx", type: "number", required: false, description: "consumer price index, monthly indicator" },
  { name: "cons_conf_idx", type: "number", required: false, description: "consumer confidence index, monthly indicator" },
  { name: "euribor3m", type: "number", required: false, description: "euribor 3-month rate, daily indicator" },
  { name: "nr_employed", type: "number", required: false, description: "number of employees (thousands), quarterly indicator" },
];

export interface DatasetFile extends LabelledRows {
  file: string;
  sourceFile: string;
  sha256: string;
}

/** Reads the `;`-separated CSV; a missing file, missing column or label other than yes/no is a DatasetError. */
export async function loadBank(datasetsDir: string): Promise<DatasetFile> {
  const file = join(datasetsDir, BANK_DIR, BANK_FILE);
  const table = await readCsv(file, { delimiter: ";", requiredColumns: [...Object.values(BANK_COLUMNS), BANK_LABEL_COLUMN] });
  const sha256 = createHash("sha256").update(await readFile(file)).digest("hex");
  const entries = Object.entries(BANK_COLUMNS);
  const labels = new Uint8Array(table.rows.length);
  const rows = table.rows.map((source, i) => {
    const label = source[BANK_LABEL_COLUMN];
    if (label === "yes") labels[i] = 1;
    else if (label !== "no") {
      throw new DatasetError(`${file}:${table.lines[i]}: ${BANK_LABEL_COLUMN} is "${label}", expected "yes" or "no"`, file, table.lines[i]);
    }
    const row: Record<string, string> = {};
    for (const [feature, column] of entries) row[feature] = source[column]!;
    return row;
  });
  return { rows, labels, origin: (i) => `${file}:${table.lines[i] ?? "?"}`, file, sourceFile: join(datasetsDir, BANK_DIR, "SOURCE.md"), sha256 };
}
