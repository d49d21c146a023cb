import { describe, it } from "node:test";
import type { EventEnvelope } from "../../src/streams/index.ts";
import { proveExactlyOnce } from "../helpers/exactly-once.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];
const N = 12_000;

/** Profile, contract and billing changes over 800 customers. */
function events(): EventEnvelope[] {
  return Array.from({ length: N }, (_, i) => ({
    id: `e${i}`,
    domain: "customer",
    key: `c${(i * 7) % 800}`,
    type: i % 5 === 0 ? "contract" : "billing",
    data: i % 5 === 0 ? { contract_type: CONTRACTS[i % 3], tenure: 1 + (i % 60) } : { monthly_charges: 20 + (i % 97), tenure: 1 + (i % 60), contract_type: CONTRACTS[(i >> 3) % 3] },
    timestamp: "2026-11-01T00:00:00Z",
  }));
}

describe("exactly-once effects of the churn pipeline", () => {
  it("a run killed with SIGKILL and restarted writes the same rows and state as an uninterrupted run", async () => {
    await proveExactlyOnce({
      role: "churn",
      domain: "customer",
      events: events(),
      // every event is applied, though one that leaves a profile incomplete writes no history row
      applied: async (db) => Number((await db("customer_state").sum({ n: "events_seen" }))[0]!.n ?? 0),
      snapshot: async (db) => ({
        history: await db("churn_history").orderBy("message_id").select("message_id", "customer_id", "event_type", "churn_probability", "risk_level", "stream_seq"),
        state: await db("customer_state").orderBy("customer_id").select("customer_id", "profile", "counters", "events_seen", "last_seq", "churn_probability", "risk_level"),
        alerts: await db("alerts").orderBy("dedup_key").select("dedup_key", "entity_id", "message"),
      }),
      minimumRows: { history: N * 0.7, state: 800 },
    });
  });
});
