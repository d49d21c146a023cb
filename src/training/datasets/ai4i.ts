/**
 * UCI "AI4I 2020 Predictive Maintenance" (synthetic; see ../shared/datasets/ai4i-maintenance/SOURCE.md):
 * does the machine fail? The five failure-mode flags (TWF, HDF, PWF, OSF, RNF) are sub-labels of
 * the target and `UDI`/`Product ID` are identifiers, so none of them is a feature. The file starts
 * with a UTF-8 BOM, which the CSV reader strips.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, readCsv } from "../csv.ts";
import type { IgnoredColumn } from "../../models/card.ts";
import type { DeclaredFeature } from "../features.ts";
import type { DatasetFile } from "./bank.ts";

export const AI4I_DIR = "ai4i-maintenance";
export const AI4I_FILE = "ai4i2020.csv";
export const AI4I_LABEL_COLUMN = "Machine failure";
/**
 * The file's columns that are never features, as the file names them and as a request may carry
 * them (snake_case; see IgnoredColumn), each with the reason.
 */
const NOT_FEATURES: ReadonlyArray<{ column: string } & IgnoredColumn> = [
  { column: "UDI", name: "udi", reason: "the row's identifier" },
  { column: "Product ID", name: "product_id", reason: "the product's identifier" },
  { column: AI4I_LABEL_COLUMN, name: "machine_failure", reason: "the label" },
  ...["TWF", "HDF", "PWF", "OSF", "RNF"].map((column) => ({
    column,
    name: column.toLowerCase(),
    reason: "a failure-mode flag, set only when the machine failed: it leaks the label",
  })),
];
export const AI4I_IGNORED: IgnoredColumn[] = NOT_FEATURES.map(({ name, reason }) => ({ name, reason }));
/** the identifiers and the target's sub-labels, under the file's names */
export const AI4I_EXCLUDED_COLUMNS = NOT_FEATURES.filter((c) => c.column !== AI4I_LABEL_COLUMN).map((c) => c.column);

/** feature name → dataset column: snake_case of the column, unit in brackets as a suffix */
export const AI4I_COLUMNS: Readonly<Record<string, string>> = {
  type: "Type",
  air_temperature_k: "Air temperature [K]",
  process_temperature_k: "Process temperature [K]",
  rotational_speed_rpm: "Rotational speed [rpm]",
  torque_nm: "Torque [Nm]",
  tool_wear_min: "Tool wear [min]",
};

export const AI4I_FEATURES: DeclaredFeature[] = [
  { name: "type", type: "category", required: false, description: "product quality variant: L (low), M (medium), H (high)", categories: ["L", "M", "H"] },
  { name: "air_temperature_k", type: "number", required: true, description: "air temperature [K]" },
  { name: "process_temperature_k", type: "number", required: true, description: "process temperature [K]" },
  { name: "rotational_speed_rpm", type: "number", required: true, description: "rotational speed [rpm]" },
  { name: "torque_nm", type: "number", required: true, description: "torque [Nm]" },
  { name: "tool_wear_min", type: "number", required: true, description: "tool wear [min]" },
];

/** Reads the CSV; a missing file or column, or a label other than 0/1, is a DatasetError. */
export async function loadAi4i(datasetsDir: string): Promise<DatasetFile> {
  const file = join(datasetsDir, AI4I_DIR, AI4I_FILE);
  const table = await readCsv(file, { requiredColumns: [...Object.values(AI4I_COLUMNS), AI4I_LABEL_COLUMN] });
  const sha256 = createHash("sha256").update(await readFile(file)).digest("hex");
  const entries = Object.entries(AI4I_COLUMNS);
  const labels = new Uint8Array(table.rows.length);
  const rows = table.rows.map((source, i) => {
    const label = source[AI4I_LABEL_COLUMN];
    if (label === "1") labels[i] = 1;
    else if (label !== "0") {
      throw new DatasetError(`${file}:${table.lines[i]}: ${AI4I_LABEL_COLUMN} is "${label}", expected 0 or 1`, file, table.lines[i]);
    }
    const row: Record<string, string> = {};
    for (const [feature, column] of entries) row[feature] = source[column]!;
    return row;
  });
  return { rows, labels, origin: (i) => `${file}:${table.lines[i] ?? "?"}`, file, sourceFile: join(datasetsDir, AI4I_DIR, "SOURCE.md"), sha256 };
}
