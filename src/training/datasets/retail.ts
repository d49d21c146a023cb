/**
 * UCI "Online Retail" transactions, chronological subset (see ../shared/datasets/online-retail/SOURCE.md):
 * 2010-12-01 .. 2011-06-05, one line per invoice line. Loading parses and types every line and keeps
 * them all; which lines count as a purchase is `isPurchase`, shared by segmentation and recommendations.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, parseCsv } from "../csv.ts";

export const RETAIL_DIR = "online-retail";
export const RETAIL_FILE = "online-retail-by-day-subset.csv";
const COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"] as const;

/**
 * Stock codes that are not products: postage, manual adjustments, fees, discounts, samples, bank
 * charges, charity. Their lines are neither purchases of an item nor customer spend on goods.
 */
export const NON_PRODUCT_CODES: ReadonlySet<string> = new Set([
  "POST", "DOT", "M", "m", "D", "C2", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "gift_0001_10", "gift_0001_20",
  "gift_0001_30", "gift_0001_40", "gift_0001_50",
]);

export interface RetailLine {
  invoice: string;
  stockCode: string;
  description: string;
  quantity: number;
  /** InvoiceDate as epoch milliseconds, read as UTC (the file has no zone; the shop is in the UK) */
  time: number;
  unitPrice: number;
  /** "17850" for the file's "17850.0"; "" when the line has no customer */
  customerId: string;
  country: string;
  /** 1-based line in the file */
  line: number;
}

export interface RetailData {
  lines: RetailLine[];
  file: string;
  sourceFile: string;
  sha256: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Parses the CSV text; every malformed number or date is a DatasetError naming its line. */
export function parseRetail(text: string, file: string): RetailLine[] {
  const table = parseCsv(text, file, { requiredColumns: COLUMNS });
  return table.rows.map((row, i) => {
    const line = table.lines[i]!;
    const fail = (what: string): never => {
      throw new DatasetError(`${file}:${line}: ${what}`, file, line);
    };
    const quantity = Number(row["Quantity"]);
    if (!Number.isInteger(quantity)) fail(`Quantity "${row["Quantity"]}" is not an integer`);
    const unitPrice = Number(row["UnitPrice"]);
    if (!Number.isFinite(unitPrice) || row["UnitPrice"]!.trim() === "") fail(`UnitPrice "${row["UnitPrice"]}" is not a number`);
    const m = DATE.exec(row["InvoiceDate"]!);
    if (!m) return fail(`InvoiceDate "${row["InvoiceDate"]}" is not YYYY-MM-DD HH:MM:SS`);
    const time = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    const rawCustomer = row["CustomerID"]!.trim();
    let customerId = "";
    if (rawCustomer !== "") {
      const id = Number(rawCustomer);
      if (!Number.isInteger(id) || id <= 0) fail(`CustomerID "${rawCustomer}" is not a positive integer`);
      customerId = String(id);
    }
    return {
      invoice: row["InvoiceNo"]!,
      stockCode: row["StockCode"]!,
      description: row["Description"]!,
      quantity,
      time,
      unitPrice,
      customerId,
      country: row["Country"]!,
      line,
    };
  });
}

/**
 * A line that is a customer buying a product: a known customer, not a cancellation invoice ("C…"),
 * positive quantity and price, and a product stock code (not postage, fees or adjustments).
 */
export function isPurchase(l: RetailLine): boolean {
  return l.customerId !== "" && !l.invoice.startsWith("C") && l.quantity > 0 && l.unitPrice > 0 && !NON_PRODUCT_CODES.has(l.stockCode);
}

export async function loadRetail(datasetsDir: string): Promise<RetailData> {
  const file = join(datasetsDir, RETAIL_DIR, RETAIL_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new DatasetError(`${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, file, undefined, { cause });
  }
  return {
    lines: parseRetail(bytes.toString("utf8"), file),
    file,
    sourceFile: join(datasetsDir, RETAIL_DIR, "SOURCE.md"),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/** Start of the UTC day of `time` (ms). */
export function dayStart(time: number): number {
  return Math.floor(time / 86_400_000) * 86_400_000;
}
