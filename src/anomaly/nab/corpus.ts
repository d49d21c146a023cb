/**
 * Reading the NAB corpus as copied under `<DATASETS_DIR>/nab` (see its SOURCE.md): the 58 data
 * files, the labelled windows, the scoring profiles, published raw detector outputs and final
 * scores. Every failure names the file (and the line, where there is one).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatasetError, readCsv } from "../../training/csv.ts";
import type { CostMatrix, WindowLimits } from "./sweeper.ts";

export const NAB_DIR = "nab";

/** Where each part of the corpus lives. */
export interface NabPaths {
  root: string;
  /** `config/thresholds.json`: NAB's published optimised thresholds */
  thresholds: string;
  data: string;
  windows: string;
  profiles: string;
  results: string;
  finalResults: string;
}

export function nabPaths(datasetsDir: string): NabPaths {
  const root = join(datasetsDir, NAB_DIR);
  return {
    root,
    thresholds: join(root, "config", "thresholds.json"),
    data: join(root, "data"),
    windows: join(root, "labels", "combined_windows.json"),
    profiles: join(root, "config", "profiles.json"),
    results: join(root, "results"),
    finalResults: join(root, "results", "final_results.json"),
  };
}

export interface Profile {
  name: string;
  costMatrix: CostMatrix;
}

/** One data file: timestamps (epoch ms, from the `YYYY-MM-DD HH:MM:SS` text read as UTC) and values. */
export interface NabSeries {
  /** relative path, e.g. `realKnownCause/nyc_taxi.csv` */
  name: string;
  timestamps: number[];
  values: number[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC milliseconds; NaN when it is not one. */
export function parseNabTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return frac === undefined ? ms : ms + Number(frac.padEnd(6, "0")) / 1000;
}

/** `YYYY-MM-DD HH:MM:SS`, the inverse of {@link parseNabTimestamp} for whole seconds. */
export function formatNabTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: ${code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(cause)})`}`, file, undefined, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new DatasetError(`${file}: not valid JSON: ${(cause as Error).message}`, file, undefined, { cause });
  }
}

/** `labels/combined_windows.json`: relative path → sorted windows (epoch ms limits). */
export async function loadWindows(file: string): Promise<Map<string, WindowLimits[]>> {
  const json = await readJson(file);
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new DatasetError(`${file}: expected an object of file → windows`, file);
  const out = new Map<string, WindowLimits[]>();
  for (const [name, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new DatasetError(`${file}: windows of ${name} are not a list`, file);
    const windows = list.map((w: unknown): WindowLimits => {
      const limits = Array.isArray(w) && w.length === 2 && w.every((x) => typeof x === "string") ? w.map((x: string) => parseNabTimestamp(x)) : [];
      if (limits.length !== 2 || limits.some(Number.isNaN) || limits[0]! > limits[1]!) {
        throw new DatasetError(`${file}: ${name}: window ${JSON.stringify(w)} is not [start, end] timestamps`, file);
      }
      return [limits[0]!, limits[1]!];
    });
    windows.sort((a, b) => a[0] - b[0]);
    out.set(name, windows);
  }
  return out;
}

/** `config/profiles.json`, in file order (standard, reward_low_FP_rate, reward_low_FN_rate). */
export async function loadProfiles(file: string): Promise<Profile[]> {
  const json = await readJson(file);
  if (typeof json !== "object" || json === null) throw new DatasetError(`${file}: expected an object of profiles`, file);
  return Object.entries(json).map(([name, value]) => {
    const m = (value as { CostMatrix?: Record<string, unknown> }).CostMatrix;
    const weight = (key: keyof CostMatrix): number => {
      const x = m?.[key];
      if (typeof x !== "number" || !Number.isFinite(x)) throw new DatasetError(`${file}: profile ${name} lacks a numeric CostMatrix.${key}`, file);
      return x;
    };
    return { name, costMatrix: { tpWeight: weight("tpWeight"), fpWeight: weight("fpWeight"), fnWeight: weight("fnWeight"), tnWeight: weight("tnWeight") } };
  });
}

/** The data files under `data/` as relative paths (`folder/file.csv`), sorted. */
export async function listDataFiles(dataDir: string): Promise<string[]> {
  let folders: string[];
  try {
    folders = (await readdir(dataDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (cause) {
    throw new DatasetError(`${dataDir}: cannot list the NAB data folder (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, dataDir, undefined, { cause });
  }
  const names: string[] = [];
  for (const folder of folders.sort()) {
    for (const f of (await readdir(join(dataDir, folder))).sort()) if (f.endsWith(".csv")) names.push(`${folder}/${f}`);
  }
  return names;
}

/** Reads a `timestamp,value` data file. */
export async function readSeries(dataDir: string, name: string): Promise<NabSeries> {
  const file = join(dataDir, name);
  const table = await readCsv(file, { requiredColumns: ["timestamp", "value"] });
  const timestamps = new Array<number>(table.rows.length);
  const values = new Array<number>(table.rows.length);
  table.rows.forEach((row, i) => {
    const t = parseNabTimestamp(row["timestamp"]!);
    const raw = row["value"]!.trim();
    const v = Number(raw);
    if (Number.isNaN(t)) throw new DatasetError(`${file}:${table.lines[i]}: timestamp "${row["timestamp"]}" is not YYYY-MM-DD HH:MM:SS`, file, table.lines[i]);
    if (raw === "" || !Number.isFinite(v)) throw new DatasetError(`${file}:${table.lines[i]}: value "${row["value"]}" is not a number`, file, table.lines[i]);
    timestamps[i] = t;
    values[i] = v;
  });
  return { name, timestamps, values };
}

/** Path of a detector's raw output for a data file: `results/<det>/<folder>/<det>_<file>.csv`. */
export function resultsFilePath(resultsDir: string, detector: string, name: string): string {
  const slash = name.lastIndexOf("/");
  return join(resultsDir, detector, name.slice(0, slash), `${detector}_${name.slice(slash + 1)}`);
}

/** Reads the `anomaly_score` column of a detector's raw output file. */
export async function readAnomalyScores(file: string): Promise<{ timestamps: number[]; scores: number[] }> {
  const table = await readCsv(file, { requiredColumns: ["timestamp", "anomaly_score"] });
  const timestamps = new Array<number>(table.rows.length);
  const scores = new Array<number>(table.rows.length);
  table.rows.forEach((row, i) => {
    const raw = row["anomaly_score"]!.trim();
    const s = Number(raw);
    if (raw === "" || !Number.isFinite(s)) throw new DatasetError(`${file}:${table.lines[i]}: anomaly_score "${row["anomaly_score"]}" is not a number`, file, table.lines[i]);
    timestamps[i] = parseNabTimestamp(row["timestamp"]!);
    scores[i] = s;
  });
  return { timestamps, scores };
}

/**
 * Checks, as NAB's labeler does, that every window limit is a timestamp of its file and that the
 * windows do not overlap.
 */
export function checkWindows(series: NabSeries, windows: readonly WindowLimits[], windowsFile: string): void {
  const present = new Set(series.timestamps);
  for (const [i, w] of windows.entries()) {
    for (const t of w) {
      if (!present.has(t)) {
        throw new DatasetError(`${windowsFile}: ${series.name}: window limit ${formatNabTimestamp(t)} is not a timestamp of the data file`, windowsFile);
      }
    }
    const prev = windows[i - 1];
    if (prev && w[0] < prev[1]) throw new DatasetError(`${windowsFile}: ${series.name}: windows overlap`, windowsFile);
  }
}

/** `results/final_results.json`: detector → profile → normalised score. */
export async function loadFinalResults(file: string): Promise<Map<string, Map<string, number>>> {
  const json = await readJson(file);
  if (typeof json !== "object" || json === null) throw new DatasetError(`${file}: expected an object of detector → profile → score`, file);
  const out = new Map<string, Map<string, number>>();
  for (const [detector, profiles] of Object.entries(json)) {
    const m = new Map<string, number>();
    for (const [profile, score] of Object.entries(profiles as Record<string, unknown>)) {
      if (typeof score !== "number") throw new DatasetError(`${file}: ${detector}.${profile} is not a number`, file);
      m.set(profile, score);
    }
    out.set(detector, m);
  }
  return out;
}

/** `config/thresholds.json`: detector → profile → the threshold NAB's results were scored at. */
export async function loadThresholds(file: string): Promise<Map<string, Map<string, number>>> {
  const json = await readJson(file);
  if (typeof json !== "object" || json === null) throw new DatasetError(`${file}: expected an object of detector → profile → threshold`, file);
  const out = new Map<string, Map<string, number>>();
  for (const [detector, profiles] of Object.entries(json)) {
    const m = new Map<string, number>();
    for (const [profile, entry] of Object.entries(profiles as Record<string, unknown>)) {
      const t = (entry as { threshold?: unknown } | null)?.threshold;
      if (typeof t !== "number") throw new DatasetError(`${file}: ${detector}.${profile}.threshold is not a number`, file);
      m.set(profile, t);
    }
    out.set(detector, m);
  }
  return out;
}

/**
 * NAB's own per-file table `results/<det>/<det>_<profile>_scores.csv` (File, Threshold, Score,
 * TP, TN, FP, FN): file → score, for checking a scorer file by file. Missing file → undefined.
 */
export async function readPublishedFileScores(resultsDir: string, detector: string, profile: string): Promise<Map<string, number> | undefined> {
  const file = join(resultsDir, detector, `${detector}_${profile}_scores.csv`);
  let table;
  try {
    table = await readCsv(file, { requiredColumns: ["File", "Score"] });
  } catch (error) {
    if (error instanceof DatasetError && (error.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
    throw error;
  }
  const out = new Map<string, number>();
  for (const row of table.rows) if (row["File"]) out.set(row["File"], Number(row["Score"]));
  return out;
}
