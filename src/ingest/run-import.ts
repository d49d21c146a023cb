/**
 * One import, start to end: the stored file is read row by row, each row validated and published
 * as its stream message, and the quality report written when the last row is acknowledged. The
 * job layer (src/jobs) runs this; nothing here knows about queues.
 */
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { ModelRegistry } from "../models/index.ts";
import type { Bus } from "../streams/index.ts";
import { checkCsvStructure, CsvFormatError, readCsvRecords } from "./csv.ts";
import { PublishWindow } from "./publish-window.ts";
import { QualityReportBuilder, type QualityReport } from "./quality.ts";
import { createRowValidator, HeaderError } from "./rows.ts";
import type { ImportStore } from "./store.ts";
import { parseTarget } from "./targets.ts";
import type { UploadStore } from "./upload-store.ts";

/** PubAcks outstanding per import: enough to keep JetStream busy, few enough to bound memory. */
export const PUBLISH_WINDOW = 256;
/** Least time between two progress reports. */
export const PROGRESS_INTERVAL_MS = 250;

/** What a running import reports; `checkpoint` is the row a resumed run publishes from. */
export interface ImportProgress {
  checkpoint: number;
  rows_read: number;
  rows_published: number;
  rows_rejected: number;
  /** share of the file's bytes read, 0–100 */
  percent: number;
}

export interface RunImportDeps {
  imports: ImportStore;
  uploads: UploadStore;
  bus: Bus;
  registry: ModelRegistry;
  metrics: Metrics;
  log: Logger;
}

export interface RunControl {
  /** the checkpoint of an earlier run that was interrupted (1 for a first run) */
  resumeFrom: number;
  /** called at most every PROGRESS_INTERVAL_MS, and once more when the run stops */
  progress(p: ImportProgress): Promise<void>;
  /** aborted when the process stops: the run ends at the next row, its checkpoint reported */
  signal?: AbortSignal;
}

export type RunOutcome = { kind: "completed"; report: QualityReport } | { kind: "interrupted"; progress: ImportProgress };

/** The import cannot succeed however often it is retried (bad file, unknown model, upload gone). */
export class ImportFailedError extends Error {
  override name = "ImportFailedError";
}

export async function runImport(id: string, deps: RunImportDeps, control: RunControl): Promise<RunOutcome> {
  const { imports, uploads, bus, registry, metrics } = deps;
  const row = await imports.get(id);
  if (!row) throw new ImportFailedError(`import ${id} does not exist`);
  if (row.status === "completed" && row.report) return { kind: "completed", report: row.report };
  const target = parseTarget(row.target);
  const open = async () => {
    const input = await uploads.open(row.object_name);
    if (!input) throw new ImportFailedError(`the uploaded file of import ${id} is no longer stored; upload it again`);
    return input;
  };
  await imports.markRunning(id);
  if (control.resumeFrom === 1) {
    // a first pass that only parses: a file that breaks at its last line publishes nothing, so
    // fixing it and uploading it again never leaves the rows before the break published twice
    try {
      await checkCsvStructure(await open());
    } catch (err) {
      if (err instanceof CsvFormatError) throw new ImportFailedError(err.message, { cause: err });
      throw err;
    }
  }

  const csv = readCsvRecords(await open());
  const percent = () => (row.size_bytes > 0 ? Math.min(100, Math.round((1000 * csv.bytesRead()) / row.size_bytes) / 10) : 100);
  const window = new PublishWindow(PUBLISH_WINDOW);
  let report: QualityReportBuilder | null = null;
  let published = 0;
  const progress = (): ImportProgress => ({
    checkpoint: window.checkpoint(),
    rows_read: report?.rowsTotal ?? 0,
    rows_published: published,
    rows_rejected: report?.rowsRejected ?? 0,
    percent: percent(),
  });

  let interrupted = false;
  try {
    const first = await csv.batches.next();
    if (first.done) throw new ImportFailedError("the file has no header row");
    const [header, ...firstRows] = first.value;
    const validator = createRowValidator(target, header!, registry, {
      importId: id,
      userId: row.user_id,
      tenantId: row.tenant_id,
      createdAt: row.created_at.toISOString(),
      names: bus.names,
    });
    const rep = (report = new QualityReportBuilder(validator.checkedColumns, validator.ignoredColumns));
    const label = target.kind === "predict" ? "predict" : "events";
    let lastReport = performance.now();
    let rowNo = 0;
    const handle = async (batch: readonly string[][]) => {
      for (const cells of batch) {
        rowNo++;
        const message = validator.toMessage(cells, rowNo, rep);
        rep.endRow(message !== null);
        if (message) published++;
        if (message && rowNo >= control.resumeFrom) {
          window.add(rowNo, bus.publisher.publish(label, message.subject, message.payload, { msgId: message.msgId }));
          if (window.full) await window.room();
        } else window.pass(rowNo);
      }
      if (performance.now() - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = performance.now();
        await control.progress(progress());
      }
    };
    await handle(firstRows);
    for await (const batch of csv.batches) {
      if (control.signal?.aborted) {
        interrupted = true;
        break;
      }
      await handle(batch);
    }
    await window.flush();
  } catch (err) {
    // the acknowledged part is kept as the checkpoint, so a retry does not publish it again
    await window.flush().catch(() => undefined);
    await control.progress(progress()).catch(() => undefined);
    if (err instanceof CsvFormatError || err instanceof HeaderError) throw new ImportFailedError(err.message, { cause: err });
    throw err;
  }
  await control.progress(progress());
  if (interrupted) {
    await imports.markQueued(id);
    return { kind: "interrupted", progress: progress() };
  }

  const final = report!.build();
  await imports.markCompleted(id, final);
  metrics.importRows.inc({ target: target.kind, outcome: "published" }, final.rows.valid);
  metrics.importRows.inc({ target: target.kind, outcome: "rejected" }, final.rows.rejected);
  // the report is kept; the bytes are not needed any more (a re-upload finds the completed import)
  await uploads.remove(row.object_name).catch((err: unknown) => deps.log.warn({ err, import: id }, "could not remove an imported upload"));
  return { kind: "completed", report: final };
}
