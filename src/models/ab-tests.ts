import type { Knex } from "knex";

export interface AbTestRow {
  id: number;
  version_a: string;
  version_b: string;
  split: number;
  status: "running" | "ended";
  started_at: Date;
  started_by: number | null;
  ended_at: Date | null;
  ended_by: number | null;
  end_reason: string | null;
}

/** A model's running A/B test, else its latest ended one, else undefined. */
export function latestAbTest(db: Knex, model: string): Promise<AbTestRow | undefined> {
  return db("model_ab_tests")
    .join("models", "models.id", "model_ab_tests.model_id")
    .where("models.name", model)
    .orderByRaw("(model_ab_tests.status = 'running') desc, model_ab_tests.started_at desc, model_ab_tests.id desc")
    .first("model_ab_tests.*");
}

interface VersionFigures {
  model_version: string;
  completed: string | number;
  failed: string | number;
  mean_score: number | null;
  sd_score: number | null;
  mean_confidence: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
}

/**
 * What each version of a test scored between its start and its end (or now): completed and
 * failed predictions, its share of them, the mean and spread of its scores and confidence, and
 * its latency. Outcomes are not known to the platform, so which version is right is not measured
 * here: the figures show whether they score alike, and how fast.
 */
export async function abTestResults(db: Knex, model: string, test: AbTestRow) {
  const rows: VersionFigures[] = await db("predictions")
    .where("model", model)
    .whereIn("model_version", [test.version_a, test.version_b])
    .andWhere("created_at", ">=", test.started_at)
    .modify((q) => {
      if (test.ended_at) q.andWhere("created_at", "<", test.ended_at);
    })
    .groupBy("model_version")
    .select(
      "model_version",
      db.raw("count(*) FILTER (WHERE status = 'completed') AS completed"),
      db.raw("count(*) FILTER (WHERE status = 'failed') AS failed"),
      db.raw("avg(score) FILTER (WHERE status = 'completed') AS mean_score"),
      db.raw("stddev_samp(score) FILTER (WHERE status = 'completed') AS sd_score"),
      db.raw("avg((output->>'confidence')::double precision) FILTER (WHERE status = 'completed') AS mean_confidence"),
      db.raw("percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms"),
      db.raw("percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms"),
    );
  const byVersion = new Map(rows.map((r) => [r.model_version, r]));
  const total = rows.reduce((sum, r) => sum + Number(r.completed) + Number(r.failed), 0);
  const round = (x: number | null) => (x === null ? null : Math.round(Number(x) * 1e6) / 1e6);
  const figures = (version: string, arm: "A" | "B", expectedPercent: number) => {
    const r = byVersion.get(version);
    const n = r ? Number(r.completed) + Number(r.failed) : 0;
    return {
      arm,
      version,
      expected_share: expectedPercent / 100,
      observed_share: total > 0 ? round(n / total) : null,
      predictions: n,
      completed: r ? Number(r.completed) : 0,
      failed: r ? Number(r.failed) : 0,
      mean_score: round(r?.mean_score ?? null),
      sd_score: round(r?.sd_score ?? null),
      mean_confidence: round(r?.mean_confidence ?? null),
      p50_latency_ms: round(r?.p50_latency_ms ?? null),
      p95_latency_ms: round(r?.p95_latency_ms ?? null),
    };
  };
  return { total_predictions: total, versions: [figures(test.version_a, "A", 100 - test.split), figures(test.version_b, "B", test.split)] };
}

export function presentAbTest(model: string, test: AbTestRow) {
  return {
    model_name: model,
    version_a: test.version_a,
    version_b: test.version_b,
    split: test.split,
    status: test.status,
    started_at: test.started_at.toISOString(),
    started_by: test.started_by,
    ended_at: test.ended_at?.toISOString() ?? null,
    ended_by: test.ended_by,
    end_reason: test.end_reason,
  };
}
