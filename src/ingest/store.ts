import type { Knex } from "knex";
import type { QualityReport } from "./quality.ts";

export type ImportStatus = "queued" | "running" | "completed" | "failed";

export interface ImportRow {
  id: string;
  user_id: number | null;
  tenant_id: number | null;
  file_name: string;
  sha256: string;
  size_bytes: number;
  target: string;
  object_name: string;
  status: ImportStatus;
  rows_total: number;
  rows_published: number;
  rows_rejected: number;
  report: QualityReport | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export type NewImport = Pick<ImportRow, "id" | "user_id" | "tenant_id" | "file_name" | "sha256" | "size_bytes" | "target" | "object_name">;

/** The `imports` table: one row per import, the truth about its state once it has ended. */
export class ImportStore {
  constructor(private readonly db: Knex) {}

  get(id: string): Promise<ImportRow | undefined> {
    return this.db<ImportRow>("imports").where({ id }).first();
  }

  /** Inserts the import, or returns the one already there (the same file, target and owner). */
  async create(row: NewImport): Promise<{ row: ImportRow; created: boolean }> {
    const [inserted] = await this.db<ImportRow>("imports").insert(row).onConflict("id").ignore().returning("*");
    if (inserted) return { row: inserted, created: true };
    return { row: (await this.get(row.id))!, created: false };
  }

  /**
   * Gives a failed import a fresh start from a new upload of the same file; returns the object of
   * the failed attempt (to remove), or null when the import is not failed (someone else restarted it).
   */
  async restartFailed(id: string, objectName: string): Promise<string | null> {
    const rows = await this.db.raw<{ rows: Array<{ previous: string }> }>(
      `UPDATE imports AS i
          SET status = 'queued', object_name = ?, error = NULL, report = NULL, rows_total = 0, rows_published = 0,
              rows_rejected = 0, started_at = NULL, finished_at = NULL
         FROM (SELECT id, object_name AS previous FROM imports WHERE id = ? FOR UPDATE) AS old
        WHERE i.id = old.id AND i.status = 'failed'
        RETURNING old.previous`,
      [objectName, id],
    );
    return rows.rows[0]?.previous ?? null;
  }

  async markRunning(id: string): Promise<void> {
    await this.db("imports").where({ id }).update({ status: "running", started_at: this.db.raw("coalesce(started_at, now())") });
  }

  /** Back in the queue: the process stopped mid-import, and the job resumes from its checkpoint. */
  async markQueued(id: string): Promise<void> {
    await this.db("imports").where({ id, status: "running" }).update({ status: "queued" });
  }

  async markCompleted(id: string, report: QualityReport): Promise<void> {
    await this.db("imports")
      .where({ id })
      .update({
        status: "completed",
        rows_total: report.rows.total,
        rows_published: report.rows.valid,
        rows_rejected: report.rows.rejected,
        report: JSON.stringify(report),
        error: null,
        finished_at: this.db.fn.now(),
      });
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.db("imports").where({ id }).whereNot({ status: "completed" }).update({ status: "failed", error, finished_at: this.db.fn.now() });
  }
}
