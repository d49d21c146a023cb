import type { Knex } from "knex";
import { hashPassword, type AuthService } from "./auth/index.ts";
import type { Config } from "./config.ts";
import { findUserByLogin } from "./db/users.ts";
import type { Bus, EventEnvelope } from "./streams/index.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"] as const;
const INTERNET = ["DSL", "Fiber optic", "No"] as const;
const PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"] as const;

/** Creates the first admin account when it does not exist yet (every start, production too). */
export async function ensureAdmin(db: Knex, auth: AuthService, config: Config) {
  const existing = await findUserByLogin(db, config.ADMIN_USERNAME);
  if (existing) return existing;
  const { user } = await auth.register(
    { username: config.ADMIN_USERNAME, email: `${config.ADMIN_USERNAME}@tidecast.local`, password: config.ADMIN_PASSWORD },
    "admin",
  );
  return user;
}

/**
 * Demo setup for the start command: the admin's password set to the configured one, a fresh API
 * key (keys are stored hashed, so a new one is issued each start and older demo keys are revoked),
 * and a few customers' events for the churn pipeline.
 */
export async function seedDemo(db: Knex, auth: AuthService, bus: Bus, config: Config) {
  const admin = await ensureAdmin(db, auth, config);
  await db("users").where({ id: admin.id }).update({ password_hash: await hashPassword(config.ADMIN_PASSWORD), role: "admin" });
  await db("api_keys").where({ user_id: admin.id, name: "demo" }).whereNull("revoked_at").update({ revoked_at: db.fn.now() });
  const apiKey = await auth.issueApiKey(admin.id, "demo");

  const events = demoCustomerEvents(12);
  await Promise.all(
    events.map((e) => bus.publisher.publish("events", bus.names.eventSubject(e.domain, e.key), e, { msgId: e.id })),
  );
  return { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD, apiKey, events: events.length };
}

/** Deterministic customers: a profile event, then a contract change that makes some of them High risk. */
export function demoCustomerEvents(customers: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let i = 0; i < customers; i++) {
    const key = `demo-${String(i + 1).padStart(3, "0")}`;
    const event = (type: string, timestamp: string, data: Record<string, unknown>): EventEnvelope => ({
      id: `${key}-${type}`,
      domain: "customer",
      key,
      type,
      timestamp,
      data,
    });
    out.push(
      event("profile", "2026-11-01T09:00:00Z", {
        tenure: 3 + ((i * 7) % 60),
        monthly_charges: 25 + ((i * 13) % 80),
        contract_type: CONTRACTS[1 + (i % 2)]!,
        internet_service: INTERNET[i % 3]!,
        payment_method: PAYMENT[1 + (i % 3)]!,
      }),
    );
    // every third customer drops to a monthly contract on fiber paid by electronic check
    if (i % 3 === 0) {
      out.push(
        event("contract", "2026-11-15T09:00:00Z", {
          contract_type: "Month-to-month",
          internet_service: "Fiber optic",
          payment_method: "Electronic check",
          tenure: 2,
        }),
      );
    }
  }
  return out;
}
