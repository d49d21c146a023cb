import type { EventEnvelope } from "../streams/index.ts";
import { demoEvent } from "./events.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 9);

type Step = [type: string, data?: Record<string, unknown>];

/** The lead that turns tier A. */
export const HOT_LEAD = "demo-lead-01";

/**
 * Four B2B leads for the lead pipeline, each a profile and then its engagement, an hour apart.
 * HOT_LEAD is a strong-fit company that reaches the sales funnel and turns tier A (a
 * lead.hot alert); the others stay warm or cold.
 */
const LEADS: Record<string, Step[]> = {
  [HOT_LEAD]: [
    ["profile", { company_revenue: 40_000_000, company_employee_count: 300, industry_tech_score: 0.9, lead_source_quality: 0.9, use_case_alignment: 0.9, referral_source: true, geographic_tier: 1 }],
    ["page_view", { page: "pricing", duration_sec: 120 }],
    ["milestone", { milestone: "decision_maker_contacted" }],
    ["milestone", { milestone: "budget_confirmed" }],
    ["milestone", { milestone: "champion_identified" }],
    ["page_view", { page: "pricing", duration_sec: 90 }],
    ["demo_request"],
  ],
  "demo-lead-02": [
    ["profile", { company_revenue: 8_000_000, company_employee_count: 60, industry_tech_score: 0.6, lead_source_quality: 0.6 }],
    ["page_view", { page: "documentation", duration_sec: 240 }],
    ["email_sent"],
    ["email_open"],
    ["webinar_attended"],
    ["page_view", { page: "pricing", duration_sec: 45 }],
  ],
  "demo-lead-03": [
    ["profile", { company_revenue: 900_000, company_employee_count: 8, industry_tech_score: 0.2, lead_source_quality: 0.3 }],
    ["page_view", { page: "blog", duration_sec: 15 }],
    ["email_sent"],
  ],
  // only lead_scoring's fields: scored by that model, without a tier, until it engages
  "demo-lead-04": [["profile", { company_size: "51-200", budget: 50_000, industry_score: 6, engagement_score: 4 }]],
};

export function leadEvents(): EventEnvelope[] {
  return Object.entries(LEADS).flatMap(([key, steps]) =>
    steps.map(([type, data], i) => demoEvent("lead", key, `${key}-${i + 1}`, type, T0 + i * HOUR, data ?? {})),
  );
}

