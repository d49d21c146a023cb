import { describe, it } from "node:test";
import { interactionEvents } from "../fixtures/interaction-events.ts";
import { proveExactlyOnce } from "../helpers/exactly-once.ts";

const N = 12_000;
const CUSTOMERS = 800;

describe("exactly-once effects of the recommendations pipeline", () => {
  it("a run killed with SIGKILL and restarted writes the same state, item counts and recommendations as an uninterrupted run", async () => {
    await proveExactlyOnce({
      role: "recommendations",
      domain: "interaction",
      events: interactionEvents(N, CUSTOMERS),
      applied: async (db) => Number((await db("interaction_state").sum({ n: "events_seen" }))[0]!.n ?? 0),
      // recommendations too: each is blended with the popularity as of the customer's last event,
      // so batch boundaries (which a crash moves) must not change them
      snapshot: async (db) => ({
        state: await db("interaction_state").orderBy("customer_id").select("customer_id", "history", "purchased", "counters", "events_seen", "last_seq"),
        items: await db("item_stats").orderBy("item_id").select("item_id", "views", "carts", "purchases", "ratings_sum", "ratings_count", "popularity"),
        recommendations: await db("recommendations").orderBy("customer_id").select("customer_id", "items", "model", "model_version", "stream_seq"),
      }),
      minimumRows: { state: CUSTOMERS, items: 100, recommendations: CUSTOMERS },
    });
  });
});
