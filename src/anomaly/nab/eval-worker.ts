/**
 * Child process of `npm run eval:nab`: reads the data files it is given, runs the detector over
 * each and sends the scores back, one message per file. Started with `--import tsx` by eval-cli.
 */
import { readSeries } from "./corpus.ts";
import type { DetectorOverrides } from "./detect.ts";
import { detectSeries } from "./detect.ts";

export interface EvalJob {
  dataDir: string;
  names: string[];
  overrides: DetectorOverrides;
}

export interface EvalReply {
  name: string;
  scores: number[];
  milliseconds: number;
}

process.once("message", (job: EvalJob) => {
  void (async () => {
    for (const name of job.names) {
      const series = await readSeries(job.dataDir, name);
      const started = performance.now();
      const scores = detectSeries(series.timestamps, series.values, job.overrides);
      const reply: EvalReply = { name, scores, milliseconds: performance.now() - started };
      await new Promise<void>((resolve, reject) => process.send!(reply, undefined, {}, (error) => (error ? reject(error) : resolve())));
    }
    process.disconnect();
  })().catch((error: unknown) => {
    process.stderr.write(`eval:nab worker: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  });
});
