/**
 * `npm run eval:nab:verify`: checks the TypeScript NAB scorer against NAB's published results.
 *
 * For each detector whose raw outputs are copied under `<DATASETS_DIR>/nab/results/<detector>/`
 * (numenta, windowedGaussian) and each profile it
 * 1. optimises the threshold, scores every file and normalises, as `run.py --optimize --score
 *    --normalize` does, and compares with `results/final_results.json`;
 * 2. scores at the threshold NAB recorded in `config/thresholds.json` and compares with the same
 *    final score and, file by file, with NAB's `<detector>_<profile>_scores.csv`.
 * Exits 1 when any final score differs by more than 0.1.
 *
 * Why both: NAB's published thresholds came from an older optimiser (a local "twiddle" search);
 * the current exact sweep can find a better threshold (numenta, reward_low_FP_rate: 63.21 vs 63.12).
 */
import { loadConfig } from "../../config.ts";
import { benchmarkDetector, loadCorpus, nullBaselines } from "./benchmark.ts";
import type { ProfileResult } from "./benchmark.ts";
import { loadFinalResults, loadThresholds, readAnomalyScores, readPublishedFileScores, resultsFilePath } from "./corpus.ts";
import { NabError } from "./errors.ts";
import { fixed, formatTable, signed } from "./report.ts";

const DETECTORS = ["numenta", "windowedGaussian"] as const;
const TOLERANCE = 0.1;

async function maxFileDifference(resultsDir: string, detector: string, result: ProfileResult): Promise<string> {
  const published = await readPublishedFileScores(resultsDir, detector, result.profile);
  if (!published) return "-";
  let worst = 0;
  for (const f of result.files) {
    const d = Math.abs(f.score - (published.get(f.name) ?? NaN));
    if (!(d <= worst)) worst = d;
  }
  return worst.toExponential(1);
}

async function main(): Promise<number> {
  const started = performance.now();
  const corpus = await loadCorpus(loadConfig().DATASETS_DIR);
  const [published, nabThresholds] = await Promise.all([loadFinalResults(corpus.paths.finalResults), loadThresholds(corpus.paths.thresholds)]);
  const baselines = nullBaselines(corpus);

  const rows: string[][] = [];
  let worst = 0;
  for (const detector of DETECTORS) {
    const scores = new Map<string, number[]>();
    for (const s of corpus.series) {
      const file = resultsFilePath(corpus.paths.results, detector, s.name);
      const read = await readAnomalyScores(file);
      if (read.scores.length !== s.timestamps.length) throw new NabError(`${file}: ${read.scores.length} rows, the data file has ${s.timestamps.length}`);
      scores.set(s.name, read.scores);
    }
    const optimised = benchmarkDetector(corpus, scores, { baselines });
    const atNab = nabThresholds.get(detector);
    const fixedRun = atNab ? benchmarkDetector(corpus, scores, { baselines, thresholds: atNab }) : [];
    for (const [i, result] of optimised.entries()) {
      const reference = published.get(detector)?.get(result.profile);
      const delta = reference === undefined ? NaN : result.normalised - reference;
      worst = Math.max(worst, Number.isNaN(delta) ? Infinity : Math.abs(delta));
      const fixedResult = fixedRun[i];
      const fixedDelta = fixedResult && reference !== undefined ? fixedResult.normalised - reference : NaN;
      rows.push([
        detector,
        result.profile,
        fixed(reference, 4),
        result.threshold.toFixed(6),
        fixed(result.normalised, 4),
        signed(delta, 4),
        fixedResult ? fixedResult.threshold.toFixed(6) : "-",
        fixed(fixedResult?.normalised, 4),
        signed(fixedDelta, 4),
        fixedResult ? await maxFileDifference(corpus.paths.results, detector, fixedResult) : "-",
      ]);
    }
  }

  const lines = [
    `NAB scorer check: ${corpus.series.length} files, ${corpus.windowCount} windows; null detector ${[...baselines].map(([p, b]) => `${p} ${b}`).join(", ")}`,
    "",
    formatTable(["detector", "profile", "published", "our thr.", "ours", "delta", "NAB thr.", "at NAB thr.", "delta", "max file diff"], rows),
    "",
    "ours: our optimiser's threshold; at NAB thr.: scored at config/thresholds.json;",
    "max file diff: largest |score| difference from NAB's per-file <detector>_<profile>_scores.csv at NAB's threshold.",
    `${((performance.now() - started) / 1000).toFixed(1)} s; largest |delta| after optimising ${worst.toFixed(4)} (tolerance ${TOLERANCE})`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return worst <= TOLERANCE ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`eval:nab:verify: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
