import { describe, it } from "node:test";
import { HISTORY_CHUNK_VALUES } from "../../pipelines/anomaly/state.ts";
import { metricEvents } from "../fixtures/metric-events.ts";
import { proveExactlyOnce } from "../helpers/exactly-once.ts";

// 8 series of 1,500 points: past the learning period, each with two injected spikes.
const SERIES = 8;
const N = 1500 * SERIES;

describe("exactly-once effects of the anomaly pipeline", () => {
  it("a run killed with SIGKILL and restarted writes the same anomalies, alerts and detector state as an uninterrupted run", async () => {
    await proveExactlyOnce({
      role: "anomaly",
      domain: "metric",
      events: metricEvents(N, SERIES),
      applied: async (db) => Number((await db("series_state").sum({ n: "points_seen" }))[0]!.n ?? 0),
      snapshot: async (db) => ({
        anomalies: await db("anomalies")
          .orderBy("message_id")
          .select("message_id", "series_id", "ts", "value", "expected", "stddev", "lower", "upper", "score", "severity", "explanation", "stream_seq"),
        state: await db("series_state").orderBy("series_id").select("series_id", "state", "history_first", "last_seq", "points_seen", "last_timestamp", "late_points"),
        history: await db("series_history").orderBy(["series_id", "chunk"]).select("series_id", "chunk", "points"),
        alerts: await db("alerts").orderBy("dedup_key").select("dedup_key", "type", "severity", "entity_id", "message", "data"),
      }),
      minimumRows: { anomalies: 2 * SERIES, state: SERIES, history: SERIES * (Math.ceil(1500 / HISTORY_CHUNK_VALUES) - 1), alerts: 2 * SERIES },
    });
  });
});
