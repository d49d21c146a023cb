/**
 * Seed 000's usage analytics and export over the predictions a caller may see (`visibleTo`): how
 * many, of which models, how they ended, how confident and how fast, over the last `days`.
 * Success rate counts finished predictions only (a pending one has not ended yet); confidence is
 * the probability of the predicted class, so regressions and recommendations have none.
 */
import { pipeline, Readable } from "node:stream";
import type { Knex } from "knex";
import { stringify } from "csv-stringify";
import type { Principal } from "../auth/index.ts";
import { visibleTo } from "./queries.ts";

export type Granularity = "hour" | "day" | "week";

export interface UsageFilter {
  days: number;
  model?: string | undefined;
  granularity: Granularity;
}

interface Aggregate {
  count: number;
  success_rate: number | null;
  avg_confidence: number | null;
  avg_processing_time: number | null;
}

const AGGREGATES = `count(*)::int AS count,
  count(*) FILTER (WHERE status = 'completed')::int AS completed,
  count(*) FILTER (WHERE status = 'failed')::int AS failed,
  avg((output ->> 'confidence')::float8) AS avg_confidence,
  avg(latency_ms) / 1000 AS avg_processing_time`;

type AggregateRow = { count: number; completed: number; failed: number; avg_confidence: number | null; avg_processing_time: number | null };

const round = (value: number | null, digits: number) => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);

function aggregate(row: AggregateRow): Aggregate {
  const finished = row.completed + row.failed;
  return {
    count: row.count,
    success_rate: finished > 0 ? round((row.completed / finished) * 100, 1) : null,
    avg_confidence: round(row.avg_confidence, 4),
    avg_processing_time: round(row.avg_processing_time, 4),
  };
}

function since(days: number): Date {
  return new Date(Date.now() - days * 86_400_000);
}

/** The predictions `principal` may see made since `start`, of one model when given. */
function visibleSince(db: Knex, principal: Principal, start: Date, model?: string) {
  const q = visibleTo(db("predictions"), principal).where("created_at", ">=", start);
  if (model) q.where("model", model);
  return q;
}

/** Per model: how many predictions since `start`, their success rate, confidence and speed. */
export async function activityByModel(db: Knex, principal: Principal, start: Date, model?: string): Promise<Record<string, Aggregate>> {
  const rows = (await visibleSince(db, principal, start, model).select("model", db.raw(AGGREGATES)).groupBy("model").orderBy("model")) as Array<AggregateRow & { model: string }>;
  return Object.fromEntries(rows.map((m) => [m.model, aggregate(m)]));
}

/** All models together since `start`, with the 95th percentile of processing time. */
export async function recentActivity(db: Knex, principal: Principal, start: Date) {
  const row = (await visibleSince(db, principal, start)
    .select(db.raw(`${AGGREGATES}, percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) / 1000 AS p95_processing_time`))
    .first()) as AggregateRow & { p95_processing_time: number | null };
  return { ...aggregate(row), p95_processing_time: round(row.p95_processing_time, 4) };
}

export async function usageAnalytics(db: Knex, principal: Principal, filter: UsageFilter) {
  const start = since(filter.days);
  const end = new Date();
  const rows = () => visibleSince(db, principal, start, filter.model);
  const [summary, byModel, byPeriod, byDay, byHour] = await Promise.all([
    rows().select(db.raw(`${AGGREGATES}, count(DISTINCT model)::int AS unique_models`)).first() as Promise<AggregateRow & { unique_models: number }>,
    activityByModel(db, principal, start, filter.model),
    rows()
      .select(db.raw(`to_char(date_trunc(?, created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"') AS period, ${AGGREGATES}`, [filter.granularity]))
      .groupBy("period")
      .orderBy("period") as Promise<Array<AggregateRow & { period: string }>>,
    rows().select(db.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS count`)).groupBy("day").orderBy("day", "desc") as Promise<Array<{ day: string; count: number }>>,
    rows().select(db.raw(`extract(hour FROM created_at AT TIME ZONE 'UTC')::int AS hour, count(*)::int AS count`)).groupBy("hour") as Promise<Array<{ hour: number; count: number }>>,
  ]);
  const hourly = new Array<number>(24).fill(0);
  for (const h of byHour) hourly[h.hour] = h.count;
  const periods = byPeriod.map((p) => ({ start: p.period, ...aggregate(p) }));
  const { count, ...rest } = aggregate(summary);
  return {
    analytics: {
      summary: { total_predictions: count, unique_models: summary.unique_models, ...rest },
      by_model: byModel,
      by_day: Object.fromEntries(byDay.map((d) => [d.day, d.count])),
      by_period: periods,
      hourly_distribution: hourly,
      trends: {
        confidence_trend: periods.map((p) => p.avg_confidence),
        performance_trend: periods.map((p) => p.avg_processing_time),
        volume_trend: periods.map((p) => p.count),
      },
    },
    filters: { days: filter.days, model: filter.model ?? null, granularity: filter.granularity, start_date: start.toISOString(), end_date: end.toISOString() },
    generated_at: end.toISOString(),
  };
}

export const EXPORT_COLUMNS = ["timestamp", "model_type", "confidence", "processing_time", "status", "prediction_summary", "prediction_id", "model_version", "source"] as const;
type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number | null>;

const PAGE = 1_000;

/**
 * The visible predictions of the last `days`, newest first, a page of rows at a time (keyset on
 * created_at and id), so an export of any size holds neither a connection nor its rows for long.
 */
async function* exportRows(db: Knex, principal: Principal, filter: Omit<UsageFilter, "granularity">): AsyncGenerator<ExportRow> {
  const start = since(filter.days);
  let after: { created_at: Date; id: string } | undefined;
  for (;;) {
    const q = visibleSince(db, principal, start, filter.model);
    if (after) q.whereRaw("(created_at, id) < (?, ?)", [after.created_at, after.id]);
    const rows: Array<{ id: string; created_at: Date; model: string; model_version: string; source: string; status: string; score: number | null; latency_ms: number | null; confidence: number | null }> = await q
      .select("id", "created_at", "model", "model_version", "source", "status", "score", "latency_ms", db.raw("(output ->> 'confidence')::float8 AS confidence"))
      .orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }])
      .limit(PAGE);
    for (const r of rows) {
      yield {
        timestamp: r.created_at.toISOString(),
        model_type: r.model,
        confidence: r.confidence,
        processing_time: r.latency_ms === null ? null : round(r.latency_ms / 1000, 4),
        status: r.status,
        prediction_summary: r.score,
        prediction_id: r.id,
        model_version: r.model_version,
        source: r.source,
      };
    }
    if (rows.length < PAGE) return;
    after = { created_at: rows.at(-1)!.created_at, id: rows.at(-1)!.id };
  }
}

/** The export as a stream of CSV (with a header row) or of one JSON array. */
export function exportPredictions(db: Knex, principal: Principal, filter: Omit<UsageFilter, "granularity">, format: "csv" | "json"): Readable {
  const rows = exportRows(db, principal, filter);
  // pipeline, not pipe: a failed read destroys the CSV stream too, so the response ends instead of hanging
  if (format === "csv") return pipeline(Readable.from(rows), stringify({ header: true, columns: [...EXPORT_COLUMNS] }), () => {});
  return Readable.from(
    (async function* () {
      let first = true;
      yield "[";
      for await (const row of rows) {
        yield `${first ? "" : ","}${JSON.stringify(row)}`;
        first = false;
      }
      yield "]";
    })(),
  );
}
