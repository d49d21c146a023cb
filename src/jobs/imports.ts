import { UnrecoverableError, WaitingError, type Job } from "bullmq";
import { ImportFailedError, parseTarget, runImport, type ImportProgress, type RunImportDeps } from "../ingest/index.ts";
import { QUEUES, readJob, type ImportJobData, type Queues } from "./queues.ts";
import { notice } from "../webhooks/index.ts";
import { jobRunId, type JobDefinition } from "./workers.ts";

const JOB_NAME = "csv-import";

/** The imports queue's job: one CSV import, resumable from the checkpoint in its progress. */
export function importJob(deps: RunImportDeps, concurrency: number): JobDefinition<ImportJobData> {
  return {
    queue: QUEUES.imports,
    concurrency,
    async process(job, token, signal) {
      const { importId } = job.data;
      let outcome;
      try {
        outcome = await runImport(importId, deps, {
          resumeFrom: progressOf(job)?.checkpoint ?? 1,
          signal,
          progress: (p) => job.updateProgress(p),
        });
      } catch (err) {
        if (err instanceof ImportFailedError) throw new UnrecoverableError(err.message);
        throw err;
      }
      if (outcome.kind === "interrupted") {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const row = await deps.imports.get(importId);
      deps.metrics.imports.inc({ target: row ? parseTarget(row.target).kind : "unknown", outcome: "completed" });
      return { rows: outcome.report.rows, quality_score: outcome.report.quality_score };
    },
    async onFailed(job, err) {
      await deps.imports.markFailed(job.data.importId, err.message);
      const row = await deps.imports.get(job.data.importId);
      deps.metrics.imports.inc({ target: row ? parseTarget(row.target).kind : "unknown", outcome: "failed" });
    },
    async notice(job, outcome) {
      const row = await deps.imports.get(job.data.importId);
      if (!row) return null;
      const result = outcome.status === "completed" ? (outcome.result as { rows: number; quality_score: number }) : null;
      return notice("batch.completed", jobRunId(job), row.user_id, {
        batch_type: "csv_import",
        job_id: row.id,
        status: outcome.status,
        target: row.target,
        file_name: row.file_name,
        rows: result?.rows ?? null,
        quality_score: result?.quality_score ?? null,
        error: outcome.status === "failed" ? outcome.error : null,
        status_url: `/api/v1/imports/${row.id}`,
      });
    },
  };
}

/** Queues an import; the job id is the import id, so queueing it again while it exists does nothing. */
export async function enqueueImport(queues: Queues, importId: string): Promise<void> {
  await queues.imports.add(JOB_NAME, { importId }, { jobId: importId });
}

/** Queues a failed import anew: its failed job (kept for inspection) would otherwise block the id. */
export async function requeueImport(queues: Queues, importId: string): Promise<void> {
  const old = await queues.imports.getJob(importId);
  if (old && (await old.isFailed())) await old.remove();
  await enqueueImport(queues, importId);
}

export interface ImportJobState {
  state: string;
  progress: ImportProgress | null;
  failedReason: string | null;
}

/** What the queue knows of an import's job: live progress while it runs. */
export async function importJobState(queues: Queues, importId: string): Promise<ImportJobState | null> {
  const found = await readJob(queues.imports, importId);
  if (!found) return null;
  return { state: found.state, progress: progressOf(found.job), failedReason: found.job.failedReason || null };
}

function progressOf(job: Job<ImportJobData>): ImportProgress | null {
  const p = job.progress;
  return typeof p === "object" && p !== null && "checkpoint" in p ? (p as unknown as ImportProgress) : null;
}
