import {
  heatmap,
  labelVariable,
  renderDashboard,
  row,
  schemaVariable,
  sqlBarChart,
  sqlTable,
  sqlTimeseries,
  timeseries,
  type DashboardSpec,
} from "./panels.ts";

// Every query is written against src/metrics.ts and the tables of migrations/; the integration test
// (test/integration/grafana.test.ts) runs each one against a live platform.

const RATE = "$__rate_interval";

/** `sum by (<by>) (rate(<metric><selector>[$__rate_interval]))` */
const rate = (metric: string, by: string, selector = "") => `sum by (${by}) (rate(${metric}${selector}[${RATE}]))`;

const quantile = (q: number, histogram: string, by: string, selector = "") =>
  `histogram_quantile(${q}, sum by (le, ${by}) (rate(${histogram}_bucket${selector}[${RATE}])))`;

/**
 * Share of a route's requests whose status matches `statuses`. Routes without such a status show 0
 * rather than no line: `or` fills them in from the total.
 */
const statusRatio = (statuses: string) =>
  `(${rate("http_requests_total", "route", `{status=~"${statuses}"}`)} or ${rate("http_requests_total", "route")} * 0) / ${rate("http_requests_total", "route")}`;

const api: DashboardSpec = {
  uid: "tidecast-api",
  title: "Tidecast / API",
  description: "HTTP traffic of the Koa API, by matched route (the pattern, not the raw path).",
  tags: ["tidecast"],
  variables: [],
  rows: [
    row("Traffic", [
      timeseries({
        title: "Requests by route",
        description: "Requests per second, by matched route and status class.",
        span: 12,
        unit: "reqps",
        stack: true,
        queries: [{ expr: `sum by (route, status) (rate(http_requests_total[${RATE}]))`, legend: "{{route}} {{status}}" }],
      }),
    ]),
    row("Latency", [
      timeseries({
        title: "Latency p50 by route",
        description: "Median time from request received to response sent.",
        span: 6,
        unit: "s",
        queries: [{ expr: quantile(0.5, "http_request_duration_seconds", "route"), legend: "{{route}}" }],
      }),
      timeseries({
        title: "Latency p99 by route",
        description: "99th percentile; the sync predict path includes the publish, the scorer's commit and the reply.",
        span: 6,
        unit: "s",
        queries: [{ expr: quantile(0.99, "http_request_duration_seconds", "route"), legend: "{{route}}" }],
      }),
    ]),
    row("Errors", [
      timeseries({
        title: "Server errors (5xx) by route",
        description: "Share of requests answered 5xx: 503 when a dependency is down, 504 when a prediction timed out.",
        span: 6,
        unit: "percentunit",
        queries: [{ expr: statusRatio("5.."), legend: "{{route}}" }],
      }),
      timeseries({
        title: "Client errors (4xx) by route",
        description: "Share of requests refused: invalid input, authentication, rate limits, credits.",
        span: 6,
        unit: "percentunit",
        queries: [{ expr: statusRatio("4.."), legend: "{{route}}" }],
      }),
    ]),
  ],
};

const MODEL = '{model=~"$model"}';

const models: DashboardSpec = {
  uid: "tidecast-models",
  title: "Tidecast / Models",
  description: "Predictions, inference latency and output distribution per model, from the scorer and the stateful pipelines.",
  tags: ["tidecast"],
  variables: [labelVariable("model", "model", "model_predictions_total")],
  rows: [
    row("Throughput", [
      timeseries({
        title: "Predictions per second by model",
        description: "Rows scored, by the scorer (sync and async requests) and by the pipelines rescoring on events.",
        span: 6,
        unit: "ops",
        stack: true,
        queries: [{ expr: rate("model_predictions_total", "model", MODEL), legend: "{{model}}" }],
      }),
      timeseries({
        title: "Prediction errors by model",
        description: "Requests the scorer could not score: unknown model, features that fail the model card.",
        span: 6,
        unit: "ops",
        queries: [{ expr: rate("model_prediction_errors_total", "model, error_type", MODEL), legend: "{{model}} {{error_type}}" }],
      }),
    ]),
    row("Inference latency", [
      timeseries({
        title: "Score latency p50 / p99 by model",
        description: "onnxruntime time per scored batch (not per row).",
        span: 12,
        unit: "s",
        queries: [
          { expr: quantile(0.5, "model_prediction_latency_seconds", "model", MODEL), legend: "{{model}} p50" },
          { expr: quantile(0.99, "model_prediction_latency_seconds", "model", MODEL), legend: "{{model}} p99" },
        ],
      }),
    ]),
    row("Score distribution", [
      heatmap({
        title: "Scores of $model",
        description: "How many predictions fell in each score bucket per interval; a drifting model shifts its mass.",
        span: 6,
        repeat: "model",
        query: { expr: `sum by (le) (increase(model_prediction_raw_scores_bucket${MODEL}[${RATE}]))`, legend: "{{le}}" },
      }),
    ]),
    row("Lead tiers", [
      heatmap({
        title: "Score buckets of b2b_lead_score (1 = tier E … 5 = tier A)",
        description:
          "Predictions per bucket per interval, from the card's score_buckets (quintiles of the validation scores): by the scorer for " +
          "REST and CSV requests and by the lead pipeline on events. A shift of mass towards 1 or 5 is drift of the leads, or of the model.",
        span: 12,
        query: { expr: `sum by (le) (increase(model_prediction_buckets_bucket{model="b2b_lead_score"}[${RATE}]))`, legend: "{{le}}" },
      }),
    ]),
  ],
};

const PIPELINE = '{pipeline=~"$pipeline"}';

const pipelines: DashboardSpec = {
  uid: "tidecast-pipelines",
  title: "Tidecast / Pipelines",
  description: "Durable consumers: consumption, backlog, retries and dead letters per pipeline; alerts raised.",
  tags: ["tidecast"],
  variables: [labelVariable("pipeline", "pipeline", "tidecast_consumed_messages_total")],
  rows: [
    row("Consumption", [
      timeseries({
        title: "Messages handled by pipeline",
        description: "Per second, by outcome: ok (acked), retry (nakked for redelivery), invalid (dead-lettered at once).",
        span: 6,
        unit: "ops",
        stack: true,
        queries: [{ expr: rate("tidecast_consumed_messages_total", "pipeline, outcome", PIPELINE), legend: "{{pipeline}} {{outcome}}" }],
      }),
      timeseries({
        title: "Batch duration p99 by pipeline",
        description: "From receipt of a batch to its last ack, including the Postgres transaction.",
        span: 6,
        unit: "s",
        queries: [{ expr: quantile(0.99, "tidecast_batch_duration_seconds", "pipeline", PIPELINE), legend: "{{pipeline}}" }],
      }),
    ]),
    row("Backlog", [
      timeseries({
        title: "Pending messages by pipeline",
        description:
          "Messages in the stream not yet delivered to the consumer, as the last delivered message reported it (no consumer INFO calls: they stall nats-server 2.9).",
        span: 6,
        queries: [{ expr: `max by (pipeline) (tidecast_consumer_pending_messages${PIPELINE})`, legend: "{{pipeline}}" }],
      }),
      timeseries({
        title: "Unacknowledged messages by pipeline",
        description: "Received by a process and not yet acked: buffered or in a batch being handled.",
        span: 6,
        queries: [{ expr: `sum by (pipeline) (tidecast_consumer_ack_pending_messages${PIPELINE})`, legend: "{{pipeline}}" }],
      }),
    ]),
    row("Failures", [
      timeseries({
        title: "Redeliveries by pipeline",
        description: "Messages received again after a nak or an expired ack wait.",
        span: 6,
        unit: "ops",
        queries: [{ expr: rate("tidecast_redelivered_messages_total", "pipeline", PIPELINE), legend: "{{pipeline}}" }],
      }),
      timeseries({
        title: "Dead letters by consumer",
        description: "Messages copied to the DLQ stream per interval: invalid at once, or after max_deliver failed deliveries.",
        span: 6,
        bars: true,
        queries: [{ expr: `sum by (consumer) (increase(tidecast_dead_letters_total[${RATE}]))`, legend: "{{consumer}}" }],
      }),
    ]),
    row("Alerts and webhooks", [
      timeseries({
        title: "Alerts raised by severity",
        description: "Alerts published to alerts.<type> per interval, after the transaction that stored them.",
        span: 6,
        bars: true,
        stack: true,
        queries: [{ expr: `sum by (severity) (increase(tidecast_alerts_total[${RATE}]))`, legend: "{{severity}}" }],
      }),
      timeseries({
        title: "Webhook deliveries by outcome",
        description: "Delivery attempts per second: delivered (a 2xx), retry (another answer or none; retried with backoff), failed (attempts used up, or a refused address), cancelled (the webhook was deactivated).",
        span: 6,
        unit: "ops",
        queries: [{ expr: rate("tidecast_webhook_deliveries_total", "outcome"), legend: "{{outcome}}" }],
      }),
    ]),
  ],
};

const S = "$schema";

const business: DashboardSpec = {
  uid: "tidecast-business",
  title: "Tidecast / Business",
  description: "What the pipelines concluded, read from Postgres: churn risk, hot leads, anomalies, open alerts.",
  tags: ["tidecast"],
  variables: [schemaVariable()],
  rows: [
    row("Churn", [
      sqlBarChart({
        title: "Customers by churn risk",
        description: "Current risk level of every scored customer (customer_state).",
        span: 4,
        query: {
          format: "table",
          sql: `SELECT risk_level, count(*) AS customers
FROM ${S}.customer_state
WHERE risk_level IS NOT NULL
GROUP BY risk_level
ORDER BY min(churn_probability)`,
        },
      }),
      sqlBarChart({
        title: "Churn probability distribution",
        description: "Scored customers by churn probability, in tenths.",
        span: 8,
        query: {
          format: "table",
          sql: `SELECT concat(b * 10, '-', b * 10 + 10, '%') AS churn_probability, count(*) AS customers
FROM (SELECT least(floor(churn_probability * 10), 9)::int AS b FROM ${S}.customer_state WHERE churn_probability IS NOT NULL) scored
GROUP BY b
ORDER BY b`,
        },
      }),
    ]),
    row("Leads", [
      sqlTable({
        title: "Hot leads (tier A)",
        description: "The 50 best-scored leads in tier A (lead_state).",
        span: 12,
        query: {
          format: "table",
          sql: `SELECT lead_id, score, tier
FROM ${S}.lead_state
WHERE tier = 'A'
ORDER BY score DESC
LIMIT 50`,
        },
      }),
    ]),
    row("Anomalies", [
      sqlTimeseries({
        title: "Anomalies per series",
        description: "Anomalies detected per interval, one line per metric series.",
        span: 6,
        query: {
          format: "time_series",
          sql: `SELECT $__timeGroupAlias(ts, $__interval), series_id AS metric, count(*) AS anomalies
FROM ${S}.anomalies
WHERE $__timeFilter(ts)
GROUP BY 1, 2
ORDER BY 1`,
        },
      }),
      sqlTable({
        title: "Latest anomalies",
        description: "The 100 most recent anomalies in the time range, with the value the detector expected.",
        span: 6,
        query: {
          format: "table",
          sql: `SELECT ts AS time, series_id, value, expected, severity
FROM ${S}.anomalies
WHERE $__timeFilter(ts)
ORDER BY ts DESC
LIMIT 100`,
        },
      }),
    ]),
    row("Alerts", [
      sqlBarChart({
        title: "Open alerts by severity",
        description: "Alerts not yet acknowledged or resolved.",
        span: 12,
        query: {
          format: "table",
          sql: `SELECT severity, count(*) AS alerts
FROM ${S}.alerts
WHERE status = 'open'
GROUP BY severity
ORDER BY array_position(ARRAY['low', 'medium', 'high', 'critical'], severity::text)`,
        },
      }),
    ]),
  ],
};

/** Every dashboard, as Grafana stores it, keyed by its file name in grafana/dashboards/. */
export function renderDashboards(): Map<string, Record<string, unknown>> {
  return new Map([api, models, pipelines, business].map((spec) => [`${spec.uid}.json`, renderDashboard(spec)]));
}
