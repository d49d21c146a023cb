/**
 * IBM "Telco Customer Churn" (see ../shared/datasets/telco-churn/SOURCE.md): column mapping to
 * Tidecast's snake_case features, the feature declarations, and loading with labels.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { IgnoredColumn } from "../../models/card.ts";
import type { DeclaredFeature } from "../features.ts";
import { DatasetError, readCsv } from "../csv.ts";
import type { LabelledRows } from "../trainer.ts";

export const TELCO_DIR = "telco-churn";
export const TELCO_FILE = "WA_Fn-UseC_-Telco-Customer-Churn.csv";
export const TELCO_LABEL_COLUMN = "Churn";

/** feature name → dataset column */
export const TELCO_COLUMNS: Readonly<Record<string, string>> = {
  tenure: "tenure",
  monthly_charges: "MonthlyCharges",
  contract_type: "Contract",
  payment_method: "PaymentMethod",
  internet_service: "InternetService",
  total_charges: "TotalCharges",
  phone_service: "PhoneService",
  multiple_lines: "MultipleLines",
  online_security: "OnlineSecurity",
  tech_support: "TechSupport",
  gender: "gender",
  senior_citizen: "SeniorCitizen",
  partner: "Partner",
  dependents: "Dependents",
  online_backup: "OnlineBackup",
  device_protection: "DeviceProtection",
  streaming_tv: "StreamingTV",
  streaming_movies: "StreamingMovies",
  paperless_billing: "PaperlessBilling",
};

const INTERNET_ADDON = ["No", "Yes", "No internet service"];
const addon = (name: string, what: string): DeclaredFeature => ({
  name,
  type: "category",
  required: false,
  description: `${what}: "No", "Yes" or "No internet service"`,
  categories: INTERNET_ADDON,
});

/** The file's other columns, in snake_case: a request may carry them (see IgnoredColumn). */
export const TELCO_IGNORED: IgnoredColumn[] = [
  { name: "customer_id", reason: "the customer's identifier" },
  { name: "churn", reason: "the label" },
];

/** Declared in the order of the encoded vector. Categories are the dataset's own strings. */
export const TELCO_FEATURES: DeclaredFeature[] = [
  { name: "tenure", type: "integer", required: true, description: "months the customer has been with the company" },
  { name: "monthly_charges", type: "number", required: true, description: "current monthly charge (USD)" },
  {
    name: "contract_type",
    type: "category",
    required: true,
    description: "contract term",
    // seed 000 names it contract_type; the dataset's column is Contract
    aliases: ["contract"],
    categories: ["Month-to-month", "One year", "Two year"],
  },
  {
    name: "payment_method",
    type: "category",
    required: false,
    description: "how the customer pays",
    categories: ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
  },
  {
    name: "internet_service",
    type: "category",
    required: false,
    description: "internet service type",
    categories: ["DSL", "Fiber optic", "No"],
  },
  { name: "total_charges", type: "number", required: false, description: "total charged to date (USD); blank in the dataset for new customers" },
  { name: "phone_service", type: "boolean", required: false, description: "has phone service" },
  {
    name: "multiple_lines",
    type: "category",
    required: false,
    description: 'multiple phone lines: "No", "Yes" or "No phone service"',
    categories: ["No", "Yes", "No phone service"],
  },
  addon("online_security", "online security add-on"),
  addon("tech_support", "tech support add-on"),
  { name: "gender", type: "category", required: false, description: "customer gender as recorded", categories: ["Female", "Male"] },
  { name: "senior_citizen", type: "boolean", required: false, description: "is a senior citizen" },
  { name: "partner", type: "boolean", required: false, description: "has a partner" },
  { name: "dependents", type: "boolean", required: false, description: "has dependents" },
  addon("online_backup", "online backup add-on"),
  addon("device_protection", "device protection add-on"),
  addon("streaming_tv", "streaming TV"),
  addon("streaming_movies", "streaming movies"),
  { name: "paperless_billing", type: "boolean", required: false, description: "uses paperless billing" },
];

export interface TelcoData extends LabelledRows {
  file: string;
  sourceFile: string;
  sha256: string;
}

/** Reads the CSV; a missing file, missing column or label other than Yes/No is a DatasetError. */
export async function loadTelco(datasetsDir: string): Promise<TelcoData> {
  const file = join(datasetsDir, TELCO_DIR, TELCO_FILE);
  const table = await readCsv(file, { requiredColumns: [...Object.values(TELCO_COLUMNS), TELCO_LABEL_COLUMN] });
  const sha256 = createHash("sha256").update(await readFile(file)).digest("hex");
  const entries = Object.entries(TELCO_COLUMNS);
  const rows = table.rows.map((source) => {
    const row: Record<string, string> = {};
    for (const [feature, column] of entries) row[feature] = source[column]!;
    return row;
  });
  const labels = new Uint8Array(table.rows.length);
  table.rows.forEach((source, i) => {
    const label = source[TELCO_LABEL_COLUMN];
    if (label === "Yes") labels[i] = 1;
    else if (label !== "No") {
      throw new DatasetError(`${file}:${table.lines[i]}: ${TELCO_LABEL_COLUMN} is "${label}", expected "Yes" or "No"`, file, table.lines[i]);
    }
  });
  return {
    rows,
    labels,
    origin: (i) => `${file}:${table.lines[i] ?? "?"}`,
    file,
    sourceFile: join(datasetsDir, TELCO_DIR, "SOURCE.md"),
    sha256,
  };
}
