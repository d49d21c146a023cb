/**
 * Synthetic B2B leads for seed 002's 50-feature `b2b_lead_score` model. No public dataset has these
 * fields with outcomes, so this seeded generator stands in. The conversion model is the `EFFECTS`
 * table below: each entry's `value` is what the code adds (times `coefficient`) and its `term` is
 * the same formula in words, rendered into the card, so the card cannot drift from the data.
 *
 * Causal structure (one row = one lead):
 *
 * - Three latent variables, never observed: size s, fit f and intent u, each N(0, 1).
 * - Firmographics follow size (employees = exp(3.9 + 1.5 s), revenue ≈ $100k per employee, ...);
 *   industry tech score and use-case alignment follow fit.
 * - Web, email and content engagement follow intent (Poisson counts with log-means linear in u).
 * - The sales funnel follows a stage propensity g = 0.8 u + 0.6 f + 0.4 ε: decision maker contacted,
 *   champion, budget, timeline, technical evaluation; contract review and the security questionnaire
 *   mostly happen after a technical evaluation started.
 * - Conversion ~ Bernoulli(sigmoid(z)), z = intercept + Σ EFFECTS + 0.3 u. The strongest drivers are
 *   decision_maker_contacted, budget_confirmed (with a bonus when both hold) and pricing_page_visits
 *   (on a log scale), as in seed 002's importance example; 30 features have no direct effect and
 *   carry signal only through the latents they share with the drivers (or none at all).
 */
import { clamp, createRandom, roundTo, sigmoid, type Effect, type GeneratorDescription, type Random } from "./random.ts";

export const B2B_GENERATOR = "tidecast synthetic/b2b-leads";
export const B2B_GENERATOR_VERSION = "1";

/** log-odds intercept, set so that about 13% of leads convert */
export const B2B_INTERCEPT = -4.4;
/** direct effect of the latent intent: the part of conversion no feature shows */
const LATENT_INTENT_EFFECT = 0.3;

/** One generated lead, with the 50 features of seed 002 (0/1 flags as numbers). */
export type B2bLead = Record<(typeof B2B_FEATURE_NAMES)[number], number>;

/** The 50 features in seed 002's order (its example request). */
export const B2B_FEATURE_NAMES = [
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
  "website_visits_30d",
  "page_views_30d",
  "avg_session_duration_sec",
  "bounce_rate",
  "pricing_page_visits",
  "demo_page_visits",
  "documentation_views",
  "email_open_rate",
  "email_click_rate",
  "emails_received",
  "whitepaper_downloads",
  "webinar_attendance",
  "social_media_engagement",
  "customer_success_interactions",
  "support_ticket_count",
  "days_since_first_touch",
  "days_since_last_touch",
  "total_touchpoints",
  "multi_channel_engagement",
  "decision_maker_contacted",
  "champion_identified",
  "budget_confirmed",
  "timeline_confirmed",
  "competitor_evaluation",
  "technical_evaluation_started",
  "contract_reviewed",
  "security_questionnaire_completed",
  "roi_calculator_used",
  "custom_demo_requested",
  "integration_questions_asked",
  "lead_source_quality",
  "attribution_touchpoints",
  "paid_channel_source",
  "referral_source",
  "event_source",
  "product_tier_interest",
  "feature_requests_count",
  "use_case_alignment",
  "integration_requirements",
  "deployment_preference",
] as const;

/** How each feature is drawn (ε, ε′ are fresh N(0, 1) draws; Poisson(m) a count with mean m). */
export const B2B_INPUTS: Record<string, string> = {
  "s, f, u (latent size, fit, intent)": "N(0, 1) each, not observed",
  company_employee_count: "round(exp(3.9 + 1.5 s)), 1..200,000",
  company_revenue: "employees × exp(11.5 + 0.5 ε), rounded to $1,000",
  company_age_years: "clamp(exp(1.8 + 0.3 s + 0.6 ε), 0.3, 120), 1 decimal",
  company_funding_total: "0 with probability 0.55, else revenue × exp(−0.5 + 0.8 ε), rounded to $1,000",
  company_growth_rate: "clamp(0.15 + 0.25 ε − 0.03 s, −0.5, 3), 2 decimals",
  industry_tech_score: "clamp(0.55 + 0.15 f + 0.2 ε, 0, 1), 2 decimals",
  geographic_tier: "1, 2, 3 with probabilities 0.5, 0.35, 0.15",
  company_public_status: "Bernoulli(sigmoid(−3.5 + 1.2 s))",
  parent_company_exists: "Bernoulli(0.25)",
  subsidiary_count: "Poisson(exp(−1 + 0.6 s))",
  website_visits_30d: "Poisson(exp(2.3 + 0.6 u + 0.3 ε))",
  page_views_30d: "visits + Poisson(1.6 × visits)",
  avg_session_duration_sec: "clamp(exp(4.6 + 0.3 u + 0.5 ε), 5, 3600), 1 decimal",
  bounce_rate: "clamp(0.45 − 0.08 u + 0.15 ε, 0, 1), 2 decimals",
  pricing_page_visits: "Poisson(exp(0.2 + 0.7 u + 0.2 f))",
  demo_page_visits: "Poisson(exp(−0.4 + 0.7 u))",
  documentation_views: "Poisson(exp(1.0 + 0.5 u + 0.4 f))",
  email_open_rate: "clamp(0.35 + 0.1 u + 0.15 ε, 0, 1), 2 decimals",
  email_click_rate: "clamp(open rate × (0.2 + 0.08 u + 0.08 ε), 0, open rate), 2 decimals",
  emails_received: "1 + Poisson(8)",
  whitepaper_downloads: "Poisson(exp(−0.5 + 0.4 u))",
  webinar_attendance: "Poisson(exp(−1.0 + 0.5 u))",
  social_media_engagement: "Poisson(exp(1.5 + 0.2 u + 0.8 ε))",
  customer_success_interactions: "Poisson(exp(−0.5 + 0.3 u))",
  support_ticket_count: "Poisson(0.4)",
  days_since_first_touch: "clamp(exp(3.4 + 0.8 ε), 1, 720), 1 decimal",
  days_since_last_touch: "min(days since first touch, exp(1.5 − 0.5 u + 0.9 ε)), 1 decimal",
  total_touchpoints: "Poisson(exp(2.6 + 0.4 u))",
  multi_channel_engagement: "Bernoulli(sigmoid(−0.3 + 0.8 u))",
  "g (stage propensity)": "0.8 u + 0.6 f + 0.4 ε",
  decision_maker_contacted: "Bernoulli(sigmoid(−0.6 + g))",
  champion_identified: "Bernoulli(sigmoid(−1.2 + g))",
  budget_confirmed: "Bernoulli(sigmoid(−1.8 + 0.9 g + 0.3 s))",
  timeline_confirmed: "Bernoulli(sigmoid(−1.5 + 0.9 g))",
  competitor_evaluation: "Bernoulli(sigmoid(−0.8 + 0.3 g))",
  technical_evaluation_started: "Bernoulli(sigmoid(−1.3 + g))",
  contract_reviewed: "after a technical evaluation Bernoulli(sigmoid(−1.5 + 0.9 g)), else Bernoulli(0.03)",
  security_questionnaire_completed: "after a technical evaluation Bernoulli(sigmoid(−1.5 + 0.5 g + 0.5 s)), else Bernoulli(0.02)",
  roi_calculator_used: "Bernoulli(sigmoid(−1.5 + 0.6 u))",
  custom_demo_requested: "Bernoulli(sigmoid(−1.4 + 0.8 u))",
  integration_questions_asked: "Poisson(exp(−0.2 + 0.5 g))",
  "channel (paid / referral / event / organic)": "probabilities 0.4, 0.15, 0.15, 0.3: sets paid_channel_source, referral_source, event_source (organic: all 0)",
  lead_source_quality: "clamp(0.55 + (referral +0.15, paid −0.05) + 0.2 ε, 0, 1), 2 decimals",
  attribution_touchpoints: "1 + Poisson(exp(0.8 + 0.3 u))",
  product_tier_interest: "1 + [s + ε > 0.5] + [s + ε > 1.5]",
  feature_requests_count: "Poisson(exp(−0.3 + 0.4 f))",
  use_case_alignment: "clamp(0.6 + 0.15 f + 0.12 ε, 0, 1), 2 decimals",
  integration_requirements: "Poisson(exp(0.5 + 0.3 s))",
  deployment_preference: "0 cloud, 1 hybrid, 2 on-premise with probabilities 0.6, 0.25, 0.15",
};

interface DirectEffect extends Effect {
  value(lead: B2bLead): number;
}

/** Every direct effect on the conversion log-odds (besides the intercept and the latent intent). */
export const EFFECTS: readonly DirectEffect[] = [
  { feature: "decision_maker_contacted", term: "1.2 × decision_maker_contacted", coefficient: 1.2, value: (l) => l.decision_maker_contacted },
  { feature: "budget_confirmed", term: "1.0 × budget_confirmed", coefficient: 1.0, value: (l) => l.budget_confirmed },
  {
    feature: "decision_maker_contacted × budget_confirmed",
    term: "0.5 × decision_maker_contacted × budget_confirmed",
    coefficient: 0.5,
    value: (l) => l.decision_maker_contacted * l.budget_confirmed,
  },
  { feature: "pricing_page_visits", term: "0.55 × ln(1 + pricing_page_visits)", coefficient: 0.55, value: (l) => Math.log1p(l.pricing_page_visits) },
  { feature: "contract_reviewed", term: "0.8 × contract_reviewed", coefficient: 0.8, value: (l) => l.contract_reviewed },
  { feature: "champion_identified", term: "0.7 × champion_identified", coefficient: 0.7, value: (l) => l.champion_identified },
  { feature: "timeline_confirmed", term: "0.5 × timeline_confirmed", coefficient: 0.5, value: (l) => l.timeline_confirmed },
  { feature: "technical_evaluation_started", term: "0.4 × technical_evaluation_started", coefficient: 0.4, value: (l) => l.technical_evaluation_started },
  { feature: "custom_demo_requested", term: "0.3 × custom_demo_requested", coefficient: 0.3, value: (l) => l.custom_demo_requested },
  { feature: "roi_calculator_used", term: "0.25 × roi_calculator_used", coefficient: 0.25, value: (l) => l.roi_calculator_used },
  { feature: "demo_page_visits", term: "0.3 × ln(1 + demo_page_visits)", coefficient: 0.3, value: (l) => Math.log1p(l.demo_page_visits) },
  { feature: "competitor_evaluation", term: "−0.35 × competitor_evaluation", coefficient: -0.35, value: (l) => l.competitor_evaluation },
  { feature: "use_case_alignment", term: "1.5 × (use_case_alignment − 0.6)", coefficient: 1.5, value: (l) => l.use_case_alignment - 0.6 },
  { feature: "lead_source_quality", term: "1.2 × (lead_source_quality − 0.55)", coefficient: 1.2, value: (l) => l.lead_source_quality - 0.55 },
  { feature: "referral_source", term: "0.45 × referral_source", coefficient: 0.45, value: (l) => l.referral_source },
  { feature: "event_source", term: "0.2 × event_source", coefficient: 0.2, value: (l) => l.event_source },
  { feature: "days_since_last_touch", term: "−0.04 × min(days_since_last_touch, 60)", coefficient: -0.04, value: (l) => Math.min(l.days_since_last_touch, 60) },
  { feature: "bounce_rate", term: "−0.8 × (bounce_rate − 0.45)", coefficient: -0.8, value: (l) => l.bounce_rate - 0.45 },
  { feature: "industry_tech_score", term: "0.6 × (industry_tech_score − 0.55)", coefficient: 0.6, value: (l) => l.industry_tech_score - 0.55 },
  { feature: "geographic_tier", term: "−0.15 × (geographic_tier − 1)", coefficient: -0.15, value: (l) => l.geographic_tier - 1 },
  { feature: "deployment_preference", term: "−0.3 × [deployment_preference = 2 (on-premise)]", coefficient: -0.3, value: (l) => (l.deployment_preference === 2 ? 1 : 0) },
];

/** Features generated with no direct effect on conversion. */
export const NO_DIRECT_EFFECT: readonly string[] = B2B_FEATURE_NAMES.filter((name) => !EFFECTS.some((e) => e.feature === name));

export interface GeneratedB2bLeads {
  leads: B2bLead[];
  /** CSV-like string rows of the same leads */
  rows: Record<string, string>[];
  labels: Uint8Array;
  /** the generator's own P(convert) per row (with the latent intent): the ceiling any model can reach */
  trueProbability: Float64Array;
}

const flag = (random: Random, p: number) => (random.bernoulli(p) ? 1 : 0);

function drawLead(random: Random): { lead: B2bLead; intent: number } {
  const s = random.normal();
  const f = random.normal();
  const u = random.normal();
  const employees = clamp(Math.round(Math.exp(3.9 + 1.5 * s)), 1, 200_000);
  const revenue = Math.round((employees * Math.exp(11.5 + 0.5 * random.normal())) / 1000) * 1000;
  const funded = random.bernoulli(0.45);
  const fundingDraw = random.normal();
  const visits = random.poisson(Math.exp(2.3 + 0.6 * u + 0.3 * random.normal()));
  const openRate = roundTo(clamp(0.35 + 0.1 * u + 0.15 * random.normal(), 0, 1), 2);
  const firstTouch = roundTo(clamp(Math.exp(3.4 + 0.8 * random.normal()), 1, 720), 1);
  const g = 0.8 * u + 0.6 * f + 0.4 * random.normal();
  const technical = flag(random, sigmoid(-1.3 + g));
  const channel = random.choice(["paid", "referral", "event", "organic"], [0.4, 0.15, 0.15, 0.3]);
  const tierDraw = s + random.normal();
  const lead: B2bLead = {
    company_revenue: revenue,
    company_employee_count: employees,
    company_age_years: roundTo(clamp(Math.exp(1.8 + 0.3 * s + 0.6 * random.normal()), 0.3, 120), 1),
    company_funding_total: funded ? Math.round((revenue * Math.exp(-0.5 + 0.8 * fundingDraw)) / 1000) * 1000 : 0,
    company_growth_rate: roundTo(clamp(0.15 + 0.25 * random.normal() - 0.03 * s, -0.5, 3), 2),
    industry_tech_score: roundTo(clamp(0.55 + 0.15 * f + 0.2 * random.normal(), 0, 1), 2),
    geographic_tier: random.choice([1, 2, 3], [0.5, 0.35, 0.15]),
    company_public_status: flag(random, sigmoid(-3.5 + 1.2 * s)),
    parent_company_exists: flag(random, 0.25),
    subsidiary_count: random.poisson(Math.exp(-1 + 0.6 * s)),
    website_visits_30d: visits,
    page_views_30d: visits + random.poisson(1.6 * visits),
    avg_session_duration_sec: roundTo(clamp(Math.exp(4.6 + 0.3 * u + 0.5 * random.normal()), 5, 3600), 1),
    bounce_rate: roundTo(clamp(0.45 - 0.08 * u + 0.15 * random.normal(), 0, 1), 2),
    pricing_page_visits: random.poisson(Math.exp(0.2 + 0.7 * u + 0.2 * f)),
    demo_page_visits: random.poisson(Math.exp(-0.4 + 0.7 * u)),
    documentation_views: random.poisson(Math.exp(1.0 + 0.5 * u + 0.4 * f)),
    email_open_rate: openRate,
    email_click_rate: roundTo(clamp(openRate * (0.2 + 0.08 * u + 0.08 * random.normal()), 0, openRate), 2),
    emails_received: 1 + random.poisson(8),
    whitepaper_downloads: random.poisson(Math.exp(-0.5 + 0.4 * u)),
    webinar_attendance: random.poisson(Math.exp(-1.0 + 0.5 * u)),
    social_media_engagement: random.poisson(Math.exp(1.5 + 0.2 * u + 0.8 * random.normal())),
    customer_success_interactions: random.poisson(Math.exp(-0.5 + 0.3 * u)),
    support_ticket_count: random.poisson(0.4),
    days_since_first_touch: firstTouch,
    days_since_last_touch: roundTo(Math.min(firstTouch, Math.exp(1.5 - 0.5 * u + 0.9 * random.normal())), 1),
    total_touchpoints: random.poisson(Math.exp(2.6 + 0.4 * u)),
    multi_channel_engagement: flag(random, sigmoid(-0.3 + 0.8 * u)),
    decision_maker_contacted: flag(random, sigmoid(-0.6 + g)),
    champion_identified: flag(random, sigmoid(-1.2 + g)),
    budget_confirmed: flag(random, sigmoid(-1.8 + 0.9 * g + 0.3 * s)),
    timeline_confirmed: flag(random, sigmoid(-1.5 + 0.9 * g)),
    competitor_evaluation: flag(random, sigmoid(-0.8 + 0.3 * g)),
    technical_evaluation_started: technical,
    contract_reviewed: flag(random, technical ? sigmoid(-1.5 + 0.9 * g) : 0.03),
    security_questionnaire_completed: flag(random, technical ? sigmoid(-1.5 + 0.5 * g + 0.5 * s) : 0.02),
    roi_calculator_used: flag(random, sigmoid(-1.5 + 0.6 * u)),
    custom_demo_requested: flag(random, sigmoid(-1.4 + 0.8 * u)),
    integration_questions_asked: random.poisson(Math.exp(-0.2 + 0.5 * g)),
    lead_source_quality: roundTo(clamp(0.55 + (channel === "referral" ? 0.15 : channel === "paid" ? -0.05 : 0) + 0.2 * random.normal(), 0, 1), 2),
    attribution_touchpoints: 1 + random.poisson(Math.exp(0.8 + 0.3 * u)),
    paid_channel_source: channel === "paid" ? 1 : 0,
    referral_source: channel === "referral" ? 1 : 0,
    event_source: channel === "event" ? 1 : 0,
    product_tier_interest: 1 + (tierDraw > 0.5 ? 1 : 0) + (tierDraw > 1.5 ? 1 : 0),
    feature_requests_count: random.poisson(Math.exp(-0.3 + 0.4 * f)),
    use_case_alignment: roundTo(clamp(0.6 + 0.15 * f + 0.12 * random.normal(), 0, 1), 2),
    integration_requirements: random.poisson(Math.exp(0.5 + 0.3 * s)),
    deployment_preference: random.choice([0, 1, 2], [0.6, 0.25, 0.15]),
  };
  return { lead, intent: u };
}

/** The generator's log-odds for a lead given its latent intent. */
export function b2bLogit(lead: B2bLead, intent: number): number {
  let z = B2B_INTERCEPT + LATENT_INTENT_EFFECT * intent;
  for (const effect of EFFECTS) z += effect.coefficient * effect.value(lead);
  return z;
}

export function generateB2bLeads(n: number, seed: number): GeneratedB2bLeads {
  const random = createRandom(seed);
  const leads: B2bLead[] = [];
  const labels = new Uint8Array(n);
  const trueProbability = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { lead, intent } = drawLead(random);
    const p = sigmoid(b2bLogit(lead, intent));
    trueProbability[i] = p;
    labels[i] = random.bernoulli(p) ? 1 : 0;
    leads.push(lead);
  }
  const rows = leads.map((lead) => Object.fromEntries(B2B_FEATURE_NAMES.map((name) => [name, String(lead[name])])));
  return { leads, rows, labels, trueProbability };
}

export function describeB2bGenerator(n: number, seed: number, positiveRate: number): GeneratorDescription {
  return {
    generator: B2B_GENERATOR,
    version: B2B_GENERATOR_VERSION,
    seed,
    rows: n,
    positive_rate: roundTo(positiveRate, 4),
    inputs: B2B_INPUTS,
    intercept: B2B_INTERCEPT,
    effects: [
      ...EFFECTS.map(({ feature, term, coefficient }) => ({ feature, term, coefficient })),
      { feature: "intent (latent)", term: `${LATENT_INTENT_EFFECT} × u`, coefficient: LATENT_INTENT_EFFECT },
    ],
    no_direct_effect: [...NO_DIRECT_EFFECT],
    noise:
      "the latent intent u acts directly (the part no feature fully shows), size, fit and intent also act through the features " +
      "they drive, and the Bernoulli draw adds the rest.",
    missingness: "none: every row has all 50 features (seed 002 requires all of them).",
  };
}
