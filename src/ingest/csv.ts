/**
 * Reading an uploaded CSV as a stream of records, with one set of parsing rules for the API's
 * header check and the import job, so both see the same columns.
 */
import type { Readable } from "node:stream";
import { CsvError, parse, type Options } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";

const OPTIONS: Options = {
  bom: true,
  // a row with too few or too many fields is the row's problem (rejected, reported), not the file's
  relax_column_count: true,
  skip_empty_lines: true,
  // an unclosed quote must not make one record of the rest of a 16 MB file in memory
  max_record_size: 1 << 20,
};

/** The file is not CSV that can be read on: unbalanced quotes, a record over 1 MiB, ... */
export class CsvFormatError extends Error {
  override name = "CsvFormatError";
}

/**
 * The header row from the first bytes of a file (whole lines only), or null when those bytes hold
 * no complete line; column names are trimmed.
 * @throws CsvFormatError when the first line is not CSV
 */
export function headerFromSample(sample: Buffer, complete: boolean): string[] | null {
  let text = sample.toString("utf8");
  if (!complete) {
    const end = text.lastIndexOf("\n");
    if (end < 0) return null;
    text = text.slice(0, end + 1);
  }
  try {
    const [first] = parseSync(text, { ...OPTIONS, to: 1 }) as string[][];
    return first ? first.map((c) => c.trim()) : [];
  } catch (err) {
    if (err instanceof CsvError) throw new CsvFormatError(`the header line is not CSV: ${err.message}`);
    throw err;
  }
}

export interface CsvRecords {
  /**
   * The header (trimmed names) first, then every data record, as string arrays, in batches of
   * the records already parsed: a caller handles a batch without yielding to the event loop.
   */
  batches: AsyncGenerator<string[][]>;
  /** bytes of the input parsed so far */
  bytesRead(): number;
}

/** Most records in one batch. */
const BATCH = 512;

/**
 * Reads `input` as CSV with backpressure: only the records not yet consumed are in memory.
 * Iterating throws CsvFormatError at the first record that cannot be parsed; stopping early
 * (break, return) closes the input.
 */
export function readCsvRecords(input: Readable): CsvRecords {
  const parser = parse(OPTIONS);
  input.on("error", (err) => parser.destroy(err));
  input.pipe(parser);
  let failure: unknown = null;
  let ended = false;
  parser.on("error", (err) => (failure ??= err));
  parser.on("end", () => (ended = true));
  async function* batches(): AsyncGenerator<string[][]> {
    let first = true;
    try {
      for (;;) {
        const batch: string[][] = [];
        let record: string[] | null;
        while (batch.length < BATCH && (record = parser.read() as string[] | null) !== null) {
          batch.push(first ? record.map((c) => c.trim()) : record);
          first = false;
        }
        if (batch.length > 0) yield batch;
        else if (failure) throw failure;
        else if (ended) return;
        else await new Promise((resolve) => {
          const wake = () => {
            parser.off("readable", wake).off("end", wake).off("error", wake);
            resolve(undefined);
          };
          parser.on("readable", wake).on("end", wake).on("error", wake);
        });
      }
    } catch (err) {
      if (err instanceof CsvError) throw new CsvFormatError(`line ${String(err["lines"] ?? "?")}: ${err.message}`);
      throw err;
    } finally {
      input.unpipe(parser);
      input.destroy();
      parser.destroy();
    }
  }
  return { batches: batches(), bytesRead: () => parser.info.bytes };
}

/**
 * Reads a whole file as CSV without keeping anything, so that a file that is not CSV to its end
 * is refused before any of its rows is published; returns the number of records.
 * @throws CsvFormatError
 */
export async function checkCsvStructure(input: Readable): Promise<number> {
  let records = 0;
  for await (const batch of readCsvRecords(input).batches) records += batch.length;
  return records;
}
