/**
 * Reading a dataset CSV for training. Every failure names the file and, where there is one, the
 * line, so a broken or moved dataset is fixed without a debugger.
 */
import { readFile } from "node:fs/promises";
import { CsvError, parse } from "csv-parse/sync";

/** A dataset file is missing, unreadable, or not the CSV its trainer expects. */
export class DatasetError extends Error {
  override name = "DatasetError";
  constructor(
    message: string,
    /** the file at fault */
    readonly file: string,
    /** 1-based line in `file`, when the problem has one */
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface CsvTable {
  file: string;
  header: string[];
  /** one record per data row, keyed by header name; values exactly as in the file */
  rows: Record<string, string>[];
  /** for each row, the (last) line of the file it was read from, for error messages */
  lines: number[];
}

export interface ReadCsvOptions {
  /** columns the header must contain */
  requiredColumns?: readonly string[];
  delimiter?: string;
}

/** Reads a whole CSV file (header row first) into string records. */
export async function readCsv(file: string, options: ReadCsvOptions = {}): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "file not found" : `cannot read file (${code ?? (cause as Error).message})`;
    throw new DatasetError(`${file}: ${why}`, file, undefined, { cause });
  }
  return parseCsv(text, file, options);
}

/** Parses CSV text; `file` is only used to name the source in errors. */
export function parseCsv(text: string, file: string, options: ReadCsvOptions = {}): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: options.delimiter ?? ",",
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (cause) {
    if (cause instanceof CsvError) {
      const line = typeof cause["lines"] === "number" ? cause["lines"] : undefined;
      throw new DatasetError(`${file}${line ? `:${line}` : ""}: malformed CSV: ${cause.message}`, file, line, { cause });
    }
    throw cause;
  }
  const header = records[0]?.record;
  if (!header || header.length === 0) throw new DatasetError(`${file}:1: empty file, expected a header row`, file, 1);
  const seen = new Set<string>();
  for (const name of header) {
    if (name === "" || seen.has(name)) {
      throw new DatasetError(`${file}:1: header has ${name === "" ? "an empty" : `a duplicate "${name}"`} column name`, file, 1);
    }
    seen.add(name);
  }
  const missing = (options.requiredColumns ?? []).filter((c) => !seen.has(c));
  if (missing.length > 0) {
    throw new DatasetError(`${file}:1: header lacks column(s) ${missing.join(", ")}`, file, 1);
  }
  const rows = new Array<Record<string, string>>(records.length - 1);
  const lines = new Array<number>(records.length - 1);
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r]!;
    lines[r - 1] = info.lines;
    const row: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) {
      Object.defineProperty(row, header[c]!, { value: record[c]!, enumerable: true, writable: true, configurable: true });
    }
    rows[r - 1] = row;
  }
  return { file, header, rows, lines };
}
