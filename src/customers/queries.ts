/**
 * Read-side queries over what the churn pipeline writes: `customer_state` (one row per customer:
 * profile, latest score, its model and key factors, last activity) and `churn_history` (one row per
 * scored event). High risk means the customer's current risk level is High (churn probability
 * ≥ 0.6, `churnRiskLevel`), optionally above a stricter `minProbability`.
 */
import type { Knex } from "knex";
import { pageCounts } from "../db/pagination.ts";
import { NotFoundError, ValidationError } from "../errors.ts";

/** A customer as the high-risk list shows one. */
export interface CustomerSummary {
  customer_id: string;
  churn_probability: number | null;
  risk_level: string | null;
  /** the model that gave the score: churn_subscription or churn_telco */
  model: string | null;
  model_version: string | null;
  /** the features that moved the score most, most influential first */
  key_factors: string[];
  /** subscription plan, when the profile has one */
  plan: string | null;
  /** months as a customer: tenure_months (subscription profile) or tenure (telco profile) */
  tenure_months: number | null;
  /** the latest timestamp an event about the customer carried */
  last_activity: string | null;
  scored_at: string | null;
}

/** One scored event of a customer's history. */
export interface ScoreRecord {
  event_type: string;
  churn_probability: number;
  risk_level: string;
  model: string;
  model_version: string;
  key_factors: string[];
  stream_seq: number;
  scored_at: string;
}

export interface CustomerDetails extends CustomerSummary {
  /** every model feature seen for the customer, latest value each */
  profile: Record<string, unknown>;
  events_seen: number;
  /** events applied, by event type */
  event_counts: Record<string, number>;
  /** the latest scores, newest first */
  recent_scores: ScoreRecord[];
}

export interface HighRiskQuery {
  page: number;
  limit: number;
  /** only customers at or above this churn probability (on top of being High risk) */
  minProbability?: number;
}

export interface HighRiskPage {
  items: CustomerSummary[];
  pagination: { total: number; page: number; limit: number; pages: number; has_next: boolean; has_prev: boolean };
}

export interface DistributionBucket {
  /** lower edge (inclusive) */
  bucket: number;
  /** upper edge (exclusive, except the last bucket's 1) */
  upper: number;
  count: number;
}

export interface FactorShare {
  feature: string;
  /** high-risk customers with this feature among their key factors */
  customers: number;
  /** customers ÷ all high-risk customers */
  share: number;
}

const RECENT_SCORES = 10;

const SUMMARY_COLUMNS = [
  "customer_id",
  "churn_probability",
  "risk_level",
  "model",
  "model_version",
  "key_factors",
  "scored_at",
  "last_event_at",
] as const;

interface SummaryRow {
  customer_id: string;
  churn_probability: number | null;
  risk_level: string | null;
  model: string | null;
  model_version: string | null;
  key_factors: string[];
  scored_at: Date | null;
  last_event_at: Date | null;
  plan: unknown;
  tenure: unknown;
}

function toSummary(row: SummaryRow): CustomerSummary {
  return {
    customer_id: row.customer_id,
    churn_probability: row.churn_probability,
    risk_level: row.risk_level,
    model: row.model,
    model_version: row.model_version,
    key_factors: row.key_factors,
    plan: typeof row.plan === "string" ? row.plan : null,
    tenure_months: typeof row.tenure === "number" ? row.tenure : null,
    last_activity: row.last_event_at?.toISOString() ?? null,
    scored_at: row.scored_at?.toISOString() ?? null,
  };
}

/** The summary columns, with plan and tenure picked out of the profile by Postgres. */
function summarySelect(db: Knex) {
  return [...SUMMARY_COLUMNS, db.raw("profile -> 'plan' AS plan"), db.raw("coalesce(profile -> 'tenure_months', profile -> 'tenure') AS tenure")];
}

/**
 * High-risk customers, most likely to churn first (ties by id, so pages are stable), with the
 * total for pagination. The existing `risk_level` index finds them; see the README for why there
 * is no index on the probability.
 */
export async function listHighRisk(db: Knex, q: HighRiskQuery): Promise<HighRiskPage> {
  const filtered = () => {
    const query = db("customer_state").where("risk_level", "High");
    if (q.minProbability !== undefined) query.where("churn_probability", ">=", q.minProbability);
    return query;
  };
  const [{ total }] = (await filtered().count({ total: "*" })) as [{ total: string | number }];
  const rows: SummaryRow[] = await filtered()
    .select(summarySelect(db))
    .orderBy([{ column: "churn_probability", order: "desc" }, { column: "customer_id", order: "asc" }])
    .limit(q.limit)
    .offset((q.page - 1) * q.limit);
  const count = Number(total);
  return {
    items: rows.map(toSummary),
    pagination: { total: count, page: q.page, limit: q.limit, ...pageCounts(count, q.page, q.limit) },
  };
}

/** One customer's latest profile and score with its recent history, or a 404 NOT_FOUND. */
export async function getCustomer(db: Knex, customerId: string): Promise<CustomerDetails> {
  const row = (await db("customer_state")
    .where("customer_id", customerId)
    .first([...summarySelect(db), "profile", "events_seen", "counters"])) as
    | (SummaryRow & { profile: Record<string, unknown>; events_seen: number; counters: Record<string, number> })
    | undefined;
  if (!row) throw new NotFoundError(`Customer '${customerId}' not found`, { customer_id: customerId });
  const history = await db("churn_history")
    .where("customer_id", customerId)
    .orderBy("stream_seq", "desc")
    .limit(RECENT_SCORES)
    .select("event_type", "churn_probability", "risk_level", "model", "model_version", "key_factors", "stream_seq", "created_at");
  return {
    ...toSummary(row),
    profile: row.profile,
    events_seen: row.events_seen,
    event_counts: row.counters,
    recent_scores: history.map((h) => ({
      event_type: h.event_type,
      churn_probability: h.churn_probability,
      risk_level: h.risk_level,
      model: h.model,
      model_version: h.model_version,
      key_factors: h.key_factors,
      stream_seq: Number(h.stream_seq),
      scored_at: (h.created_at as Date).toISOString(),
    })),
  };
}

/** How many scored customers fall in each of `buckets` equal-width churn-probability buckets over [0, 1]. */
export async function riskDistribution(db: Knex, buckets: number): Promise<DistributionBucket[]> {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 100) throw new ValidationError("buckets must be an integer from 1 to 100", { buckets });
  const rows: Array<{ b: number; count: number }> = (
    await db.raw(
      `SELECT least(floor(churn_probability * ?)::int, ? - 1) AS b, count(*)::int AS count
         FROM customer_state WHERE churn_probability IS NOT NULL GROUP BY 1`,
      [buckets, buckets],
    )
  ).rows;
  const counts = new Map(rows.map((r) => [r.b, r.count]));
  const edge = (i: number) => Number((i / buckets).toFixed(6));
  return Array.from({ length: buckets }, (_, i) => ({ bucket: edge(i), upper: edge(i + 1), count: counts.get(i) ?? 0 }));
}

/**
 * The features that most often appear among high-risk customers' key factors, most frequent
 * first (ties by name), with how many high-risk customers there are in all.
 */
export async function topFactors(db: Knex, limit = 10): Promise<{ high_risk_customers: number; factors: FactorShare[] }> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ValidationError("limit must be an integer from 1 to 100", { limit });
  const [{ total }] = (await db("customer_state").where("risk_level", "High").count({ total: "*" })) as [{ total: string | number }];
  const rows: Array<{ feature: string; customers: number }> = (
    await db.raw(
      `SELECT f.feature, count(*)::int AS customers
         FROM customer_state AS s CROSS JOIN LATERAL jsonb_array_elements_text(s.key_factors) AS f(feature)
        WHERE s.risk_level = 'High'
        GROUP BY f.feature ORDER BY customers DESC, f.feature LIMIT ?`,
      [limit],
    )
  ).rows;
  const highRisk = Number(total);
  return {
    high_risk_customers: highRisk,
    factors: rows.map((r) => ({ feature: r.feature, customers: r.customers, share: Number((r.customers / highRisk).toFixed(4)) })),
  };
}
