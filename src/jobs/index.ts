import type { Knex } from "knex";
import type { Config } from "../config.ts";
import { ImportStore, openUploadStore, type UploadStore } from "../ingest/index.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { ModelRegistry } from "../models/index.ts";
import type { Bus } from "../streams/index.ts";
import { importJob } from "./imports.ts";
import { createQueues, type Queues } from "./queues.ts";
import { recommendationBatchJob } from "./recommendation-batches.ts";
import { trainingJob } from "./training.ts";
import { noticePublisher } from "../webhooks/index.ts";
import { webhookDeliveryJob } from "./webhook-deliveries.ts";
import { JobWorkers } from "./workers.ts";

export { enqueueImport, importJob, importJobState, requeueImport } from "./imports.ts";
export type { ImportJobState } from "./imports.ts";
export { createQueues, queuePrefix, QUEUES, webhookDeliveryQueue } from "./queues.ts";
export type { ImportJobData, Queues, RecommendationBatchData, TrainingJobData, WebhookDeliveryData } from "./queues.ts";
export {
  enqueueRecommendationBatch,
  recommendationBatchJob,
  recommendationBatchState,
  recommendationBatchStats,
  retryRecommendationBatch,
} from "./recommendation-batches.ts";
export type { RecommendationBatchOutput, RecommendationBatchState } from "./recommendation-batches.ts";
export { enqueueTraining, trainingJob, trainingJobState, trainingStatusUrl } from "./training.ts";
export type { TrainingJobState, TrainingProgress, TrainingStage } from "./training.ts";
export type { TrainingResult } from "./training-runner.ts";
export { enqueueDeliveries, requeueDelivery, webhookDeliveryJob } from "./webhook-deliveries.ts";
export { JobWorkers } from "./workers.ts";
export type { JobDefinition } from "./workers.ts";

export interface JobsDeps {
  config: Config;
  db: Knex;
  bus: Bus;
  registry: ModelRegistry;
  metrics: Metrics;
  log: Logger;
}

/** The job layer of one process: queues (to add jobs and read progress), uploads, and maybe workers. */
export interface Jobs {
  queues: Queues;
  uploads: UploadStore;
  imports: ImportStore;
  /** present when this process runs the `jobs` role */
  workers: JobWorkers | null;
  /** stops the workers (running jobs checkpoint and requeue themselves), then closes the queues */
  close(): Promise<void>;
}

export async function startJobs(deps: JobsDeps, runWorkers: boolean): Promise<Jobs> {
  const { config, log } = deps;
  const queues = createQueues(config);
  let workers: JobWorkers | null = null;
  try {
    const uploads = openUploadStore(deps.bus, config.STREAM_PREFIX);
    const imports = new ImportStore(deps.db);
    await Promise.all(queues.all().map((q) => q.waitUntilReady()));
    if (runWorkers) {
      // one training job at a time across every jobs process: each takes a CPU core for minutes
      await queues.training.setGlobalConcurrency(1);
      workers = new JobWorkers(config, log.child({ component: "jobs" }), noticePublisher(deps.bus));
      await workers.start([
        importJob({ imports, uploads, bus: deps.bus, registry: deps.registry, metrics: deps.metrics, log }, config.IMPORT_CONCURRENCY),
        trainingJob(config, log.child({ component: "training" })),
        recommendationBatchJob(deps, 2),
        // deliveries wait on other servers: many at once cost little here
        webhookDeliveryJob(deps, 16),
      ]);
    }
    const w = workers;
    return {
      queues,
      uploads,
      imports,
      workers,
      close: async () => {
        try {
          await w?.stop();
        } finally {
          await queues.close();
        }
      },
    };
  } catch (err) {
    await workers?.stop().catch(() => undefined);
    await queues.close().catch(() => undefined);
    throw err;
  }
}
