/**
 * From a CSV row to the stream message it becomes: the header is checked once against the target,
 * then each row is validated (by the model card's own encoder for predictions, by the event
 * envelope's rules for events), its problems recorded in the quality report, and its message built.
 */
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { coerceStringRow, type FeatureSpec, type LoadedModel, type ModelRegistry } from "../models/index.ts";
import type { PredictRequest } from "../predictions/index.ts";
import { SUBJECT_TOKEN, type EventEnvelope, type StreamNames } from "../streams/index.ts";
import { rowMessageId, rowPredictionId } from "./ids.ts";
import { RunningStats, type QualityReportBuilder } from "./quality.ts";
import type { ImportTarget } from "./targets.ts";

/** One row's message: where it goes, its dedup id and its body. */
export interface RowMessage {
  subject: string;
  msgId: string;
  payload: PredictRequest | EventEnvelope;
}

export interface RowValidator {
  /** header columns the report checks, in header order */
  readonly checkedColumns: readonly string[];
  readonly ignoredColumns: readonly string[];
  /** Validates row `row` (1-based), records its problems, and returns its message, or null when it is rejected. */
  toMessage(cells: readonly string[], row: number, report: QualityReportBuilder): RowMessage | null;
}

/** What every message of one import shares. */
export interface ImportContext {
  importId: string;
  userId: number | null;
  tenantId: number | null;
  /** the upload's time: requested_at of predictions, timestamp of events without one (the same on every run) */
  createdAt: string;
  names: StreamNames;
}

/** The header cannot serve the target (columns missing, duplicated or empty). */
export class HeaderError extends ValidationError {
  override name = "HeaderError";
}

/** Type of events whose CSV has no `type` column. */
export const DEFAULT_EVENT_TYPE = "import";
/** Rows that must be read before a numeric event column's outliers are judged. */
const OUTLIER_WARM_UP = 30;
const OUTLIER_SIGMAS = 4;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP = z.iso.datetime({ offset: true });

/**
 * Checks `header` against the target and compiles the row validator.
 * @throws HeaderError, or ModelNotFoundError for an unknown model
 */
export function createRowValidator(target: ImportTarget, header: readonly string[], registry: ModelRegistry, ctx: ImportContext): RowValidator {
  checkColumnNames(header);
  return target.kind === "predict"
    ? predictValidator(registry.get(target.model), header, ctx)
    : eventValidator(target.domain, header, ctx);
}

/**
 * Checks a header against the target, as the import job will: the API calls this before it
 * accepts a file, so a file the job would refuse is refused with 422 at once.
 */
export function checkHeader(target: ImportTarget, header: readonly string[], registry: ModelRegistry, names: StreamNames): void {
  createRowValidator(target, header, registry, { importId: "header-check", userId: null, tenantId: null, createdAt: new Date(0).toISOString(), names });
}

function checkColumnNames(header: readonly string[]): void {
  if (header.length === 0 || header.every((c) => c.trim() === "")) {
    throw new HeaderError("the file has no header row: its first line must name the columns");
  }
  const seen = new Set<string>();
  for (const name of header) {
    if (name.trim() === "") throw new HeaderError("the header has an empty column name", { header });
    if (seen.has(name)) throw new HeaderError(`the header names column "${name}" twice`, { header });
    seen.add(name);
  }
}

function wrongWidth(cells: readonly string[], header: readonly string[], row: number, report: QualityReportBuilder): boolean {
  if (cells.length === header.length) return false;
  report.markRowInvalid(row, `has ${cells.length} fields; the header has ${header.length}`, cells.join(","));
  return true;
}

interface PresentFeature {
  spec: FeatureSpec;
  index: number;
  categories: ReadonlySet<string> | null;
}

function predictValidator(model: LoadedModel, header: readonly string[], ctx: ImportContext): RowValidator {
  const { card, encoder } = model;
  const present: PresentFeature[] = [];
  // a column may carry a feature under one of its aliases, or under another spelling of its names
  // (the dataset file's own header); the row is then published under the feature's name
  const standsFor = header.map((column) => encoder.resolveField(column));
  for (const spec of card.features) {
    const names = [spec.name, ...(spec.aliases ?? [])];
    const indexes = standsFor.flatMap((name, i) => (name !== undefined && names.includes(name) ? [i] : []));
    if (indexes.length > 1) {
      const columns = indexes.map((i) => JSON.stringify(header[i]));
      throw new HeaderError(`the header names feature "${spec.name}" ${indexes.length} times (${columns.join(", ")}): keep one of those columns`, { header });
    }
    const [index] = indexes;
    if (index === undefined) continue;
    present.push({ spec, index, categories: spec.type === "category" && !spec.multiple && spec.categories ? new Set(spec.categories) : null });
  }
  const missing = card.features.filter((f) => f.required && !present.some((p) => p.spec === f)).map((f) => f.name);
  if (missing.length > 0) {
    throw new HeaderError(`the header lacks the required column(s) ${missing.join(", ")} of model ${model.name}`, {
      missing_columns: missing,
      expected_columns: card.features.map((f) => f.name),
      header,
    });
  }
  present.sort((a, b) => a.index - b.index);
  const subject = ctx.names.predictSubject(model.name);
  // encodeInto's output is thrown away: the encoder is called only for its verdict, and the
  // scorer encodes again; one scratch row per validator keeps that allocation-free
  const scratch = new Float32Array(encoder.width);
  return {
    checkedColumns: present.map((p) => p.spec.name),
    ignoredColumns: header.filter((_, i) => !present.some((p) => p.index === i)),
    toMessage(cells, row, report) {
      if (wrongWidth(cells, header, row, report)) return null;
      const raw: Record<string, string> = {};
      for (const p of present) raw[p.spec.name] = cells[p.index]!;
      const features = coerceStringRow(card, raw);
      const outcome = encoder.encodeInto(features, scratch, 0);
      const errors = outcome.ok ? null : outcome.errors;
      for (const p of present) {
        const name = p.spec.name;
        const text = raw[name]!.trim();
        if (text === "") report.markMissing(name);
        else if (errors?.[name]) report.markInvalid(row, name, text, errors[name].join("; "));
        else {
          const outlier = outlierReason(p, features[name]);
          if (outlier) report.markOutlier(row, name, text, outlier);
        }
      }
      if (errors) return null;
      const id = rowMessageId(ctx.importId, row);
      const request: PredictRequest = {
        prediction_id: rowPredictionId(ctx.importId, row),
        features,
        source: "csv",
        user_id: ctx.userId,
        tenant_id: ctx.tenantId,
        requested_at: ctx.createdAt,
      };
      return { subject, msgId: id, payload: request };
    },
  };
}

/** A valid value the model was not trained on: a number outside the card's range, an unseen category. */
function outlierReason(p: PresentFeature, value: unknown): string | null {
  const { spec } = p;
  if (typeof value === "number" && (spec.type === "number" || spec.type === "integer")) {
    if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
      return `outside the training range [${spec.min ?? "-∞"}, ${spec.max ?? "∞"}]`;
    }
  }
  if (p.categories && typeof value === "string" && !p.categories.has(value)) return "a category the model was not trained on";
  return null;
}

function eventValidator(domain: EventEnvelope["domain"], header: readonly string[], ctx: ImportContext): RowValidator {
  const keyColumn = header.includes("key") ? "key" : header.includes("id") ? "id" : null;
  if (keyColumn === null) {
    throw new HeaderError(`events need a "key" column (or "id") naming the ${domain} each row is about`, { missing_columns: ["key"], header });
  }
  const keyIndex = header.indexOf(keyColumn);
  const typeIndex = header.indexOf("type");
  const timeIndex = header.indexOf("timestamp");
  const data = header
    .map((name, index) => ({ name, index, stats: new RunningStats(OUTLIER_SIGMAS, OUTLIER_WARM_UP) }))
    .filter((c) => c.index !== keyIndex && c.index !== typeIndex && c.index !== timeIndex);
  return {
    checkedColumns: [...header],
    ignoredColumns: [],
    toMessage(cells, row, report) {
      if (wrongWidth(cells, header, row, report)) return null;
      let ok = true;
      const key = cells[keyIndex]!.trim();
      if (key === "") {
        report.markMissing(keyColumn);
        ok = false;
      } else if (!SUBJECT_TOKEN.test(key)) {
        report.markInvalid(row, keyColumn, key, "must be 1-128 characters from A-Z a-z 0-9 _ - : @ + =");
        ok = false;
      }
      let type = DEFAULT_EVENT_TYPE;
      if (typeIndex >= 0) {
        const text = cells[typeIndex]!.trim();
        if (text === "") report.markMissing("type");
        else if (text.length > 64) {
          report.markInvalid(row, "type", text, "must be at most 64 characters");
          ok = false;
        } else type = text;
      }
      let timestamp = ctx.createdAt;
      if (timeIndex >= 0) {
        const text = cells[timeIndex]!.trim();
        if (text === "") report.markMissing("timestamp");
        else if (!TIMESTAMP.safeParse(text).success) {
          report.markInvalid(row, "timestamp", text, "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-23T10:00:00Z");
          ok = false;
        } else timestamp = text;
      }
      // no prototype: a column named "__proto__" is data like any other
      const values: Record<string, unknown> = Object.create(null);
      for (const c of data) {
        const text = cells[c.index]!.trim();
        if (text === "") {
          report.markMissing(c.name);
          continue;
        }
        if (DECIMAL.test(text)) {
          const x = Number(text);
          if (c.stats.observe(x)) {
            const { mean, sd } = c.stats.stats;
            report.markOutlier(row, c.name, text, `more than ${OUTLIER_SIGMAS} standard deviations from the mean of the rows before it (${round(mean)} ± ${round(sd)})`);
          }
          values[c.name] = x;
        } else if (/^(true|false)$/i.test(text)) values[c.name] = text.toLowerCase() === "true";
        else values[c.name] = text;
      }
      if (!ok) return null;
      const id = rowMessageId(ctx.importId, row);
      const envelope: EventEnvelope = { id, domain, key, type, data: values, timestamp };
      return { subject: ctx.names.eventSubject(domain, key), msgId: id, payload: envelope };
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
