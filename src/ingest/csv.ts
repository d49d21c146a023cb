/**
 * Reading an uploaded CSV as a stream of records, with one set of parsing rules for the API's
 * header check and the import job, so both see the same columns. The delimiter is the header
 * line's: a comma, or a semicolon or tab when the header holds more of those (bank-marketing's
 * file, and the CSV that spreadsheets write where the comma is the decimal mark).
 */
import type { Readable } from "node:stream";
import { CsvError, parse, type Options, type Parser } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";

const MAX_RECORD_BYTES = 1 << 20;

const OPTIONS: Options = {
  bom: true,
  // a row with too few or too many fields is the row's problem (rejected, reported), not the file's
  relax_column_count: true,
  skip_empty_lines: true,
  // an unclosed quote must not make one record of the rest of a 16 MB file in memory
  max_record_size: MAX_RECORD_BYTES,
};

const DELIMITERS = [",", ";", "\t"] as const;

/** The candidate found most often outside quotes in `line` (a comma when none is). */
export function sniffDelimiter(line: string): (typeof DELIMITERS)[number] {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const c of line) {
    if (c === "\n") break;
    if (c === '"') quoted = !quoted;
    else if (!quoted) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return DELIMITERS.reduce((best, d) => ((counts.get(d) ?? 0) > (counts.get(best) ?? 0) ? d : best));
}

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
    const [first] = parseSync(text, { ...OPTIONS, delimiter: sniffDelimiter(text), to: 1 }) as string[][];
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
  let parser: Parser | null = null;
  let failure: unknown = null;
  let ended = false;
  async function* batches(): AsyncGenerator<string[][]> {
    try {
      const head = await readFirstLine(input);
      const p = (parser = parse({ ...OPTIONS, delimiter: sniffDelimiter(head.toString("utf8")) }));
      p.on("error", (err) => (failure ??= err));
      p.on("end", () => (ended = true));
      input.on("error", (err) => p.destroy(err));
      p.write(head);
      input.pipe(p);
      let first = true;
      for (;;) {
        const batch: string[][] = [];
        let record: string[] | null;
        while (batch.length < BATCH && (record = p.read() as string[] | null) !== null) {
          batch.push(first ? record.map((c) => c.trim()) : record);
          first = false;
        }
        if (batch.length > 0) yield batch;
        else if (failure) throw failure;
        else if (ended) return;
        else await new Promise((resolve) => {
          const wake = () => {
            p.off("readable", wake).off("end", wake).off("error", wake);
            resolve(undefined);
          };
          p.on("readable", wake).on("end", wake).on("error", wake);
        });
      }
    } catch (err) {
      if (err instanceof CsvError) throw new CsvFormatError(`line ${String(err["lines"] ?? "?")}: ${err.message}`);
      throw err;
    } finally {
      if (parser) input.unpipe(parser);
      input.destroy();
      parser?.destroy();
    }
  }
  return { batches: batches(), bytesRead: () => parser?.info.bytes ?? 0 };
}

/**
 * The input's first chunks, up to the one that ends the first line (or all of it when it has one
 * line), read in paused mode so that piping the input afterwards goes on from there.
 */
function readFirstLine(input: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null) => {
      input.off("readable", onReadable).off("end", onEnd).off("error", done);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onEnd = () => done(null);
    const onReadable = () => {
      let chunk: Buffer | string | null;
      while ((chunk = input.read() as Buffer | string | null) !== null) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        chunks.push(bytes);
        size += bytes.length;
        // a first line past the record limit is the parser's to refuse
        if (bytes.includes(0x0a) || size > MAX_RECORD_BYTES) return done(null);
      }
    };
    input.on("readable", onReadable).on("end", onEnd).on("error", done);
  });
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
