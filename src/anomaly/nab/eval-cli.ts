/**
 * `npm run eval:nab`: the Numenta Anomaly Benchmark for Tidecast's streaming detector.
 *
 * Runs the detector point by point over all 58 NAB files (in child processes, one per core),
 * scores the output with the TypeScript NAB scorer on the three profiles (threshold optimised
 * over the corpus, as NAB does), and prints the result beside the published detectors of
 * `results/final_results.json`. The raw scores are written in NAB's results layout
 * (`<out>/tidecast/<folder>/tidecast_<file>.csv`, columns timestamp,value,anomaly_score,label)
 * with a summary JSON, under a gitignored folder.
 *
 *   npm run eval:nab [-- --out DIR] [--workers N] [--set historyLength=4000 ...]
 *
 * `--set` overrides a detector setting for an experiment; the learning period always comes from
 * the file (NAB's probationary period).
 */
import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig, ROOT_DIR } from "../../config.ts";
import type { DetectorConfig } from "../detector/index.ts";
import { DEFAULT_DETECTOR_CONFIG, DEFAULT_REFRACTORY_FRACTION, resolveDetectorConfig } from "../detector/index.ts";
import { benchmarkDetector, loadCorpus } from "./benchmark.ts";
import type { NabCorpus, ProfileResult } from "./benchmark.ts";
import { formatNabTimestamp, loadFinalResults } from "./corpus.ts";
import type { DetectorOverrides } from "./detect.ts";
import { NabError } from "./errors.ts";
import type { EvalJob, EvalReply } from "./eval-worker.ts";
import { fixed, formatTable } from "./report.ts";

const DETECTOR_NAME = "tidecast";
const DEFAULT_OUT = join(ROOT_DIR, "test-results", "nab");
const WORKER = fileURLToPath(new URL("./eval-worker.ts", import.meta.url));

function parseOverrides(pairs: readonly string[]): DetectorOverrides {
  const keys = new Set<string>([...Object.keys(DEFAULT_DETECTOR_CONFIG), "refractoryPeriod"]);
  keys.delete("learningPeriod");
  const overrides: Record<string, number> = {};
  for (const pair of pairs) {
    const [key, raw] = pair.split("=", 2);
    if (!key || raw === undefined || !keys.has(key)) throw new NabError(`--set ${pair}: expected <setting>=<number> with a setting among ${[...keys].join(", ")}`);
    overrides[key] = Number(raw);
  }
  resolveDetectorConfig(overrides as Partial<DetectorConfig>); // fails fast on a bad value
  return overrides as DetectorOverrides;
}

/** Runs the detector over every file, spreading files over `workers` child processes. */
async function detectAll(corpus: NabCorpus, workers: number, overrides: DetectorOverrides): Promise<{ scores: Map<string, number[]>; cpuMs: number }> {
  // Longest files first, each to the least loaded worker.
  const groups = Array.from({ length: workers }, () => ({ names: [] as string[], rows: 0 }));
  for (const s of [...corpus.series].sort((a, b) => b.values.length - a.values.length)) {
    const g = groups.reduce((a, b) => (b.rows < a.rows ? b : a));
    g.names.push(s.name);
    g.rows += s.values.length;
  }
  const scores = new Map<string, number[]>();
  let cpuMs = 0;
  await Promise.all(
    groups
      .filter((g) => g.names.length > 0)
      .map(
        (g) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(WORKER, [], { execArgv: ["--import", "tsx"], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
            child.on("message", (reply: EvalReply) => {
              scores.set(reply.name, reply.scores);
              cpuMs += reply.milliseconds;
            });
            child.on("error", reject);
            child.on("exit", (code) => (code === 0 ? resolve() : reject(new NabError(`detector worker exited with code ${code}`))));
            const job: EvalJob = { dataDir: corpus.paths.data, names: g.names, overrides };
            child.send(job);
          }),
      ),
  );
  return { scores, cpuMs };
}

async function writeRawScores(out: string, corpus: NabCorpus, scores: ReadonlyMap<string, readonly number[]>): Promise<void> {
  for (const s of corpus.series) {
    const slash = s.name.lastIndexOf("/");
    const file = join(out, DETECTOR_NAME, s.name.slice(0, slash), `${DETECTOR_NAME}_${s.name.slice(slash + 1)}`);
    const windows = corpus.windows.get(s.name) ?? [];
    const a = scores.get(s.name)!;
    const lines = ["timestamp,value,anomaly_score,label"];
    for (let i = 0; i < s.values.length; i++) {
      const t = s.timestamps[i]!;
      const label = windows.some(([from, to]) => t >= from && t <= to) ? 1 : 0;
      lines.push(`${formatNabTimestamp(t)},${s.values[i]},${a[i]},${label}`);
    }
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${lines.join("\n")}\n`);
  }
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      out: { type: "string", default: DEFAULT_OUT },
      workers: { type: "string", default: String(availableParallelism()) },
      set: { type: "string", multiple: true, default: [] },
    },
  });
  const workers = Number(args.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new NabError(`--workers must be a positive integer, got ${args.workers}`);
  const overrides = parseOverrides(args.set);

  const started = performance.now();
  const corpus = await loadCorpus(loadConfig().DATASETS_DIR);
  const published = await loadFinalResults(corpus.paths.finalResults);
  const rows = corpus.series.reduce((n, s) => n + s.values.length, 0);
  process.stderr.write(`running the detector over ${corpus.series.length} files (${rows} points) on ${workers} worker(s)…\n`);
  const { scores, cpuMs } = await detectAll(corpus, Math.min(workers, corpus.series.length), overrides);
  const detectSeconds = (performance.now() - started) / 1000;
  const results = benchmarkDetector(corpus, scores);

  await writeRawScores(args.out, corpus, scores);
  const settings = { ...DEFAULT_DETECTOR_CONFIG, learningPeriod: "NAB probationary period of each file", refractoryPeriod: `${DEFAULT_REFRACTORY_FRACTION} × learning period`, ...overrides };
  const summary = {
    detector: DETECTOR_NAME,
    settings,
    points: rows,
    microsecondsPerPoint: (1000 * cpuMs) / rows,
    profiles: Object.fromEntries(results.map((r) => [r.profile, { normalised: r.normalised, raw: r.rawScore, threshold: r.threshold, ...r.counts }])),
    files: Object.fromEntries(results[0]!.files.map((f) => [f.name, f.score])),
  };
  await writeFile(join(args.out, `${DETECTOR_NAME}_summary.json`), `${JSON.stringify(summary, null, 2)}\n`);

  process.stdout.write(`${report(results, published, settings, rows, cpuMs, detectSeconds, relative(process.cwd(), args.out) || ".")}\n`);
  return 0;
}

function report(
  results: ProfileResult[],
  published: Map<string, Map<string, number>>,
  settings: Record<string, unknown>,
  rows: number,
  cpuMs: number,
  seconds: number,
  out: string,
): string {
  const profiles = results.map((r) => r.profile);
  const ours = `${DETECTOR_NAME} (this run)`;
  const table = [
    { name: ours, scores: results.map((r) => r.normalised) },
    ...[...published].map(([name, m]) => ({ name, scores: profiles.map((p) => m.get(p) ?? NaN) })),
  ].sort((a, b) => (b.scores[0] ?? 0) - (a.scores[0] ?? 0));
  const detail = results.map((r) => [r.profile, r.threshold.toFixed(6), fixed(r.rawScore, 3), fixed(r.baseline, 1), fixed(r.perfect, 1), String(r.counts.tp), String(r.counts.fp), String(r.counts.fn)]);
  return [
    `NAB v1.1, ${results[0]!.files.length} files, ${rows} points; settings ${JSON.stringify(settings)}`,
    `detector: ${((1000 * cpuMs) / rows).toFixed(1)} µs per point; wall time ${seconds.toFixed(1)} s`,
    "",
    formatTable(["detector", ...profiles], table.map((t) => [t.name === ours ? `» ${t.name}` : t.name, ...t.scores.map((x) => fixed(x, 2))])),
    "",
    formatTable(["profile", "threshold", "raw score", "null", "perfect", "TP rows", "FP rows", "FN rows"], detail),
    "",
    `raw scores: ${out}/${DETECTOR_NAME}/ (NAB results layout), summary: ${out}/${DETECTOR_NAME}_summary.json`,
  ].join("\n");
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`eval:nab: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
