/**
 * MovieLens 100K, fold-1 training file `u1.base` (see ../shared/datasets/movielens-100k/SOURCE.md).
 *
 * Licence: GroupLens allows research use only, without redistribution. Tidecast uses it solely to
 * benchmark the recommender algorithm (`npm run eval:recs`); no model trained on it is ever
 * written to `models/`, and no part of it is copied into the repository.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError } from "../csv.ts";

export const MOVIELENS_DIR = "movielens-100k";
export const MOVIELENS_TRAIN_FILE = "u1.base";

export interface Rating {
  user: number;
  item: number;
  rating: number;
  /** unix seconds */
  timestamp: number;
}

/** Parses `user \t item \t rating \t timestamp` lines; a malformed line is a DatasetError with its number. */
export function parseRatings(text: string, file: string): Rating[] {
  const out: Rating[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === "") return;
    const parts = line.split("\t");
    const numbers = parts.map(Number);
    if (parts.length !== 4 || numbers.some((n) => !Number.isInteger(n))) {
      throw new DatasetError(`${file}:${i + 1}: expected 4 tab-separated integers, got "${line.slice(0, 80)}"`, file, i + 1);
    }
    const [user, item, rating, timestamp] = numbers as [number, number, number, number];
    if (rating < 1 || rating > 5) throw new DatasetError(`${file}:${i + 1}: rating ${rating} outside 1..5`, file, i + 1);
    out.push({ user, item, rating, timestamp });
  });
  return out;
}

export async function loadMovielensBase(datasetsDir: string): Promise<{ ratings: Rating[]; file: string }> {
  const file = join(datasetsDir, MOVIELENS_DIR, MOVIELENS_TRAIN_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new DatasetError(`${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, file, undefined, { cause });
  }
  return { ratings: parseRatings(text, file), file };
}
