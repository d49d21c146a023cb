import { Worker, type Job } from "bullmq";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Notice, PublishNotice } from "../webhooks/index.ts";
import { queuePrefix, redisOptions } from "./queues.ts";

/** How a job ended, for its notice. */
export type JobOutcome = { status: "completed"; result: unknown } | { status: "failed"; error: string };

/** A finished job's run, for a notice id: a job retried by hand (seed 004's retry) runs, and notifies, again. */
export function jobRunId(job: Job): string {
  return `${job.queueName}:${job.id}:${job.processedOn ?? 0}`;
}

/** How one queue's jobs are run. */
export interface JobDefinition<D = unknown> {
  queue: string;
  /** jobs of this queue one process runs at once */
  concurrency: number;
  /**
   * Runs a job. `signal` is aborted when the process stops: a job that can checkpoint does so,
   * moves itself back to the queue and throws WaitingError, so another process resumes it.
   */
  process(job: Job<D>, token: string, signal: AbortSignal): Promise<unknown>;
  /** called once a job has failed for good (its attempts used up, or an UnrecoverableError) */
  onFailed(job: Job<D>, err: Error): Promise<void>;
  /** the webhooks' notice of a finished job (src/webhooks), if its queue has one */
  notice?(job: Job<D>, outcome: JobOutcome): Promise<Notice | null>;
}

/** Times a job may be found stalled (its process died) before it fails for good. */
const MAX_STALLED = 3;

/**
 * The BullMQ workers of one process, with an explicit lifecycle. A job whose process was killed
 * keeps its lock until JOB_LOCK_MS passes; BullMQ's stalled-job check then puts it back in the
 * queue (at most MAX_STALLED times), and the job resumes from the progress it reported.
 */
export class JobWorkers {
  private readonly workers: Worker[] = [];

  constructor(
    private readonly config: Pick<Config, "REDIS_URL" | "STREAM_PREFIX" | "JOB_LOCK_MS">,
    private readonly log: Logger,
    private readonly publishNotice: PublishNotice,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async start(definitions: ReadonlyArray<JobDefinition<any>>): Promise<void> {
    for (const def of definitions) {
      // three declared parameters: BullMQ passes the abort signal only to a processor that takes one
      const worker = new Worker(
        def.queue,
        async (job, token, signal) => {
          const result = await def.process(job, token!, signal!);
          await this.notify(def, job, { status: "completed", result });
          return result;
        },
        {
          connection: redisOptions(this.config, "worker"),
          prefix: queuePrefix(this.config),
          concurrency: def.concurrency,
          lockDuration: this.config.JOB_LOCK_MS,
          stalledInterval: this.config.JOB_LOCK_MS,
          maxStalledCount: MAX_STALLED,
        },
      );
      worker.on("error", (err) => this.log.error({ err, queue: def.queue }, "job worker error"));
      worker.on("failed", (job, err) => {
        // finishedOn is set only when no retry follows
        if (!job?.finishedOn) return;
        this.log.warn({ err, queue: def.queue, job: job.id }, "job failed");
        def
          .onFailed(job, err)
          .then(() => this.notify(def, job, { status: "failed", error: err.message }))
          .catch((e: unknown) => this.log.error({ err: e, job: job.id }, "recording a failed job failed"));
      });
      this.workers.push(worker);
      await worker.waitUntilReady();
    }
    this.log.info({ queues: definitions.map((d) => d.queue) }, "job workers started");
  }

  /**
   * Publishes a finished job's notice. One that cannot be published is logged and the job's
   * outcome stands: a training run or an import is not repeated for a webhook.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async notify(def: JobDefinition<any>, job: Job, outcome: JobOutcome): Promise<void> {
    try {
      const notice = await def.notice?.(job, outcome);
      if (notice) await this.publishNotice(notice);
    } catch (err) {
      this.log.warn({ err, queue: def.queue, job: job.id }, "could not publish a finished job's notice");
    }
  }

  /** Asks running jobs to checkpoint and requeue themselves, then closes every worker. */
  async stop(): Promise<void> {
    for (const w of this.workers) w.cancelAllJobs("process stopping");
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
