/**
 * CSV imports over HTTP. Uploads are multipart/form-data streamed into the upload store (never
 * buffered: see src/ingest/receive.ts), so they are Koa handlers of their own, described in the
 * OpenAPI document by hand; the status route is an ordinary route-table route.
 */
import type Router from "@koa/router";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { Context } from "koa";
import { isMetered, requireCredits, type Principal } from "../../auth/index.ts";
import {
  AuthenticationError,
  NotFoundError,
  PermissionError,
  ServiceUnavailableError,
  ValidationError,
} from "../../errors.ts";
import {
  checkHeader,
  FILE_FIELD,
  importIdFor,
  parseTarget,
  receiveUpload,
  rowPredictionId,
  SEED_UPLOAD_MODELS,
  formatTarget,
  type ImportRow,
  type ImportTarget,
} from "../../ingest/index.ts";
import { enqueueImport, importJobState, requeueImport, type Jobs } from "../../jobs/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

/** Files up to this many rows get the seed's synchronous answer (every row's prediction). */
export const SYNC_MAX_ROWS = 1000;
const POLL_MS = 100;
const EVENT_ROLES: readonly Principal["role"][] = ["admin", "operator", "user"];

const ProgressSchema = z.object({
  percent: z.number().describe("share of the file's bytes read"),
  rows_read: z.number(),
  rows_published: z.number(),
  rows_rejected: z.number(),
});

const ImportSchema = z
  .object({
    import_id: z.uuid(),
    file_id: z.string().describe("SHA-256 of the file (hex)"),
    file_name: z.string(),
    size_bytes: z.number(),
    target: z.string().describe("predict:<model_id> or events:<domain>"),
    status: z.enum(["queued", "running", "completed", "failed"]),
    progress: ProgressSchema,
    report: z.record(z.string(), z.unknown()).nullable().describe("the data-quality report, once completed (src/ingest/README.md)"),
    error: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    status_url: z.string(),
  })
  .openapi("Import");

const AcceptedSchema = ImportSchema.extend({
  message: z.string(),
  already_imported: z.boolean().describe("the same file was uploaded to the same target before: nothing is imported twice"),
}).openapi("ImportAccepted");

const SeedResultSchema = z
  .object({
    message: z.string(),
    import_id: z.uuid(),
    file_id: z.string(),
    status_url: z.string(),
    results: z.array(z.object({ row: z.number(), prediction_id: z.uuid(), prediction: z.record(z.string(), z.unknown()) })),
    summary: z.object({
      total_rows: z.number(),
      processed_rows: z.number(),
      failed_rows: z.number(),
      success_rate: z.number(),
      processing_time: z.number().describe("seconds"),
    }),
    data_quality: z.record(z.string(), z.unknown()).describe("missing_values, invalid_formats, outliers, quality_score and the full report"),
    credits_consumed: z.number(),
  })
  .openapi("CsvUploadResult");

const uploadErrors = {
  400: { description: "no file, or a broken multipart body", schema: ErrorBodySchema },
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  402: { description: "no credits left", schema: ErrorBodySchema },
  404: { description: "unknown model", schema: ErrorBodySchema },
  413: { description: "file over the upload limit (16 MiB by default); nothing is kept", schema: ErrorBodySchema },
  415: { description: "not multipart/form-data, or a binary file", schema: ErrorBodySchema },
  422: { description: "empty file, no header, or a header without the target's required columns", schema: ErrorBodySchema },
};

export function importRoutes(jobs: Jobs): AnyRoute[] {
  return [
    route({
      method: "get",
      path: "/api/v1/imports/{import_id}",
      summary: "A CSV import: state, live progress, and the data-quality report once it completed",
      tags: ["imports"],
      access: "user",
      params: z.strictObject({ import_id: z.uuid() }),
      responses: { 200: { description: "found", schema: ImportSchema }, 404: { description: "not found", schema: ErrorBodySchema } },
      handler: async ({ params, principal }) => {
        const row = await jobs.imports.get(params.import_id);
        if (!row || !mayRead(row, principal!)) throw new NotFoundError(`Import ${params.import_id} not found`, { import_id: params.import_id });
        return { body: await importView(jobs, row) };
      },
    }),
  ];
}

/** Mounts the upload routes and documents them (multipart bodies, which the route table does not take). */
export function mountUploadRoutes(router: Router, registry: OpenAPIRegistry, deps: ApiDeps, jobs: Jobs): void {
  router.post("/api/v1/imports", async (ctx: Context) => {
    const { row, created } = await acceptUpload(ctx, deps, jobs, null);
    ctx.status = 202;
    ctx.body = { message: acceptedMessage(created), already_imported: !created, ...(await importView(jobs, row)) };
  });
  registry.registerPath({
    method: "post",
    path: "/api/v1/imports",
    summary: "Import a CSV (≤ 16 MiB) row by row into predict.<model> or events.<domain>; answers at once with the import's status URL",
    tags: ["imports"],
    security: [{ bearerAuth: [] }, { apiKeyAuth: [] }],
    request: { body: { content: { "multipart/form-data": { schema: multipartSchema(true) } } } },
    responses: { 202: { description: "accepted", content: { "application/json": { schema: AcceptedSchema } } }, ...documented(uploadErrors) },
  });

  for (const [name, model] of Object.entries(SEED_UPLOAD_MODELS)) {
    const path = `/api/upload/csv/${name}`;
    router.post(path, async (ctx: Context) => {
      const started = performance.now();
      const { row, created } = await acceptUpload(ctx, deps, jobs, { kind: "predict", model });
      const done = await awaitResults(deps, jobs, row.id, deps.config.UPLOAD_SYNC_WAIT_MS);
      if (!done) {
        ctx.status = 202;
        ctx.body = { message: acceptedMessage(created), already_imported: !created, ...(await importView(jobs, (await jobs.imports.get(row.id))!)) };
        return;
      }
      ctx.body = seedBody(done.row, done.predictions, created && isMetered(requirePrincipal(ctx)), (performance.now() - started) / 1000);
    });
    registry.registerPath({
      method: "post",
      path,
      summary: `Score a CSV with ${model} (seed 000). Files up to ${SYNC_MAX_ROWS} rows are answered with every row's prediction when done within UPLOAD_SYNC_WAIT_MS; otherwise 202 with the import's status URL`,
      tags: ["imports"],
      security: [{ bearerAuth: [] }, { apiKeyAuth: [] }],
      request: { body: { content: { "multipart/form-data": { schema: multipartSchema(false) } } } },
      responses: {
        200: { description: "processed", content: { "application/json": { schema: SeedResultSchema } } },
        202: { description: "still running: poll status_url", content: { "application/json": { schema: AcceptedSchema } } },
        ...documented(uploadErrors),
      },
    });
  }
}

function multipartSchema(withTarget: boolean) {
  const file = z.string().openapi({ type: "string", format: "binary", description: "the CSV, header row first" });
  return withTarget
    ? z.object({ [FILE_FIELD]: file, target: z.string().describe("predict:<model_id> or events:<domain>") })
    : z.object({ [FILE_FIELD]: file });
}

function documented(errors: Record<number, { description: string; schema: z.ZodType }>) {
  return Object.fromEntries(
    Object.entries(errors).map(([status, e]) => [status, { description: e.description, content: { "application/json": { schema: e.schema } } }]),
  );
}

function acceptedMessage(created: boolean): string {
  return created ? "File accepted; the import runs in the background" : "This file was already uploaded to this target; nothing is imported twice";
}

function requirePrincipal(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | null;
  if (!principal) throw (ctx.state.authError as AuthenticationError | undefined) ?? new AuthenticationError();
  return principal;
}

/** Refuses what can be refused before reading the body: unknown model, no credits, no right to publish events. */
function checkTarget(deps: ApiDeps, target: ImportTarget, principal: Principal): void {
  if (target.kind === "predict") {
    deps.registry.get(target.model);
    requireCredits(principal, 1);
  } else if (!EVENT_ROLES.includes(principal.role)) {
    throw new PermissionError(`Publishing events requires one of the roles: ${EVENT_ROLES.join(", ")}`);
  }
}

/**
 * Stores the upload and records its import, or finds the import of the same file already there
 * (then the new copy is dropped; a failed import starts over from the new copy).
 */
async function acceptUpload(ctx: Context, deps: ApiDeps, jobs: Jobs, fixed: ImportTarget | null): Promise<{ row: ImportRow; created: boolean }> {
  const principal = requirePrincipal(ctx);
  if (fixed) checkTarget(deps, fixed, principal);
  let upload;
  try {
    upload = await receiveUpload(ctx.req, jobs.uploads, deps.config.MAX_UPLOAD_BYTES);
  } catch (err) {
    // the client may still be sending: it reads this answer, then the connection closes
    ctx.set("Connection", "close");
    throw err;
  }
  try {
    let target = fixed;
    if (!target) {
      if (upload.fields.target === undefined) throw new ValidationError('the form needs a "target" field: predict:<model_id> or events:<domain>');
      target = parseTarget(upload.fields.target);
      checkTarget(deps, target, principal);
    }
    checkHeader(target, upload.header, deps.registry, deps.bus.names);
    const id = importIdFor(upload.sha256, target, principal.userId);
    const { row, created } = await jobs.imports.create({
      id,
      user_id: principal.userId,
      tenant_id: principal.tenantId,
      file_name: upload.fileName.slice(0, 255),
      sha256: upload.sha256,
      size_bytes: upload.size,
      target: formatTarget(target),
      object_name: upload.objectName,
    });
    if (created) {
      await queue(() => enqueueImport(jobs.queues, id));
      return { row, created };
    }
    if (row.status === "failed") {
      const previous = await jobs.imports.restartFailed(id, upload.objectName);
      if (previous !== null) {
        await jobs.uploads.remove(previous).catch(() => undefined);
        await queue(() => requeueImport(jobs.queues, id));
        return { row: (await jobs.imports.get(id))!, created: true };
      }
    }
    await jobs.uploads.remove(upload.objectName);
    // an import whose job was lost (a crash between the row and the job) is queued again; a job
    // that exists is left as it is
    if (row.status !== "completed") await queue(() => enqueueImport(jobs.queues, id));
    return { row, created: false };
  } catch (err) {
    await jobs.uploads.remove(upload.objectName).catch(() => undefined);
    throw err;
  }
}

async function queue(add: () => Promise<void>): Promise<void> {
  try {
    await add();
  } catch (err) {
    throw new ServiceUnavailableError("The job queue is unavailable; upload the file again (it will not be imported twice)", { cause: String(err) });
  }
}

function mayRead(row: ImportRow, principal: Principal): boolean {
  return row.user_id === principal.userId || principal.role === "admin" || principal.role === "operator";
}

/** The import as the API shows it: the table's state, with the job's live progress while it runs. */
async function importView(jobs: Jobs, row: ImportRow) {
  // a failed import shows how far it got: its job keeps the last progress it reported
  const job = row.status === "completed" ? null : await importJobState(jobs.queues, row.id).catch(() => null);
  const failedByQueue = job?.state === "failed";
  const progress =
    row.status === "completed"
      ? { percent: 100, rows_read: row.rows_total, rows_published: row.rows_published, rows_rejected: row.rows_rejected }
      : job?.progress
        ? { percent: job.progress.percent, rows_read: job.progress.rows_read, rows_published: job.progress.rows_published, rows_rejected: job.progress.rows_rejected }
        : { percent: 0, rows_read: 0, rows_published: 0, rows_rejected: 0 };
  return {
    import_id: row.id,
    file_id: row.sha256,
    file_name: row.file_name,
    size_bytes: row.size_bytes,
    target: row.target,
    status: failedByQueue ? "failed" : row.status,
    progress,
    report: row.report,
    error: row.error ?? (failedByQueue ? job.failedReason : null),
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    status_url: `/api/v1/imports/${row.id}`,
  };
}

interface StoredPrediction {
  id: string;
  status: string;
  output: { score: number; label: number | null; confidence: number | null; details: Record<string, unknown> } | null;
}

/**
 * Waits, up to `waitMs`, for a small import to complete and every published row's prediction to
 * be stored; null when that does not happen in time (or the file is too large for one answer).
 */
async function awaitResults(deps: ApiDeps, jobs: Jobs, id: string, waitMs: number): Promise<{ row: ImportRow; predictions: Map<number, StoredPrediction> } | null> {
  const deadline = Date.now() + waitMs;
  const sleep = () => new Promise((r) => setTimeout(r, POLL_MS));
  let row = await jobs.imports.get(id);
  while (row && row.status !== "completed" && row.status !== "failed" && Date.now() < deadline) {
    await sleep();
    row = await jobs.imports.get(id);
  }
  if (!row || row.status === "queued" || row.status === "running") return null;
  if (row.status === "failed") throw new ValidationError(`The import failed: ${row.error ?? "unknown error"}`, { import_id: id, status_url: `/api/v1/imports/${id}` });
  if (row.rows_total > SYNC_MAX_ROWS) return null;
  const rowById = new Map<string, number>();
  for (let r = 1; r <= row.rows_total; r++) rowById.set(rowPredictionId(id, r), r);
  for (;;) {
    const stored: StoredPrediction[] = await deps.db("predictions")
      .select("id", "status", "output")
      .whereIn("id", [...rowById.keys()])
      .whereNot({ status: "pending" });
    if (stored.length >= row.rows_published) return { row, predictions: new Map(stored.map((p) => [rowById.get(p.id)!, p])) };
    if (Date.now() >= deadline) return null;
    await sleep();
  }
}

/**
 * Seed 000's upload answer, from the completed import and its stored predictions; `charged`: this
 * upload stored them (the file was not imported before) for a metered caller.
 */
function seedBody(row: ImportRow, predictions: Map<number, StoredPrediction>, charged: boolean, seconds: number) {
  const results = [...predictions.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, p]) => p.status === "completed" && p.output)
    .map(([r, p]) => ({
      row: r,
      prediction_id: p.id,
      prediction: { score: p.output!.score, label: p.output!.label, confidence: p.output!.confidence, ...p.output!.details },
    }));
  const report = row.report!;
  return {
    message: "File processed successfully",
    import_id: row.id,
    file_id: row.sha256,
    status_url: `/api/v1/imports/${row.id}`,
    results,
    summary: {
      total_rows: row.rows_total,
      processed_rows: results.length,
      failed_rows: row.rows_total - results.length,
      success_rate: row.rows_total === 0 ? 0 : Math.round((1000 * results.length) / row.rows_total) / 10,
      processing_time: Math.round(seconds * 1000) / 1000,
    },
    data_quality: report,
    // charged when stored; an upload of a file imported before stores (and charges) nothing
    credits_consumed: charged ? results.length : 0,
  };
}
