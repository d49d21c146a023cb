import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { subscriptionCustomerEvents, telcoCustomerEvents } from "../../src/demo/customers.ts";
import { DEMO_SHOPPER, HOT_LEAD, seedDemo, SPIKE_AT, SPIKE_SERIES, type SeededDemo } from "../../src/demo/index.ts";
import { leadEvents } from "../../src/demo/leads.ts";
import { seriesEvents } from "../../src/demo/series.ts";
import { shopperEvents } from "../../src/demo/shoppers.ts";
import { parseRoles, type Platform } from "../../src/platform.ts";
import type { EventEnvelope } from "../../src/streams/index.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

/** Events per key, as the demo generates them. */
function perKey(events: EventEnvelope[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
  return counts;
}

/** The demo's customers that drift (a contract change to monthly fiber, or a usage drop with failed payments). */
const DRIFTERS = [...telcoCustomerEvents(12), ...subscriptionCustomerEvents(4)].filter((e) => e.type === "contract" || e.type === "billing").map((e) => e.key).sort();

describe("the demo data", () => {
  // a one-second dedup window: the reseed below runs after it, so only the subject check can keep it from publishing again
  const config = isolatedConfig({ DUPLICATE_WINDOW_MS: "1000" });
  let platform: Platform;
  let seeded: SeededDemo;

  before(async () => {
    platform = await startTestPlatform(config, parseRoles("api,pipelines"));
    seeded = await seedDemo(platform.db, platform.auth, platform.bus, config);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  /** Waits until `table` holds, per key in `column`, the events_seen (or points_seen) the demo sent. */
  async function allApplied(table: string, column: string, seen: string, expected: Map<string, number>) {
    await eventually(
      async () => {
        const rows: Array<Record<string, unknown>> = await platform.db(table).whereIn(column, [...expected.keys()]);
        const done = rows.length === expected.size && rows.every((r) => Number(r[seen]) === expected.get(String(r[column])));
        return done ? true : undefined;
      },
      20_000,
      `${table}: every demo event applied`,
    );
  }
  const alerts = (type: string) => platform.db("alerts").where({ type }).orderBy("entity_id");

  it("publishes every kind of data", () => {
    assert.deepEqual(seeded.data, {
      customers: { keys: 16, events: 28, published: 28 },
      leads: { keys: 4, events: 17, published: 17 },
      series: { keys: 3, events: 3000, published: 3000 },
      shoppers: { keys: 4, events: 17, published: 17 },
    });
  });

  it("gives the churn pipeline telco and subscription customers, and a churn_risk alert for each one that drifts", async () => {
    const expected = perKey([...telcoCustomerEvents(12), ...subscriptionCustomerEvents(4)]);
    await allApplied("customer_state", "customer_id", "events_seen", expected);
    const states = await platform.db("customer_state").whereIn("customer_id", [...expected.keys()]).orderBy("customer_id");
    assert.deepEqual(new Set(states.map((s) => s.model)), new Set(["churn_telco", "churn_subscription"]));
    const high = states.filter((s) => s.risk_level === "High").map((s) => s.customer_id);
    assert.deepEqual(high, DRIFTERS, "exactly the drifting customers are High");
    assert.ok((await platform.db("churn_history").whereIn("customer_id", [...expected.keys()])).length >= expected.size);
    assert.deepEqual((await alerts("churn_risk")).map((a) => a.entity_id), DRIFTERS);

    const page = await client(platform.url!, { apiKey: seeded.apiKey }).get("/api/v1/customers/high-risk?limit=100");
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.items.map((c: { customer_id: string }) => c.customer_id).sort(), DRIFTERS);
  });

  it("gives the lead pipeline leads, one of which turns tier A and raises lead.hot", async () => {
    const expected = perKey(leadEvents());
    await allApplied("lead_state", "lead_id", "events_seen", expected);
    assert.equal((await platform.db("lead_scores").whereIn("lead_id", [...expected.keys()])).length, 17, "one score per event");
    const tiers = Object.fromEntries((await platform.db("lead_state").select("lead_id", "tier")).map((r) => [r.lead_id, r.tier]));
    assert.equal(tiers[HOT_LEAD], "A");
    assert.ok(Object.entries(tiers).every(([id, tier]) => id === HOT_LEAD || tier !== "A"), JSON.stringify(tiers));
    assert.deepEqual((await alerts("lead.hot")).map((a) => a.entity_id), [HOT_LEAD]);
  });

  it("gives the anomaly pipeline metric series with one spike: one anomaly and its alert", async () => {
    const expected = perKey(seriesEvents());
    await allApplied("series_state", "series_id", "points_seen", expected);
    const anomalies = await platform.db("anomalies");
    assert.deepEqual(anomalies.map((a) => [a.series_id, a.message_id]), [[SPIKE_SERIES, `${SPIKE_SERIES}-${SPIKE_AT}`]]);
    assert.ok(anomalies[0].value > anomalies[0].upper, JSON.stringify(anomalies[0]));
    assert.deepEqual((await alerts("anomaly")).map((a) => a.entity_id), [SPIKE_SERIES]);
  });

  it("gives the recommendations pipeline shoppers with recommendations served by the API", async () => {
    const events = shopperEvents();
    const expected = perKey(events);
    await allApplied("interaction_state", "customer_id", "events_seen", expected);
    const rows = await platform.db("recommendations").whereIn("customer_id", [...expected.keys()]);
    assert.equal(rows.length, expected.size);
    for (const row of rows) {
      const touched = new Set(events.filter((e) => e.key === row.customer_id).map((e) => e.data["item_id"]));
      assert.equal(row.items.length, 10, row.customer_id);
      assert.ok(row.items.every((i: { item_id: string }) => !touched.has(i.item_id)), `${row.customer_id} gets items it has not touched`);
    }
    const res = await client(platform.url!, { apiKey: seeded.apiKey }).get(`/api/v1/recommendations/${DEMO_SHOPPER}?limit=3`);
    assert.equal(res.status, 200);
    assert.equal(res.body.recommendations.length, 3);
    assert.ok(res.body.recommendations.every((r: { description: string | null }) => r.description), "items the model knows, with their labels");
  });

  it("publishes nothing again on a restart, even after the dedup window", async () => {
    const count = async () => {
      let total = 0;
      for (const { stream } of platform.bus.names.eventStreams) total += (await platform.bus.jsm.streams.info(stream)).state.messages;
      return total;
    };
    const before = await count();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await seedDemo(platform.db, platform.auth, platform.bus, config);
    assert.deepEqual(Object.values(again.data).map((d) => d.published), [0, 0, 0, 0]);
    assert.equal(await count(), before);
    assert.notEqual(again.apiKey, seeded.apiKey, "a fresh demo key each start");
  });
});
