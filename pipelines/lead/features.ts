/**
 * From a lead's aggregates and profile to model features: all 50 of b2b_lead_score, or the seven
 * of lead_scoring for a lead that has given nothing but those. Every feature has a value from the
 * lead's first event on (README.md, "Features", lists each mapping and default).
 */
import type { ModelCard } from "../../src/models/index.ts";
import { DAY_MS, windowTotals, type LeadAggregates } from "./aggregates.ts";

export const B2B_MODEL = "b2b_lead_score";
export const FALLBACK_MODEL = "lead_scoring";

/** b2b_lead_score features a `profile` event sets directly (the latest value wins). */
export const B2B_PROFILE_FIELDS = [
  "company_revenue",
  "company_employee_count",
  "company_age_years",
  "company_funding_total",
  "company_growth_rate",
  "industry_tech_score",
  "geographic_tier",
  "company_public_status",
  "parent_company_exists",
  "subsidiary_count",
  "lead_source_quality",
  "attribution_touchpoints",
  "paid_channel_source",
  "referral_source",
  "event_source",
  "product_tier_interest",
  "use_case_alignment",
  "integration_requirements",
  "deployment_preference",
] as const;

/**
 * The neutral value of each b2b_lead_score feature: its training mean from the card (rounded for
 * integers and flags). For a logistic regression a feature at its mean contributes nothing, so a
 * value the lead has not told us moves the score neither way.
 */
export function neutralValues(card: ModelCard): Record<string, number> {
  const explainer = card.explainer;
  if (explainer?.kind !== "linear") {
    throw new Error(`${card.name}@${card.version} has no linear explainer with column means; the lead pipeline's defaults need updating`);
  }
  const types = new Map(card.features.map((f) => [f.name, f.type]));
  const neutral: Record<string, number> = {};
  card.encoding.columns.forEach((column, i) => {
    if (column.kind !== "numeric") throw new Error(`${card.name}: column ${i} is ${column.kind}; the lead pipeline expects numeric columns`);
    const mean = explainer.column_means[i]!;
    neutral[column.feature] = types.get(column.feature) === "number" ? mean : Math.round(mean);
  });
  return neutral;
}

/**
 * The 50 b2b_lead_score features of a lead, from its aggregates, its profile and the neutral values.
 * One literal in the card's order: every lead's features object has the same shape.
 */
export function b2bFeatures(agg: LeadAggregates, profile: Readonly<Record<string, unknown>>, neutral: Readonly<Record<string, number>>): Record<string, number> {
  const { visits, pageViews } = windowTotals(agg);
  const received = Math.max(agg.emails.sent, agg.emails.open, agg.emails.click);
  const given = (name: (typeof B2B_PROFILE_FIELDS)[number]) => (profile[name] as number | undefined) ?? neutral[name]!;
  const { counts, flags } = agg;
  return {
    company_revenue: given("company_revenue"),
    company_employee_count: given("company_employee_count"),
    company_age_years: given("company_age_years"),
    company_funding_total: given("company_funding_total"),
    company_growth_rate: given("company_growth_rate"),
    industry_tech_score: given("industry_tech_score"),
    geographic_tier: given("geographic_tier"),
    company_public_status: given("company_public_status"),
    parent_company_exists: given("parent_company_exists"),
    subsidiary_count: given("subsidiary_count"),
    website_visits_30d: visits,
    page_views_30d: pageViews,
    avg_session_duration_sec: agg.sessionSeconds > 0 ? agg.sessionSeconds / agg.visits : neutral.avg_session_duration_sec!,
    bounce_rate: agg.visits > 0 ? agg.singlePageVisits / agg.visits : neutral.bounce_rate!,
    pricing_page_visits: agg.pages.pricing,
    demo_page_visits: agg.pages.demo,
    documentation_views: agg.pages.documentation,
    email_open_rate: received > 0 ? Math.min(1, agg.emails.open / received) : neutral.email_open_rate!,
    email_click_rate: received > 0 ? Math.min(1, agg.emails.click / received) : neutral.email_click_rate!,
    emails_received: received,
    whitepaper_downloads: counts.whitepaper_downloads ?? 0,
    webinar_attendance: counts.webinar_attendance ?? 0,
    social_media_engagement: counts.social_media_engagement ?? 0,
    customer_success_interactions: counts.customer_success_interactions ?? 0,
    support_ticket_count: counts.support_ticket_count ?? 0,
    days_since_first_touch: (agg.clock - (agg.firstTouch ?? agg.firstSeen)) / DAY_MS,
    days_since_last_touch: (agg.clock - (agg.lastTouch ?? agg.firstSeen)) / DAY_MS,
    total_touchpoints: agg.touches,
    multi_channel_engagement: agg.channels.length >= 2 ? 1 : 0,
    decision_maker_contacted: flags.decision_maker_contacted ?? 0,
    champion_identified: flags.champion_identified ?? 0,
    budget_confirmed: flags.budget_confirmed ?? 0,
    timeline_confirmed: flags.timeline_confirmed ?? 0,
    competitor_evaluation: flags.competitor_evaluation ?? 0,
    technical_evaluation_started: flags.technical_evaluation_started ?? 0,
    contract_reviewed: flags.contract_reviewed ?? 0,
    security_questionnaire_completed: flags.security_questionnaire_completed ?? 0,
    roi_calculator_used: flags.roi_calculator_used ?? 0,
    custom_demo_requested: flags.custom_demo_requested ?? 0,
    integration_questions_asked: counts.integration_questions_asked ?? 0,
    lead_source_quality: given("lead_source_quality"),
    attribution_touchpoints: given("attribution_touchpoints"),
    paid_channel_source: given("paid_channel_source"),
    referral_source: given("referral_source"),
    event_source: given("event_source"),
    product_tier_interest: given("product_tier_interest"),
    feature_requests_count: counts.feature_requests_count ?? 0,
    use_case_alignment: given("use_case_alignment"),
    integration_requirements: given("integration_requirements"),
    deployment_preference: given("deployment_preference"),
  };
}

/**
 * lead_scoring scores a lead only while that is all we know: it has sent lead_scoring's required
 * fields and nothing that b2b_lead_score could use (no b2b profile field, no engagement event).
 * On b2b_lead_score such a lead would score as an average company with no engagement, ignoring
 * everything it told us.
 */
export function usesFallback(agg: LeadAggregates, profile: Readonly<Record<string, unknown>>, fallback: ModelCard): boolean {
  if (agg.engagement > 0) return false;
  for (const name of B2B_PROFILE_FIELDS) if (Object.hasOwn(profile, name)) return false;
  return fallback.features.every((f) => !f.required || Object.hasOwn(profile, f.name));
}

/** lead_scoring's features from the profile; an absent optional score takes the card's default. */
export function fallbackFeatures(profile: Readonly<Record<string, unknown>>, fallback: ModelCard): Record<string, unknown> {
  const features: Record<string, unknown> = {};
  for (const f of fallback.features) if (Object.hasOwn(profile, f.name)) features[f.name] = profile[f.name];
  return features;
}
