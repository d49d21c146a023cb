import type { Knex } from "knex";
import type { AuthService } from "../auth/index.ts";
import type { Config } from "../config.ts";
import type { Bus } from "../streams/index.ts";
import { demoAdmin } from "./admin.ts";
import type { SeededDemo } from "./banner.ts";
import { subscriptionCustomerEvents, telcoCustomerEvents } from "./customers.ts";
import { publishNew } from "./events.ts";
import { leadEvents } from "./leads.ts";
import { seriesEvents } from "./series.ts";
import { shopperEvents } from "./shoppers.ts";

/**
 * Demo setup for the start command: the admin's credentials and an API key, then events for every
 * pipeline, published as a producer would: customers (churn, telco and subscription profiles),
 * leads (lead scoring), metric series (anomaly detection) and shoppers (recommendations).
 * Everything is deterministic, so a restart publishes nothing new.
 */
export async function seedDemo(db: Knex, auth: AuthService, bus: Bus, config: Config): Promise<SeededDemo> {
  const admin = await demoAdmin(db, auth, config);
  const [customers, leads, series, shoppers] = await Promise.all([
    publishNew(bus, [...telcoCustomerEvents(12), ...subscriptionCustomerEvents(4)]),
    publishNew(bus, leadEvents()),
    publishNew(bus, seriesEvents()),
    publishNew(bus, shopperEvents()),
  ]);
  return { ...admin, data: { customers, leads, series, shoppers } };
}

export { ensureAdmin } from "./admin.ts";
export { demoBanner } from "./banner.ts";
export { HOT_LEAD } from "./leads.ts";
export { SPIKE_AT, SPIKE_SERIES } from "./series.ts";
export { DEMO_SHOPPER } from "./shoppers.ts";
export type { SeededDemo } from "./banner.ts";
export type { PublishCount } from "./events.ts";
