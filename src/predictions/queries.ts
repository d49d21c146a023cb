import type { Knex } from "knex";
import { pageCounts } from "../db/pagination.ts";
import type { Principal } from "../auth/index.ts";
import { NotFoundError } from "../errors.ts";

export interface PredictionRecord {
  prediction_id: string;
  model_id: string;
  model_version: string;
  status: string;
  source: string;
  input: Record<string, unknown>;
  output: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
  score: number | null;
  processing_time_ms: number | null;
  created_at: string;
}

export interface ListQuery {
  page: number;
  page_size: number;
  sort_by: "created_at" | "score" | "model";
  sort_order: "asc" | "desc";
  model?: string;
  status?: string;
  source?: string;
}

/** Admins see every prediction, operators and analysts their tenant's, users their own. */
export function visibleTo(query: Knex.QueryBuilder, principal: Principal): Knex.QueryBuilder {
  if (principal.role === "admin") return query;
  if (principal.role === "operator" || principal.role === "analyst") return query.where("tenant_id", principal.tenantId);
  return query.where("user_id", principal.userId);
}

function toRecord(row: Record<string, unknown>): PredictionRecord {
  return {
    prediction_id: row.id as string,
    model_id: row.model as string,
    model_version: row.model_version as string,
    status: row.status as string,
    source: row.source as string,
    input: row.input as Record<string, unknown>,
    output: (row.output as Record<string, unknown> | null) ?? null,
    error: (row.error as Record<string, unknown> | null) ?? null,
    score: (row.score as number | null) ?? null,
    processing_time_ms: (row.latency_ms as number | null) ?? null,
    created_at: (row.created_at as Date).toISOString(),
  };
}

export async function getPrediction(db: Knex, id: string, principal: Principal): Promise<PredictionRecord> {
  const row = await visibleTo(db("predictions").where("id", id), principal).first();
  if (!row) throw new NotFoundError(`Prediction '${id}' not found`, { prediction_id: id });
  return toRecord(row);
}

export async function listPredictions(db: Knex, principal: Principal, q: ListQuery) {
  const filtered = () => {
    const query = visibleTo(db("predictions"), principal);
    if (q.model) query.where("model", q.model);
    if (q.status) query.where("status", q.status);
    if (q.source) query.where("source", q.source);
    return query;
  };
  const [{ total }] = (await filtered().count({ total: "*" })) as [{ total: string | number }];
  const rows = await filtered()
    .orderBy([{ column: q.sort_by === "model" ? "model" : q.sort_by, order: q.sort_order }, { column: "id", order: q.sort_order }])
    .limit(q.page_size)
    .offset((q.page - 1) * q.page_size);
  const count = Number(total);
  return {
    items: rows.map(toRecord),
    pagination: { total: count, page: q.page, page_size: q.page_size, ...pageCounts(count, q.page, q.page_size) },
  };
}
