/**
 * UCI "Sentiment Labelled Sentences" (amazon_cells, imdb, yelp) and the AFINN-165 English word list
 * (see ../shared/datasets/sentiment/SOURCE.md): reading the three `sentence<TAB>label` files and the
 * lexicon.
 *
 * The files are not CSV: sentences contain `"` characters, so each line is split on its LAST tab and
 * nothing is unquoted. Only `\n` ends a line (imdb has two U+0085 characters inside sentences), a
 * trailing `\r` is dropped, and trailing spaces before the tab (imdb) are trimmed.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError } from "../csv.ts";
import type { LabelledRows } from "../trainer.ts";

export const SENTIMENT_DIR = "sentiment";
export const SENTIMENT_FILES = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"] as const;
export const AFINN_FILE = "AFINN-en-165.txt";

export interface SentimentData extends LabelledRows {
  /** rows are `{ text }` */
  files: string[];
  /** per file: its name, rows read and sha256 */
  manifest: Array<{ file: string; rows: number; sha256: string }>;
  sourceFile: string;
}

/** Parses one labelled-sentences file's text; `file` names it in errors. */
export function parseLabelledSentences(text: string, file: string): { sentences: string[]; labels: number[]; lines: number[] } {
  const sentences: string[] = [];
  const labels: number[] = [];
  const lines: number[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    const tab = line.lastIndexOf("\t");
    if (tab < 0) throw new DatasetError(`${file}:${index + 1}: no tab between sentence and label`, file, index + 1);
    const label = line.slice(tab + 1).trim();
    if (label !== "0" && label !== "1") throw new DatasetError(`${file}:${index + 1}: label is "${label}", expected 0 or 1`, file, index + 1);
    const sentence = line.slice(0, tab).trim();
    if (sentence === "") throw new DatasetError(`${file}:${index + 1}: empty sentence`, file, index + 1);
    sentences.push(sentence);
    labels.push(Number(label));
    lines.push(index + 1);
  });
  return { sentences, labels, lines };
}

async function readText(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: ${code === "ENOENT" ? "file not found" : `cannot read file (${code ?? (cause as Error).message})`}`, file, undefined, { cause });
  }
}

/** Reads the three files in SENTIMENT_FILES order; rows keep file order then line order. */
export async function loadSentiment(datasetsDir: string): Promise<SentimentData> {
  const rows: Record<string, string>[] = [];
  const labels: number[] = [];
  const origins: string[] = [];
  const manifest: SentimentData["manifest"] = [];
  for (const name of SENTIMENT_FILES) {
    const file = join(datasetsDir, SENTIMENT_DIR, name);
    const bytes = await readText(file);
    const parsed = parseLabelledSentences(bytes.toString("utf8"), file);
    parsed.sentences.forEach((text, i) => {
      rows.push({ text });
      labels.push(parsed.labels[i]!);
      origins.push(`${file}:${parsed.lines[i]}`);
    });
    manifest.push({ file: name, rows: parsed.sentences.length, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return {
    rows,
    labels: Uint8Array.from(labels),
    origin: (i) => origins[i] ?? "?",
    files: [...SENTIMENT_FILES],
    manifest,
    sourceFile: join(datasetsDir, SENTIMENT_DIR, "SOURCE.md"),
  };
}

/** Parses AFINN `term<TAB>score` lines. Multi-word terms are returned too; callers choose. */
export function parseAfinn(text: string, file: string): Map<string, number> {
  const terms = new Map<string, number>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    const tab = line.lastIndexOf("\t");
    const score = Number(line.slice(tab + 1));
    if (tab < 1 || !Number.isInteger(score) || score < -5 || score > 5) {
      throw new DatasetError(`${file}:${index + 1}: expected "term<TAB>integer score in -5..5"`, file, index + 1);
    }
    terms.set(line.slice(0, tab), score);
  });
  return terms;
}

export async function loadAfinn(datasetsDir: string): Promise<{ terms: Map<string, number>; sha256: string; file: string }> {
  const file = join(datasetsDir, SENTIMENT_DIR, AFINN_FILE);
  const bytes = await readText(file);
  return { terms: parseAfinn(bytes.toString("utf8"), file), sha256: createHash("sha256").update(bytes).digest("hex"), file };
}
