/**
 * ISLR "Advertising" (see ../shared/datasets/advertising/SOURCE.md): TV, radio and newspaper
 * budgets (thousands of dollars) and sales (thousands of units). This copy has no index column;
 * 20% of the book's 200 rows are held back by the organisers.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, parseCsv } from "../csv.ts";

export const ADVERTISING_DIR = "advertising";
export const ADVERTISING_FILE = "Advertising.csv";

/** feature name → dataset column; `sales` is the target */
export const ADVERTISING_COLUMNS = { tv: "TV", radio: "radio", newspaper: "newspaper" } as const;
export const ADVERTISING_TARGET = "sales";

export interface AdvertisingRow {
  tv: number;
  radio: number;
  newspaper: number;
  sales: number;
}

export interface AdvertisingData {
  rows: AdvertisingRow[];
  file: string;
  sourceFile: string;
  sha256: string;
}

/** Parses the CSV; an extra unnamed index column (the book's original file has one) is ignored. */
export function parseAdvertising(text: string, file: string): AdvertisingRow[] {
  const table = parseCsv(text, file, { requiredColumns: [...Object.values(ADVERTISING_COLUMNS), ADVERTISING_TARGET] });
  return table.rows.map((row, i) => {
    const value = (column: string): number => {
      const raw = row[column]!.trim();
      const x = Number(raw);
      if (raw === "" || !Number.isFinite(x) || x < 0) {
        throw new DatasetError(`${file}:${table.lines[i]}: ${column} "${row[column]}" is not a non-negative number`, file, table.lines[i]);
      }
      return x;
    };
    return { tv: value("TV"), radio: value("radio"), newspaper: value("newspaper"), sales: value(ADVERTISING_TARGET) };
  });
}

export async function loadAdvertising(datasetsDir: string): Promise<AdvertisingData> {
  const file = join(datasetsDir, ADVERTISING_DIR, ADVERTISING_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new DatasetError(`${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, file, undefined, { cause });
  }
  return {
    rows: parseAdvertising(bytes.toString("utf8"), file),
    file,
    sourceFile: join(datasetsDir, ADVERTISING_DIR, "SOURCE.md"),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}
