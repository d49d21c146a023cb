import { randomUUID } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { WaitingError, type Job } from "bullmq";
import type { Config } from "../config.ts";
import { ConflictError, ModelNotFoundError, ServiceUnavailableError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { compareVersions } from "../models/index.ts";
import { modelDir } from "../training/artifacts.ts";
import { QUEUES, readJob, type Queues, type TrainingJobData } from "./queues.ts";
import { runTraining, type TrainingEvent, type TrainingResult } from "./training-runner.ts";
import { notice } from "../webhooks/index.ts";
import { jobRunId, type JobDefinition } from "./workers.ts";

const JOB_NAME = "train";

export type TrainingStage = "queued" | "starting" | "training" | "writing" | "completed";

/** A training job's progress (BullMQ job progress; bull-board shows it as is). */
export interface TrainingProgress {
  stage: TrainingStage;
  percent: number;
  /** the trainer's last log line */
  message: string;
}

const STARTING_PERCENT = 2;
const TRAINING_FROM_PERCENT = 5;
const TRAINING_TO_PERCENT = 90;
const WRITING_PERCENT = 95;

/**
 * Trainers report log lines, not fractions of their work: within training the percent is an
 * estimate that rises with every line, towards (never to) TRAINING_TO_PERCENT.
 */
function trainingPercent(lines: number): number {
  const percent = TRAINING_FROM_PERCENT + (TRAINING_TO_PERCENT - TRAINING_FROM_PERCENT) * (1 - 0.8 ** lines);
  return Math.round(percent * 10) / 10;
}

/** The training queue's job: runs a trainer in a child process and writes a new version directory. */
export function trainingJob(config: Pick<Config, "MODELS_DIR" | "DATASETS_DIR">, log: Logger): JobDefinition<TrainingJobData> {
  return {
    queue: QUEUES.training,
    // one at a time in a process; the queue's global concurrency of 1 (startJobs) covers every process
    concurrency: 1,
    async process(job, token, signal) {
      // progress writes go out in order, and a failed write (Redis away a moment) does not stop training
      let written = Promise.resolve();
      const report = (progress: TrainingProgress) => {
        written = written.then(() => job.updateProgress(progress)).catch((err: unknown) => log.warn({ err, job: job.id }, "training progress not recorded"));
      };
      let lines = 0;
      const onEvent = (event: TrainingEvent) => {
        if (event.kind === "log") report({ stage: "training", percent: trainingPercent(++lines), message: event.line });
        else report({ stage: "writing", percent: WRITING_PERCENT, message: `writing ${job.data.model} ${job.data.version}` });
      };
      report({ stage: "starting", percent: STARTING_PERCENT, message: `starting ${job.data.trainer}` });
      let result: TrainingResult;
      try {
        result = await runTraining(
          { trainer: job.data.trainer, version: job.data.version, modelsDir: config.MODELS_DIR, datasetsDir: config.DATASETS_DIR },
          onEvent,
          signal,
        );
      } catch (err) {
        await written;
        // the process is stopping: training starts over in the next jobs process to take the job
        if (signal.aborted) {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        throw err;
      }
      report({ stage: "completed", percent: 100, message: `wrote ${result.model_dir}` });
      await written;
      return result;
    },
    // the failed job keeps its reason (GET /api/v1/training/{job_id}); nothing else records a run
    async onFailed() {},
    async notice(job, outcome) {
      const result = outcome.status === "completed" ? (outcome.result as TrainingResult) : null;
      return notice("model.trained", jobRunId(job), null, {
        model: job.data.model,
        version: job.data.version,
        job_id: job.id,
        status: outcome.status,
        metrics: result?.metrics ?? null,
        seconds: result?.seconds ?? null,
        error: outcome.status === "failed" ? outcome.error : null,
        status_url: trainingStatusUrl(job.id!),
      });
    },
  };
}

/** The version a job writes when none is asked for: one patch above the newest on disk. */
async function nextVersion(modelsDir: string, model: string, recipe: string): Promise<string> {
  const entries = await readdir(join(modelsDir, model), { withFileTypes: true }).catch(() => []);
  const versions = entries.filter((e) => e.isDirectory() && /^\d+(\.\d+)*$/.test(e.name)).map((e) => e.name);
  const newest = versions.sort(compareVersions).at(-1);
  if (!newest) return recipe;
  const parts = newest.split(".").map(Number);
  parts.push(parts.pop()! + 1);
  return parts.join(".");
}

/**
 * Queues the training of `ref` (a model name, or `<name>@<version>` for an earlier recipe) into a
 * new version directory: `version`, or one patch above the newest on disk. 404 for a model without
 * a trainer; 409 when that version exists, or when a job for the model is waiting or running.
 */
export async function enqueueTraining(queues: Queues, modelsDir: string, ref: string, version: string | undefined): Promise<Job<TrainingJobData>> {
  // loaded on the first request, not at start: the trainers take most of a second to import, and
  // every process (pipelines too) imports this module, while only the training child trains
  const { findTrainer } = await import("../training/registry.ts");
  const trainer = findTrainer(ref);
  if (!trainer) throw new ModelNotFoundError(ref);
  const target = version ?? (await nextVersion(modelsDir, trainer.name, trainer.version));
  const dir = modelDir(modelsDir, trainer.name, target);
  if (await stat(dir).then(() => true, () => false)) {
    throw new ConflictError(`${trainer.name} ${target} exists already; a trained version never replaces one: ask for another version`, {
      model_id: trainer.name,
      version: target,
    });
  }
  const jobId = randomUUID();
  // BullMQ deduplication: while a job of this model is waiting or active, adding answers that job
  let job;
  try {
    job = await queues.training.add(JOB_NAME, { model: trainer.name, trainer: ref, version: target }, { jobId, deduplication: { id: trainer.name } });
  } catch (err) {
    throw new ServiceUnavailableError("The job queue is unavailable; try again", { cause: String(err) });
  }
  if (job.id !== jobId) {
    throw new ConflictError(`A training job for ${trainer.name} is already waiting or running`, {
      model_id: trainer.name,
      job_id: job.id,
      status_url: trainingStatusUrl(job.id!),
    });
  }
  return job;
}

export function trainingStatusUrl(jobId: string): string {
  return `/api/v1/training/${jobId}`;
}

export interface TrainingJobState {
  job_id: string;
  model_id: string;
  /** the version directory the job writes */
  version: string;
  trainer: string;
  state: "queued" | "running" | "completed" | "failed";
  progress: TrainingProgress;
  result: TrainingResult | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  status_url: string;
}

const QUEUED: TrainingProgress = { stage: "queued", percent: 0, message: "waiting for the training queue" };

/** A training job as the API shows it, or null when there is none with this id. */
export async function trainingJobState(queues: Queues, jobId: string): Promise<TrainingJobState | null> {
  const found = await readJob(queues.training, jobId);
  if (!found) return null;
  const { state, job } = found;
  const progress = typeof job.progress === "object" && job.progress !== null && "stage" in job.progress ? (job.progress as unknown as TrainingProgress) : QUEUED;
  const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
  return {
    job_id: jobId,
    model_id: job.data.model,
    version: job.data.version,
    trainer: job.data.trainer,
    state: state === "completed" || state === "failed" ? state : state === "active" ? "running" : "queued",
    progress,
    result: state === "completed" ? (job.returnvalue as TrainingResult) : null,
    error: state === "failed" ? job.failedReason : null,
    created_at: new Date(job.timestamp).toISOString(),
    started_at: iso(job.processedOn),
    finished_at: iso(job.finishedOn),
    status_url: trainingStatusUrl(jobId),
  };
}
