import { Queue, type Job, type JobState, type RedisOptions } from "bullmq";
import type { Config } from "../config.ts";

/** Every BullMQ queue of the platform: long work that reports progress (bull-board lists these). */
export const QUEUES = {
  /** CSV imports: src/ingest/run-import.ts */
  imports: "imports",
  /** model training: src/jobs/training.ts */
  training: "training",
  /** seed 004's batch recommendations: src/jobs/recommendation-batches.ts */
  recommendationBatches: "recommendation-batches",
  /** webhook deliveries, one job per delivery: src/jobs/webhook-deliveries.ts */
  webhookDeliveries: "webhook-deliveries",
} as const;

export interface ImportJobData {
  importId: string;
}

export interface TrainingJobData {
  /** the model's name */
  model: string;
  /** what findTrainer was given: the model's name, or `<name>@<version>` for an earlier recipe */
  trainer: string;
  /** the version directory the job writes: it must not exist */
  version: string;
}

export interface RecommendationBatchData {
  customerIds: string[];
  /** who asked: only they (and admins) may read the results */
  userId: number;
}

export interface WebhookDeliveryData {
  deliveryId: string;
}

export interface Queues {
  imports: Queue<ImportJobData>;
  training: Queue<TrainingJobData>;
  recommendationBatches: Queue<RecommendationBatchData>;
  webhookDeliveries: Queue<WebhookDeliveryData>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * A job and its state, or null when there is none. The state is read first: a job read first and
 * found finished a moment later would show its final state without its result or error, while
 * BullMQ writes a final state together with them.
 */
export async function readJob<T>(queue: Queue<T>, id: string): Promise<{ state: JobState; job: Job<T> } | null> {
  const state = await queue.getJobState(id);
  if (state === "unknown") return null;
  const job = await queue.getJob(id);
  return job ? { state, job } : null;
}

/**
 * The Redis key prefix of every queue: `<STREAM_PREFIX>bull`, so installs sharing one Redis (and
 * every test) have their own queues, and a test's cleanup of `<STREAM_PREFIX>*` keys removes them.
 */
export function queuePrefix(config: Pick<Config, "STREAM_PREFIX">): string {
  return `${config.STREAM_PREFIX}bull`;
}

/**
 * Connection options rather than a shared client: BullMQ opens its own connections, and for a
 * worker's blocking one sets maxRetriesPerRequest to null as it must. A queue only adds and reads
 * jobs, so it fails after a few retries instead of holding an HTTP request while Redis is down.
 */
export function redisOptions(config: Pick<Config, "REDIS_URL">, use: "queue" | "worker"): RedisOptions {
  return use === "queue" ? { url: config.REDIS_URL, maxRetriesPerRequest: 2 } : { url: config.REDIS_URL, maxRetriesPerRequest: null };
}

const WEEK_S = 7 * 86_400;

type QueueConfig = Pick<Config, "STREAM_PREFIX" | "REDIS_URL" | "WEBHOOK_ATTEMPTS" | "WEBHOOK_RETRY_DELAY_MS">;

// every finished job stays visible (and its result readable) for a week
function queue<T>(config: QueueConfig, name: string, retry: { attempts: number; backoff?: { type: "exponential"; delay: number } }): Queue<T> {
  return new Queue<T>(name, {
    connection: redisOptions(config, "queue"),
    prefix: queuePrefix(config),
    defaultJobOptions: { ...retry, removeOnComplete: { age: WEEK_S }, removeOnFail: { age: WEEK_S } },
  });
}

/**
 * Deliveries are retried with exponential backoff (by default 10 s doubling, 8 attempts: the last
 * about 21 minutes after the first), so an endpoint down for a deploy still gets its events.
 */
export function webhookDeliveryQueue(config: QueueConfig): Queue<WebhookDeliveryData> {
  return queue<WebhookDeliveryData>(config, QUEUES.webhookDeliveries, { attempts: config.WEBHOOK_ATTEMPTS, backoff: { type: "exponential", delay: config.WEBHOOK_RETRY_DELAY_MS } });
}

export function createQueues(config: QueueConfig): Queues {
  // connection-level failures (NATS, Postgres away) are retried; a bad file fails at once. The
  // imports table keeps the reports for good.
  const imports = queue<ImportJobData>(config, QUEUES.imports, { attempts: 5, backoff: { type: "exponential", delay: 2_000 } });
  // a trainer is deterministic: what failed once fails again (a process that died is another
  // matter: BullMQ's stalled-job check requeues that job)
  const training = queue<TrainingJobData>(config, QUEUES.training, { attempts: 1 });
  // a read of Postgres, retried while it is away; the results live in the job
  const recommendationBatches = queue<RecommendationBatchData>(config, QUEUES.recommendationBatches, { attempts: 5, backoff: { type: "exponential", delay: 1_000 } });
  const webhookDeliveries = webhookDeliveryQueue(config);
  const all = [imports, training, recommendationBatches, webhookDeliveries];
  return {
    imports,
    training,
    recommendationBatches,
    webhookDeliveries,
    all: () => [...all],
    close: async () => {
      await Promise.all(all.map((q) => q.close()));
    },
  };
}
