/**
 * Seed 004's batch recommendations: `POST /api/v1/recommendations/batch` queues a job for up to
 * 1,000 customers (202 with its id), `GET /api/v1/recommendations/batch/{job_id}` follows it and,
 * once completed, gives each customer's current recommendations or why there are none. Only the
 * caller who queued a batch (and admins) may read it; the results are kept a week. Admins see the
 * queue's statistics and queue a failed batch again.
 */
import { ConflictError, NotFoundError } from "../../errors.ts";
import { enqueueRecommendationBatch, recommendationBatchState, recommendationBatchStats, retryRecommendationBatch, type Jobs } from "../../jobs/index.ts";
import { SUBJECT_TOKEN } from "../../streams/index.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

export const MAX_BATCH_CUSTOMERS = 1_000;

const CustomerId = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + ="));

const statusUrl = (jobId: string) => `/api/v1/recommendations/batch/${jobId}`;
const JobId = z.string().regex(/^batch_[0-9a-f-]{36}$/, "a job_id as POST /api/v1/recommendations/batch returned it");

export function recommendationBatchRoutes(jobs: Jobs): AnyRoute[] {
  return [
    route({
      method: "post",
      path: "/api/v1/recommendations/batch",
      summary: `Queue the current recommendations of up to ${MAX_BATCH_CUSTOMERS} customers (seed 004)`,
      tags: ["recommendations"],
      access: "user",
      body: z
        .strictObject({ customer_ids: z.array(CustomerId).min(1).max(MAX_BATCH_CUSTOMERS).describe("customer ids (strings, or numbers as seed 004 sends them)") })
        .openapi("RecommendationBatchRequest"),
      responses: {
        202: { description: "queued", schema: z.object({ job_id: z.string(), status: z.literal("pending"), total_customers: z.number(), status_url: z.string() }) },
        401: { description: "unauthenticated", schema: ErrorBodySchema },
        422: { description: "no ids, too many, or an invalid id", schema: ErrorBodySchema },
      },
      handler: async ({ body, principal }) => {
        const customerIds = [...new Set(body.customer_ids)];
        const jobId = await enqueueRecommendationBatch(jobs.queues, { customerIds, userId: principal!.userId });
        return { status: 202, body: { job_id: jobId, status: "pending", total_customers: customerIds.length, status_url: statusUrl(jobId) } };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/recommendations/batch/{job_id}",
      summary: "A recommendation batch's state and, once completed, its results (seed 004)",
      tags: ["recommendations"],
      access: "user",
      params: z.strictObject({ job_id: JobId }),
      responses: {
        200: { description: "state; `results` once completed" },
        401: { description: "unauthenticated", schema: ErrorBodySchema },
        404: { description: "no such batch of yours (or it expired after a week)", schema: ErrorBodySchema },
      },
      handler: async ({ params, principal }) => {
        const batch = await recommendationBatchState(jobs.queues, params.job_id);
        if (!batch || (batch.userId !== principal!.userId && principal!.role !== "admin")) {
          throw new NotFoundError(`Recommendation batch '${params.job_id}' not found`, { job_id: params.job_id });
        }
        return {
          body: {
            job_id: params.job_id,
            status: batch.status,
            total_customers: batch.total,
            processed: batch.output?.processed ?? 0,
            failed: batch.output?.failed ?? 0,
            results: batch.output?.results ?? null,
            error: batch.failedReason,
            created_at: batch.createdAt.toISOString(),
            finished_at: batch.finishedAt?.toISOString() ?? null,
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/admin/batch/stats",
      summary: "The recommendation batch queue: waiting, running, failed (with why), completed in the last hour (seed 004)",
      tags: ["recommendations"],
      access: ["admin"],
      responses: { 200: { description: "statistics" }, 403: { description: "not an admin", schema: ErrorBodySchema } },
      handler: async () => ({ body: await recommendationBatchStats(jobs.queues) }),
    }),
    route({
      method: "post",
      path: "/api/admin/batch/retry/{job_id}",
      summary: "Queue a failed recommendation batch again (seed 004)",
      tags: ["recommendations"],
      access: ["admin"],
      params: z.strictObject({ job_id: JobId }),
      responses: {
        200: { description: "requeued" },
        403: { description: "not an admin", schema: ErrorBodySchema },
        404: { description: "no such batch", schema: ErrorBodySchema },
        409: { description: "the batch has not failed", schema: ErrorBodySchema },
      },
      handler: async ({ params }) => {
        const outcome = await retryRecommendationBatch(jobs.queues, params.job_id);
        if (outcome === "missing") throw new NotFoundError(`Recommendation batch '${params.job_id}' not found`, { job_id: params.job_id });
        if (outcome === "not_failed") throw new ConflictError(`Recommendation batch '${params.job_id}' has not failed; only a failed batch is queued again`, { job_id: params.job_id });
        return { body: { message: "Job requeued", job_id: params.job_id } };
      },
    }),
  ];
}
