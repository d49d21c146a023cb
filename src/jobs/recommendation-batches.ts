/**
 * Seed 004's batch recommendations as a job: the current recommendations of many customers, read
 * from what the recommendations pipeline keeps, stored with the job for the caller to fetch.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { recommendationReader, type CustomerRecommendations } from "../customers/index.ts";
import type { ModelRegistry } from "../models/index.ts";
import { QUEUES, readJob, type Queues, type RecommendationBatchData } from "./queues.ts";
import { notice } from "../webhooks/index.ts";
import { jobRunId, type JobDefinition } from "./workers.ts";

const JOB_NAME = "recommendation-batch";

export type BatchResult =
  | ({ status: "completed" } & CustomerRecommendations)
  | { customer_id: string; status: "failed"; error: string };

export interface RecommendationBatchOutput {
  processed: number;
  failed: number;
  results: BatchResult[];
}

export function recommendationBatchJob(deps: { db: Knex; registry: ModelRegistry }, concurrency: number): JobDefinition<RecommendationBatchData> {
  const read = recommendationReader(deps.db, deps.registry);
  return {
    queue: QUEUES.recommendationBatches,
    concurrency,
    async process(job): Promise<RecommendationBatchOutput> {
      const found = await read(job.data.customerIds);
      const results = job.data.customerIds.map((id): BatchResult => {
        const current = found.get(id);
        return current ? { status: "completed", ...current } : { customer_id: id, status: "failed", error: "no interaction events seen for this customer" };
      });
      const failed = results.filter((r) => r.status === "failed").length;
      return { processed: results.length - failed, failed, results };
    },
    async onFailed() {
      // nothing outside the job to mark: its state and reason are what the caller reads
    },
    async notice(job, outcome) {
      const output = outcome.status === "completed" ? (outcome.result as RecommendationBatchOutput) : null;
      return notice("batch.completed", jobRunId(job), job.data.userId, {
        batch_type: "recommendations",
        job_id: job.id,
        status: outcome.status,
        total_customers: job.data.customerIds.length,
        processed: output?.processed ?? 0,
        failed: output?.failed ?? 0,
        error: outcome.status === "failed" ? outcome.error : null,
        status_url: `/api/v1/recommendations/batch/${job.id}`,
      });
    },
  };
}

/** Queues a batch; the job id is returned to poll. */
export async function enqueueRecommendationBatch(queues: Queues, data: RecommendationBatchData): Promise<string> {
  const jobId = `batch_${randomUUID()}`;
  await queues.recommendationBatches.add(JOB_NAME, data, { jobId });
  return jobId;
}

export interface RecommendationBatchState {
  status: "pending" | "processing" | "completed" | "failed";
  userId: number;
  total: number;
  output: RecommendationBatchOutput | null;
  failedReason: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** A batch job's state, or null when there is none (or it has expired). */
export async function recommendationBatchState(queues: Queues, jobId: string): Promise<RecommendationBatchState | null> {
  const found = await readJob(queues.recommendationBatches, jobId);
  if (!found) return null;
  const { state, job } = found;
  const status = state === "completed" ? "completed" : state === "failed" ? "failed" : state === "active" ? "processing" : "pending";
  return {
    status,
    userId: job.data.userId,
    // data queued by other means than the API (bull-board, a script) may not be a list
    total: Array.isArray(job.data.customerIds) ? job.data.customerIds.length : 0,
    output: status === "completed" ? (job.returnvalue as RecommendationBatchOutput) : null,
    failedReason: job.failedReason || null,
    createdAt: new Date(job.timestamp),
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
  };
}

const HOUR_MS = 3_600_000;
/** completed jobs read to count the last hour's: the newest first, so only a busier hour is cut short */
const COMPLETED_SCAN = 10_000;

/** Seed 004's queue statistics of the recommendation batches. */
export async function recommendationBatchStats(queues: Queues) {
  const queue = queues.recommendationBatches;
  const [counts, failed, completed] = await Promise.all([
    queue.getJobCounts("waiting", "delayed", "prioritized", "active", "failed"),
    queue.getFailed(0, 49),
    queue.getCompleted(0, COMPLETED_SCAN - 1),
  ]);
  const since = Date.now() - HOUR_MS;
  const lastHour = completed.filter((job) => (job.finishedOn ?? 0) >= since).length;
  return {
    queue_length: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
    processing: counts.active ?? 0,
    failed_count: counts.failed ?? 0,
    failed_jobs: failed.map((job) => ({ job_id: job.id, error: job.failedReason, failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null })),
    completed_last_hour: lastHour,
    /** jobs completed per minute over the last hour */
    processing_rate: Math.round((lastHour / 60) * 100) / 100,
  };
}

/** Queues a failed batch again: "retried", "not_failed" (it is waiting, running or done), or "missing". */
export async function retryRecommendationBatch(queues: Queues, jobId: string): Promise<"retried" | "not_failed" | "missing"> {
  const job = await queues.recommendationBatches.getJob(jobId);
  if (!job) return "missing";
  if (!(await job.isFailed())) return "not_failed";
  await job.retry("failed");
  return "retried";
}
