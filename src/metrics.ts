import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// Latency buckets in seconds, dense below 50 ms where the sync path lives.
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Every Prometheus metric of one platform instance, on its own registry so that several instances
 * (tests) can live in one process.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency",
      labelNames: ["method", "route", "status"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    published: new Counter({
      name: "tidecast_published_messages_total",
      help: "Messages published to JetStream, by stream and outcome (ok, duplicate, error)",
      labelNames: ["stream", "outcome"] as const,
      registers,
    }),
    publishDuration: new Histogram({
      name: "tidecast_publish_duration_seconds",
      help: "JetStream publish round trip (until the PubAck)",
      labelNames: ["stream"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    consumed: new Counter({
      name: "tidecast_consumed_messages_total",
      help: "Messages handled by a pipeline, by outcome (ok, retry, invalid)",
      labelNames: ["pipeline", "outcome"] as const,
      registers,
    }),
    redelivered: new Counter({
      name: "tidecast_redelivered_messages_total",
      help: "Messages received with a delivery count above one",
      labelNames: ["pipeline"] as const,
      registers,
    }),
    batchDuration: new Histogram({
      name: "tidecast_batch_duration_seconds",
      help: "Time to handle one batch of messages, from receipt to ack",
      labelNames: ["pipeline"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    batchSize: new Histogram({
      name: "tidecast_batch_size",
      help: "Messages per handled batch",
      labelNames: ["pipeline"] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    dbWriteDuration: new Histogram({
      name: "tidecast_db_write_duration_seconds",
      help: "Postgres transaction time per batch",
      labelNames: ["pipeline"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    predictions: new Counter({
      name: "model_predictions_total",
      help: "Predictions made, by model",
      labelNames: ["model"] as const,
      registers,
    }),
    predictionErrors: new Counter({
      name: "model_prediction_errors_total",
      help: "Prediction errors by model and error type",
      labelNames: ["model", "error_type"] as const,
      registers,
    }),
    scoreDuration: new Histogram({
      name: "model_prediction_latency_seconds",
      help: "ONNX inference time per batch",
      labelNames: ["model"] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    scores: new Histogram({
      name: "model_prediction_raw_scores",
      help: "Distribution of model outputs (probabilities 0-1)",
      labelNames: ["model"] as const,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
      registers,
    }),
    scoreBuckets: new Histogram({
      name: "model_prediction_buckets",
      help: "Distribution of prediction buckets (1-5) of models that rank their scores in buckets",
      labelNames: ["model"] as const,
      buckets: [1, 2, 3, 4, 5],
      registers,
    }),
    consumerPending: new Gauge({
      name: "tidecast_consumer_pending_messages",
      help: "Messages in the stream not yet delivered to the consumer",
      labelNames: ["pipeline"] as const,
      registers,
    }),
    consumerAckPending: new Gauge({
      name: "tidecast_consumer_ack_pending_messages",
      help: "Messages this process received and has not yet acknowledged",
      labelNames: ["pipeline"] as const,
      registers,
    }),
    consumerNotifications: new Counter({
      name: "tidecast_consumer_notifications_total",
      help: "Consumer status notifications (heartbeats missed, consumer deleted, ...)",
      labelNames: ["pipeline", "type"] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: "tidecast_dead_letters_total",
      help: "Messages moved to the dead-letter stream",
      labelNames: ["stream", "consumer"] as const,
      registers,
    }),
    alerts: new Counter({
      name: "tidecast_alerts_total",
      help: "Alerts raised, by type and severity",
      labelNames: ["type", "severity"] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "tidecast_webhook_deliveries_total",
      help: "Webhook delivery attempts, by event and outcome (delivered, retry, failed, cancelled)",
      labelNames: ["event", "outcome"] as const,
      registers,
    }),
    imports: new Counter({
      name: "tidecast_imports_total",
      help: "CSV imports ended, by target kind (predict, events) and outcome (completed, failed)",
      labelNames: ["target", "outcome"] as const,
      registers,
    }),
    importRows: new Counter({
      name: "tidecast_import_rows_total",
      help: "CSV rows of completed imports, by target kind and outcome (published, rejected)",
      labelNames: ["target", "outcome"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
