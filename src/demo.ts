import type { Knex } from "knex";
import { hashPassword, type AuthService } from "./auth/index.ts";
import type { Config } from "./config.ts";
import { findUserByLogin } from "./db/users.ts";
import type { Bus, EventEnvelope } from "./streams/index.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"] as const;
const INTERNET = ["DSL", "Fiber optic", "No"] as const;
const PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"] as const;

/**
 * Demo setup for the start command: an admin account, a fresh API key (keys are stored hashed, so
 * a new one is issued each start and older demo keys are revoked), and a few customers' events.
 */
export async function seedDemo(db: Knex, auth: AuthService, bus: Bus, config: Config) {
  let admin = await findUserByLogin(db, config.DEMO_ADMIN_USERNAME);
  if (!admin) {
    ({ user: admin } = await auth.register(
      { username: config.DEMO_ADMIN_USERNAME, email: `${config.DEMO_ADMIN_USERNAME}@tidecast.local`, password: config.DEMO_ADMIN_PASSWORD },
      "admin",
    ));
  } else {
    await db("users").where({ id: admin.id }).update({ password_hash: await hashPassword(config.DEMO_ADMIN_PASSWORD), role: "admin" });
  }
  await db("api_keys").where({ user_id: admin.id, name: "demo" }).whereNull("revoked_at").update({ revoked_at: db.fn.now() });
  const apiKey = await auth.issueApiKey(admin.id, "demo");

  const events = demoCustomerEvents(12);
  await Promise.all(
    events.map((e) => bus.publisher.publish("events", bus.names.eventSubject(e.domain, e.key), e, { msgId: e.id })),
  );
  return { username: config.DEMO_ADMIN_USERNAME, password: config.DEMO_ADMIN_PASSWORD, apiKey, events: events.length };
}

/** Deterministic customers: a profile event, then a billing change that raises some of them to High risk. */
export function demoCustomerEvents(customers: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  const day = "2026-11-01T09:00:00Z";
  for (let i = 0; i < customers; i++) {
    const key = `demo-${String(i + 1).padStart(3, "0")}`;
    out.push({
      id: `${key}-profile`,
      domain: "customer",
      key,
      type: "profile",
      timestamp: day,
      data: {
        tenure: 2 + ((i * 7) % 60),
        monthly_charges: 25 + ((i * 13) % 80),
        contract_type: CONTRACTS[i % 3]!,
        internet_service: INTERNET[i % 3]!,
        payment_method: PAYMENT[i % 4]!,
        paperless_billing: i % 2 === 0,
      },
    });
    out.push({
      id: `${key}-billing`,
      domain: "customer",
      key,
      type: "billing",
      timestamp: "2026-11-15T09:00:00Z",
      data: { monthly_charges: 95 + (i % 10), payment_method: "Electronic check", contract_type: i % 4 === 0 ? "Month-to-month" : CONTRACTS[i % 3]! },
    });
  }
  return out;
}
