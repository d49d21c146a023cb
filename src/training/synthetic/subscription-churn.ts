/**
 * Synthetic subscribers for the `churn_subscription` model (seed 003, RetainStream: watch time,
 * subscription age, devices, last login, payment failures, tenure, plan). No public dataset has
 * these fields with churn outcomes, so this seeded generator stands in. Churn is the `EFFECTS`
 * table below: each entry's `value` is what the code adds (times `coefficient`) and its `term` is
 * the same formula in words, rendered into the card, so the card cannot drift from the data.
 *
 * Causal structure (one row = one subscriber at a snapshot; label = churns in the next month):
 *
 * - Three latent variables, never observed: engagement e (how much the service matters to the
 *   subscriber), payment fragility f (card expiries, low balances) and satisfaction s, each N(0, 1).
 * - plan ~ {Basic 35%, Standard 40%, Premium 4K 25%}.
 * - subscription_age_months (the current subscription) is 1 + ⌊Exponential(mean 20)⌋, at most 120;
 *   20% of subscribers came back after an earlier subscription, so their tenure_months (months as
 *   a customer in all) is larger by 1 + Poisson(15); for everyone else it equals the age.
 * - Engagement drives devices (more on bigger plans), watch time (hours in the last 30 days) and
 *   how recently the subscriber logged in; payment fragility drives payment failures (last 90 days).
 * - churned ~ Bernoulli(sigmoid(z)), z = intercept + Σ EFFECTS − 0.5 s: low watch time, a long time
 *   since the last login, payment failures, few devices, a young subscription, an earlier lapse and
 *   the Basic plan raise churn; satisfaction is the part no field shows.
 */
import { clamp, createRandom, roundTo, sigmoid, type Effect, type GeneratorDescription, type Random } from "./random.ts";

export const SUBSCRIPTION_GENERATOR = "tidecast synthetic/subscription-churn";
export const SUBSCRIPTION_GENERATOR_VERSION = "1";

export const PLANS = ["Basic", "Standard", "Premium 4K"] as const;
export type Plan = (typeof PLANS)[number];
const PLAN_SHARE = [0.35, 0.4, 0.25];
/** log-mean shift of the device count by plan (a 4K plan streams to more screens) */
const PLAN_DEVICES = [-0.4, 0, 0.4];
/** direct effect on the churn log-odds by plan */
const PLAN_EFFECT = [0.3, 0, -0.2];

/** log-odds intercept, set so that about 17% of subscribers churn */
export const SUBSCRIPTION_INTERCEPT = -1.9;
/** direct effect of the latent satisfaction: the part of churn no field shows */
const LATENT_SATISFACTION_EFFECT = 0.5;
const MEAN_SUBSCRIPTION_MONTHS = 20;
const RETURNING_SHARE = 0.2;

/** One generated subscriber, seed 003's customer fields. */
export interface Subscriber {
  watch_time_hours: number;
  subscription_age_months: number;
  device_count: number;
  last_login_days: number;
  payment_failures: number;
  tenure_months: number;
  plan: Plan;
}

/** The fields in seed 003's order (its customer details example). */
export const SUBSCRIPTION_FEATURE_NAMES = [
  "watch_time_hours",
  "subscription_age_months",
  "device_count",
  "last_login_days",
  "payment_failures",
  "tenure_months",
  "plan",
] as const satisfies ReadonlyArray<keyof Subscriber>;

/** How each field is drawn (ε a fresh N(0, 1) draw, U a fresh uniform; Poisson(m) a count with mean m). */
export const SUBSCRIPTION_INPUTS: Record<string, string> = {
  "e, f, s (latent engagement, payment fragility, satisfaction)": "N(0, 1) each, not observed",
  plan: PLANS.map((p, i) => `${p}: ${PLAN_SHARE[i]! * 100}%`).join(", "),
  subscription_age_months: `min(120, 1 + ⌊−${MEAN_SUBSCRIPTION_MONTHS} ln(1 − U)⌋)`,
  tenure_months: `subscription_age_months, plus 1 + Poisson(15) for the ${RETURNING_SHARE * 100}% who came back after an earlier subscription; at most 240`,
  device_count: `min(10, 1 + Poisson(exp(0.1 + 0.3 e + plan shift (${PLANS.map((p, i) => `${p} ${PLAN_DEVICES[i]}`).join(", ")}))))`,
  watch_time_hours: "hours in the last 30 days: min(720 (every hour of 30 days), exp(3.2 + 0.6 e + 0.15 (min(device_count, 5) − 2) + 0.4 ε)), 1 decimal",
  last_login_days: "min(90, ⌊exp(1.0 − 0.7 e + 0.8 ε)⌋)",
  payment_failures: "failed payments in the last 90 days: min(6, Poisson(exp(−1.6 + 0.6 f)))",
};

interface DirectEffect extends Effect {
  value(subscriber: Subscriber): number;
}

/** Every direct effect on the churn log-odds (besides the intercept and the latent satisfaction). */
export const EFFECTS: readonly DirectEffect[] = [
  { feature: "watch_time_hours", term: "−0.8 × ln((1 + watch_time_hours) / 25)", coefficient: -0.8, value: (c) => Math.log((1 + c.watch_time_hours) / 25) },
  { feature: "last_login_days", term: "0.5 × ln((1 + last_login_days) / 4)", coefficient: 0.5, value: (c) => Math.log((1 + c.last_login_days) / 4) },
  { feature: "payment_failures", term: "0.6 × min(payment_failures, 3)", coefficient: 0.6, value: (c) => Math.min(c.payment_failures, 3) },
  { feature: "device_count", term: "−0.3 × (min(device_count, 4) − 1)", coefficient: -0.3, value: (c) => Math.min(c.device_count, 4) - 1 },
  { feature: "subscription_age_months", term: "−0.45 × ln(subscription_age_months / 12)", coefficient: -0.45, value: (c) => Math.log(c.subscription_age_months / 12) },
  {
    feature: "tenure_months − subscription_age_months",
    term: "0.5 × [tenure_months > subscription_age_months] (came back after a lapse)",
    coefficient: 0.5,
    value: (c) => (c.tenure_months > c.subscription_age_months ? 1 : 0),
  },
  {
    feature: "plan",
    term: `plan effect (${PLANS.map((p, i) => `${p}: ${PLAN_EFFECT[i]! >= 0 ? "+" : ""}${PLAN_EFFECT[i]}`).join(", ")})`,
    coefficient: 1,
    value: (c) => PLAN_EFFECT[PLANS.indexOf(c.plan)]!,
  },
];

export interface GeneratedSubscribers {
  subscribers: Subscriber[];
  /** CSV-like string rows of the same subscribers */
  rows: Record<string, string>[];
  /** 1 = churned */
  labels: Uint8Array;
  /** the generator's own P(churn) per row (with the latent satisfaction): the ceiling any model can reach */
  trueProbability: Float64Array;
}

function drawSubscriber(random: Random): { subscriber: Subscriber; satisfaction: number } {
  const e = random.normal();
  const f = random.normal();
  const s = random.normal();
  const planIndex = PLANS.indexOf(random.choice(PLANS, PLAN_SHARE));
  const age = Math.min(120, 1 + Math.floor(-MEAN_SUBSCRIPTION_MONTHS * Math.log(1 - random.uniform())));
  const returning = random.bernoulli(RETURNING_SHARE);
  const earlier = 1 + random.poisson(15);
  const devices = Math.min(10, 1 + random.poisson(Math.exp(0.1 + 0.3 * e + PLAN_DEVICES[planIndex]!)));
  const subscriber: Subscriber = {
    watch_time_hours: roundTo(clamp(Math.exp(3.2 + 0.6 * e + 0.15 * (Math.min(devices, 5) - 2) + 0.4 * random.normal()), 0, 720), 1),
    subscription_age_months: age,
    device_count: devices,
    last_login_days: Math.min(90, Math.floor(Math.exp(1.0 - 0.7 * e + 0.8 * random.normal()))),
    payment_failures: Math.min(6, random.poisson(Math.exp(-1.6 + 0.6 * f))),
    tenure_months: Math.min(240, age + (returning ? earlier : 0)),
    plan: PLANS[planIndex]!,
  };
  return { subscriber, satisfaction: s };
}

/** The generator's churn log-odds for a subscriber given the latent satisfaction. */
export function subscriptionLogit(subscriber: Subscriber, satisfaction: number): number {
  let z = SUBSCRIPTION_INTERCEPT - LATENT_SATISFACTION_EFFECT * satisfaction;
  for (const effect of EFFECTS) z += effect.coefficient * effect.value(subscriber);
  return z;
}

export function generateSubscribers(n: number, seed: number): GeneratedSubscribers {
  const random = createRandom(seed);
  const subscribers: Subscriber[] = [];
  const labels = new Uint8Array(n);
  const trueProbability = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { subscriber, satisfaction } = drawSubscriber(random);
    const p = sigmoid(subscriptionLogit(subscriber, satisfaction));
    trueProbability[i] = p;
    labels[i] = random.bernoulli(p) ? 1 : 0;
    subscribers.push(subscriber);
  }
  const rows = subscribers.map((c) => Object.fromEntries(SUBSCRIPTION_FEATURE_NAMES.map((name) => [name, String(c[name])])));
  return { subscribers, rows, labels, trueProbability };
}

export function describeSubscriptionGenerator(n: number, seed: number, churnRate: number): GeneratorDescription {
  return {
    generator: SUBSCRIPTION_GENERATOR,
    version: SUBSCRIPTION_GENERATOR_VERSION,
    seed,
    rows: n,
    positive_rate: roundTo(churnRate, 4),
    inputs: SUBSCRIPTION_INPUTS,
    intercept: SUBSCRIPTION_INTERCEPT,
    effects: [
      ...EFFECTS.map(({ feature, term, coefficient }) => ({ feature, term, coefficient })),
      { feature: "satisfaction (latent)", term: `−${LATENT_SATISFACTION_EFFECT} × s`, coefficient: -LATENT_SATISFACTION_EFFECT },
    ],
    no_direct_effect: [],
    noise:
      "the latent satisfaction s acts directly (the part no field shows), engagement acts through watch time, devices and " +
      "last login, payment fragility through payment failures, and the Bernoulli draw adds the rest.",
    missingness: "none: every row has all seven fields (plan is optional at serving time and then takes its most frequent training value).",
  };
}

/**
 * The card's notes paragraph. `describeGenerator` in random.ts speaks of leads and conversion;
 * this one says the same about subscribers and churn.
 */
export function describeSubscriptionData(d: GeneratorDescription): string {
  return (
    `SYNTHETIC DATA: ${d.rows} rows drawn by ${d.generator} ${d.version} (seed ${d.seed}); no real subscriber is in them. ` +
    `Churn is Bernoulli(sigmoid(z)) with z = ${d.intercept} + ${d.effects.map((e) => e.term).join(" + ")}; ${d.noise} ` +
    `Generated churn rate ${(100 * d.positive_rate).toFixed(1)}%. Missing values: ${d.missingness} ` +
    "The metrics say how well the model recovers this generator's structure, not how it will do on real subscribers."
  );
}
