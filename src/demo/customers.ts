import type { EventEnvelope } from "../streams/index.ts";
import { demoEvent } from "./events.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"] as const;
const INTERNET = ["DSL", "Fiber optic", "No"] as const;
const PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"] as const;
const PLANS = ["Basic", "Standard", "Premium 4K"] as const;

const day = (d: number) => Date.UTC(2026, 10, d, 9);

/** Telco customers (churn_telco): a profile, then for every third a contract change that makes it High risk. */
export function telcoCustomerEvents(customers: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let i = 0; i < customers; i++) {
    const key = `demo-${String(i + 1).padStart(3, "0")}`;
    out.push(
      demoEvent("customer", key, `${key}-profile`, "profile", day(1), {
        tenure: 12 + ((i * 7) % 60),
        monthly_charges: 25 + ((i * 13) % 80),
        contract_type: CONTRACTS[1 + (i % 2)]!,
        internet_service: INTERNET[i % 3]!,
        payment_method: PAYMENT[1 + (i % 3)]!,
      }),
    );
    if (i % 3 === 0) {
      out.push(
        demoEvent("customer", key, `${key}-contract`, "contract", day(15), {
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

/**
 * Streaming subscribers (churn_subscription): a signup, a month of healthy usage, and for every
 * other one a drift (little watching, no logins, failed payments) that takes it to High risk.
 */
export function subscriptionCustomerEvents(customers: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let i = 0; i < customers; i++) {
    const key = `demo-sub-${String(i + 1).padStart(2, "0")}`;
    const months = 6 + ((i * 11) % 30);
    out.push(
      demoEvent("customer", key, `${key}-signup`, "signup", day(1), { plan: PLANS[i % 3]!, tenure_months: months, subscription_age_months: months }),
      demoEvent("customer", key, `${key}-usage-1`, "usage", day(10), {
        watch_time_hours: 60 + ((i * 17) % 60),
        device_count: 2 + (i % 3),
        last_login_days: i % 2,
        payment_failures: 0,
      }),
    );
    if (i % 2 === 0) {
      out.push(
        demoEvent("customer", key, `${key}-usage-2`, "usage", day(20), { watch_time_hours: 2, device_count: 1, last_login_days: 30 }),
        demoEvent("customer", key, `${key}-billing`, "billing", day(21), { payment_failures: 3 + (i % 2) }),
      );
    }
  }
  return out;
}
