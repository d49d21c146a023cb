/**
 * Training as a job, for admins: queue a trainer (src/training/registry.ts) and follow its
 * progress. The version it writes under MODELS_DIR is not served until an admin activates it
 * (`POST /api/v1/models/{model_id}/activate`).
 */
import type { Config } from "../../config.ts";
import { NotFoundError } from "../../errors.ts";
import { enqueueTraining, trainingJobState, type Jobs } from "../../jobs/index.ts";
import { VERSION_PATTERN } from "../../models/index.ts";
import { z } from "../openapi-zod.ts";
import { RETAINSTREAM_MODEL } from "./dashboard.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const ADMINS = ["admin"] as const;

const TrainingJobSchema = z
  .object({
    job_id: z.uuid(),
    model_id: z.string(),
    version: z.string().describe("the version directory the job writes under MODELS_DIR/<model_id>/"),
    trainer: z.string().describe("the trainer reference asked for: <model_id>, or <model_id>@<version> for an earlier recipe"),
    state: z.enum(["queued", "running", "completed", "failed"]),
    progress: z.object({
      stage: z.enum(["queued", "starting", "training", "writing", "completed"]),
      percent: z.number().describe("0-100; within the training stage an estimate that rises with each line the trainer logs"),
      message: z.string().describe("the trainer's last log line"),
    }),
    result: z
      .object({
        model: z.string(),
        version: z.string(),
        model_dir: z.string().describe("the version directory written: model.onnx, card.json, parity.json"),
        trainer: z.string().describe("the recipe: trainer name and version"),
        metrics: z.record(z.string(), z.number()).describe("the card's validation metrics"),
        seconds: z.number(),
      })
      .nullable(),
    error: z.string().nullable().describe("why the job failed (a missing dataset names its file)"),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    status_url: z.string(),
  })
  .openapi("TrainingJob");

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  403: { description: "not an admin", schema: ErrorBodySchema },
};

export function trainingRoutes(config: Pick<Config, "MODELS_DIR">, jobs: Jobs): AnyRoute[] {
  return [
    route({
      method: "post",
      path: "/api/v1/models/{model_id}/train",
      summary:
        "Train a model in the background into a new version directory (never over an existing one). " +
        "The version is served once an admin activates it",
      tags: ["training"],
      access: ADMINS,
      params: z.strictObject({ model_id: z.string().min(1).max(100).describe("a model name, or <name>@<version> for an earlier recipe") }),
      body: z
        .strictObject({
          version: z
            .string()
            .regex(VERSION_PATTERN, "a version is major.minor.patch, e.g. 1.2.0")
            .optional()
            .describe("the version to write; by default one patch above the newest on disk"),
        })
        .describe("may be left out: trains the next patch version"),
      responses: {
        202: { description: "queued: poll status_url", schema: TrainingJobSchema },
        ...errors,
        404: { description: "no trainer for this model", schema: ErrorBodySchema },
        409: { description: "that version exists, or a training job for this model is waiting or running", schema: ErrorBodySchema },
        503: { description: "the job queue is unavailable", schema: ErrorBodySchema },
      },
      handler: async ({ params, body }) => {
        const job = await enqueueTraining(jobs.queues, config.MODELS_DIR, params.model_id, body.version);
        return { status: 202, body: await stateOf(jobs, job.id!) };
      },
    }),
    route({
      method: "post",
      path: "/api/model/train",
      summary: "Seed 003's retraining of its subscription churn model (churn_subscription), queued as the route above queues it",
      tags: ["training"],
      access: ADMINS,
      responses: {
        202: { description: "queued: poll data.status_url" },
        ...errors,
        409: { description: "a training job for the model is waiting or running", schema: ErrorBodySchema },
        503: { description: "the job queue is unavailable", schema: ErrorBodySchema },
      },
      handler: async () => {
        const job = await enqueueTraining(jobs.queues, config.MODELS_DIR, RETAINSTREAM_MODEL, undefined);
        return { status: 202, body: { success: true, data: { message: "Model training queued", ...(await stateOf(jobs, job.id!)) } } };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/training/{job_id}",
      summary: "A training job: state, progress, and the written version with its validation metrics (or the error)",
      tags: ["training"],
      access: ADMINS,
      params: z.strictObject({ job_id: z.uuid() }),
      responses: { 200: { description: "found", schema: TrainingJobSchema }, ...errors, 404: { description: "no such job", schema: ErrorBodySchema } },
      handler: async ({ params }) => ({ body: await stateOf(jobs, params.job_id) }),
    }),
  ];
}

async function stateOf(jobs: Jobs, jobId: string) {
  const state = await trainingJobState(jobs.queues, jobId);
  // finished jobs are kept for a week
  if (!state) throw new NotFoundError(`Training job ${jobId} not found`, { job_id: jobId });
  return state;
}
