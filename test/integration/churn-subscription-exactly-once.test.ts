import { describe, it } from "node:test";
import type { EventEnvelope } from "../../src/streams/index.ts";
import { proveExactlyOnce } from "../helpers/exactly-once.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];
const PLANS = ["Basic", "Standard", "Premium 4K"];
const N = 4_000;
const CUSTOMERS = 300;

/**
 * Subscription usage and billing over 300 customers, telco changes for some of them: a customer
 * c with c % 3 = 0 gets only telco events, c % 3 = 1 only subscription ones, c % 3 = 2 both, so
 * its scoring model changes from churn_telco to churn_subscription along the way.
 */
function events(): EventEnvelope[] {
  return Array.from({ length: N }, (_, i) => {
    const c = (i * 7) % CUSTOMERS;
    const telco = c % 3 === 0 || (c % 3 === 2 && i % 4 === 0);
    const data = telco
      ? { tenure: 1 + (i % 60), monthly_charges: 20 + (i % 97), contract_type: CONTRACTS[(i >> 3) % 3] }
      : i % 5 === 0
        ? { last_login_days: i % 45, payment_failures: i % 4 } // partial: applied, scored only once the profile is complete
        : { watch_time_hours: (i * 13) % 300, subscription_age_months: 1 + (i % 48), device_count: 1 + (i % 5), last_login_days: i % 30, payment_failures: i % 3, tenure_months: 1 + (i % 48) + (i % 7), plan: PLANS[i % 3] };
    return { id: `s${i}`, domain: "customer", key: `c${c}`, type: telco ? "billing" : "usage", data, timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString() };
  });
}

describe("exactly-once effects of the churn pipeline with subscription profiles", () => {
  it("a run killed with SIGKILL and restarted writes the same rows and state as an uninterrupted run", async () => {
    await proveExactlyOnce({
      role: "churn",
      domain: "customer",
      events: events(),
      applied: async (db) => Number((await db("customer_state").sum({ n: "events_seen" }))[0]!.n ?? 0),
      snapshot: async (db) => ({
        history: await db("churn_history").orderBy("message_id").select("message_id", "customer_id", "event_type", "churn_probability", "risk_level", "model", "key_factors", "stream_seq"),
        state: await db("customer_state")
          .orderBy("customer_id")
          .select("customer_id", "profile", "counters", "events_seen", "last_seq", "churn_probability", "risk_level", "model", "key_factors", "last_event_at"),
        alerts: await db("alerts").orderBy("dedup_key").select("dedup_key", "entity_id", "message", "data"),
      }),
      minimumRows: { history: N * 0.7, state: CUSTOMERS, alerts: 1 },
    });
  });
});
