/** Reads a platform's /metrics so a run can say where the server spent its time. */
export type Scrape = Map<string, number>;

export async function scrape(baseUrl: string): Promise<Scrape> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const values: Scrape = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return values;
}

/** Count and mean of a histogram between two scrapes, over the series whose labels contain `labels`. */
function histogram(before: Scrape, after: Scrape, name: string, labels: string) {
  let sum = 0;
  let count = 0;
  for (const [key, value] of after) {
    if (!key.includes(labels)) continue;
    if (key.startsWith(`${name}_sum`)) sum += value - (before.get(key) ?? 0);
    else if (key.startsWith(`${name}_count`)) count += value - (before.get(key) ?? 0);
  }
  return { count, mean: count > 0 ? sum / count : NaN };
}

export interface ServerBreakdown {
  /** http_request_duration_seconds of the route, ms */
  httpMeanMs: number;
  /** JetStream publish of the request until its PubAck, ms */
  publishMeanMs: number;
  scorerBatches: number;
  scorerMeanBatchSize: number;
  /** the scorer's handler from receipt to ack, ms */
  scorerBatchMeanMs: number;
  /** the scorer's database transaction (insert predictions + charge credits + commit), ms */
  scorerTxnMeanMs: number;
  /** onnxruntime scoring per batch, ms */
  scoreMeanMs: number;
}

export function breakdown(before: Scrape, after: Scrape, route: string): ServerBreakdown {
  const ms = (v: number) => Math.round(v * 1000 * 1000) / 1000;
  const http = histogram(before, after, "http_request_duration_seconds", `route="${route}"`);
  const publish = histogram(before, after, "tidecast_publish_duration_seconds", 'stream="predict"');
  const batch = histogram(before, after, "tidecast_batch_duration_seconds", 'pipeline="scorer"');
  const size = histogram(before, after, "tidecast_batch_size", 'pipeline="scorer"');
  const txn = histogram(before, after, "tidecast_db_write_duration_seconds", 'pipeline="scorer"');
  const score = histogram(before, after, "model_prediction_latency_seconds", "");
  return {
    httpMeanMs: ms(http.mean),
    publishMeanMs: ms(publish.mean),
    scorerBatches: batch.count,
    scorerMeanBatchSize: Math.round(size.mean * 100) / 100,
    scorerBatchMeanMs: ms(batch.mean),
    scorerTxnMeanMs: ms(txn.mean),
    scoreMeanMs: ms(score.mean),
  };
}
