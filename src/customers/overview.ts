/**
 * Seed 003's dashboard figures over the churn pipeline's scores. There are no observed churns in
 * the events (nobody reports a cancellation), so the churn rate is the expected one: the mean of
 * every scored customer's latest churn probability. "Previous" is the same figure from each
 * customer's latest score before the period began, read from `churn_history`.
 */
import type { Knex } from "knex";
import { ValidationError } from "../errors.ts";

export interface ChurnOverview {
  period_days: number;
  /** expected churn rate, percent of scored customers */
  churn_rate: { current: number | null; previous: number | null };
  /** customers at High risk (p ≥ 0.6), and their mean churn probability */
  high_risk: { current: number; previous: number; mean_probability: number | null };
  scored_customers: number;
  /** the churn model that scored the most customers now, with how many */
  model: { name: string; version: string; customers: number } | null;
}

const HIGH = 0.6;

export async function churnOverview(db: Knex, periodDays: number): Promise<ChurnOverview> {
  if (!Number.isInteger(periodDays) || periodDays < 1 || periodDays > 365) throw new ValidationError("period_days must be an integer from 1 to 365", { period_days: periodDays });
  const now = (
    await db.raw(
      `SELECT count(*)::int AS scored, avg(churn_probability) AS rate,
              count(*) FILTER (WHERE churn_probability >= ?)::int AS high,
              avg(churn_probability) FILTER (WHERE churn_probability >= ?) AS high_mean
         FROM customer_state WHERE churn_probability IS NOT NULL`,
      [HIGH, HIGH],
    )
  ).rows[0] as { scored: number; rate: number | null; high: number; high_mean: number | null };
  const before = (
    await db.raw(
      `SELECT avg(churn_probability) AS rate, count(*) FILTER (WHERE churn_probability >= ?)::int AS high
         FROM (SELECT DISTINCT ON (customer_id) churn_probability FROM churn_history
                WHERE created_at < now() - make_interval(days => ?) ORDER BY customer_id, stream_seq DESC) AS latest`,
      [HIGH, periodDays],
    )
  ).rows[0] as { rate: number | null; high: number };
  const top = (await db("customer_state")
    .whereNotNull("model")
    .select("model", "model_version")
    .count({ customers: "*" })
    .groupBy("model", "model_version")
    .orderBy([{ column: "customers", order: "desc" }, { column: "model" }])
    .first()) as { model: string; model_version: string; customers: string | number } | undefined;
  const percent = (p: number | null) => (p === null ? null : Math.round(p * 1000) / 10);
  return {
    period_days: periodDays,
    churn_rate: { current: percent(now.rate), previous: percent(before.rate) },
    high_risk: { current: now.high, previous: before.high, mean_probability: now.high_mean === null ? null : Math.round(now.high_mean * 1e4) / 1e4 },
    scored_customers: now.scored,
    model: top ? { name: top.model, version: top.model_version, customers: Number(top.customers) } : null,
  };
}

export interface RiskSegment {
  segment: "High Risk" | "Medium Risk" | "Low Risk";
  count: number;
}

/** Scored customers per risk level (`churnRiskLevel`'s bands), High first, each present even at 0. */
export async function riskSegments(db: Knex): Promise<RiskSegment[]> {
  const rows = (await db("customer_state").whereNotNull("risk_level").select("risk_level").count({ count: "*" }).groupBy("risk_level")) as Array<{ risk_level: string; count: string | number }>;
  const counts = new Map(rows.map((r) => [r.risk_level, Number(r.count)]));
  return (["High", "Medium", "Low"] as const).map((level) => ({ segment: `${level} Risk` as const, count: counts.get(level) ?? 0 }));
}

export interface LatestScore {
  customer_id: string;
  churn_probability: number;
  model: string;
  model_version: string;
  prediction_date: string;
}

/** The most recently scored customers' latest scores, newest first, with how many are scored in all. */
export async function latestScores(db: Knex, limit: number): Promise<{ total: number; scores: LatestScore[] }> {
  const scored = () => db("customer_state").whereNotNull("churn_probability");
  const [{ total }] = (await scored().count({ total: "*" })) as [{ total: string | number }];
  const rows: Array<{ customer_id: string; churn_probability: number; model: string; model_version: string; scored_at: Date }> = await scored()
    .select("customer_id", "churn_probability", "model", "model_version", "scored_at")
    .orderBy([{ column: "scored_at", order: "desc" }, { column: "customer_id" }])
    .limit(limit);
  return {
    total: Number(total),
    scores: rows.map((r) => ({ customer_id: r.customer_id, churn_probability: r.churn_probability, model: r.model, model_version: r.model_version, prediction_date: r.scored_at.toISOString() })),
  };
}
