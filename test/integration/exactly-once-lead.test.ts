import { describe, it } from "node:test";
import { leadEvents } from "../fixtures/lead-events.ts";
import { proveExactlyOnce } from "../helpers/exactly-once.ts";

const N = 4_000;
const LEADS = 250;

describe("exactly-once effects of the lead pipeline", () => {
  it("a run killed with SIGKILL and restarted writes the same scores, state and alerts as an uninterrupted run", async () => {
    await proveExactlyOnce({
      role: "lead",
      domain: "lead",
      events: leadEvents(N, LEADS),
      applied: async (db) => Number((await db("lead_state").sum({ n: "events_seen" }))[0]!.n ?? 0),
      snapshot: async (db) => ({
        scores: await db("lead_scores").orderBy("message_id").select("message_id", "lead_id", "event_type", "score", "tier", "model", "model_version", "stream_seq"),
        state: await db("lead_state").orderBy("lead_id").select("lead_id", "aggregates", "profile", "counters", "events_seen", "last_seq", "score", "tier", "model"),
        alerts: await db("alerts").orderBy("dedup_key").select("dedup_key", "type", "entity_id", "message", "data"),
      }),
      // every event writes one score row; the fixture makes a few leads hot
      minimumRows: { scores: N, state: LEADS, alerts: 1 },
    });
  });
});
