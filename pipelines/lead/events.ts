/**
 * The lead event catalogue: which `events.lead.<id>` types the pipeline understands and the `data`
 * each one carries, validated with zod. Fields a schema does not name are ignored; a named field
 * with a value of the wrong type makes the event invalid (it is dead-lettered and changes nothing).
 * README.md documents the same catalogue for producers.
 */
import { z } from "zod";
import type { FeatureSpec, ModelCard } from "../../src/models/index.ts";

/** Where a touch happened; two or more channels seen make `multi_channel_engagement`. */
export const CHANNELS = ["web", "email", "event", "content", "social", "sales", "support"] as const;
export type Channel = (typeof CHANNELS)[number];

/** Pages of a `page_view` that have a feature of their own (any other page is a plain view). */
export const TRACKED_PAGES = ["pricing", "demo", "documentation"] as const;
export type TrackedPage = (typeof TRACKED_PAGES)[number];

/** Event types that add one to a b2b_lead_score count feature, and their channel. */
export const COUNT_EVENTS = {
  webinar_attended: { feature: "webinar_attendance", channel: "event" },
  whitepaper_download: { feature: "whitepaper_downloads", channel: "content" },
  social_engagement: { feature: "social_media_engagement", channel: "social" },
  support_ticket: { feature: "support_ticket_count", channel: "support" },
  success_interaction: { feature: "customer_success_interactions", channel: "support" },
  integration_question: { feature: "integration_questions_asked", channel: "sales" },
  feature_request: { feature: "feature_requests_count", channel: "sales" },
} as const satisfies Record<string, { feature: string; channel: Channel }>;
export type CountFeature = (typeof COUNT_EVENTS)[keyof typeof COUNT_EVENTS]["feature"];

/** Sales-funnel milestones (`milestone` events): each sets the b2b_lead_score flag of the same name. */
export const MILESTONES = [
  "decision_maker_contacted",
  "champion_identified",
  "budget_confirmed",
  "timeline_confirmed",
  "competitor_evaluation",
  "technical_evaluation_started",
  "contract_reviewed",
  "security_questionnaire_completed",
  "roi_calculator_used",
] as const;
/** Funnel flags: the milestones plus `custom_demo_requested`, set by a `demo_request` event. */
export type FunnelFlag = (typeof MILESTONES)[number] | "custom_demo_requested";

export const EMAIL_EVENTS = { email_sent: "sent", email_open: "open", email_click: "click" } as const;
export type EmailAction = (typeof EMAIL_EVENTS)[keyof typeof EMAIL_EVENTS];

/** One event, validated and reduced to what the aggregates need; `at` is its timestamp in ms. */
export type LeadEvent =
  | { kind: "page_view"; at: number; page: TrackedPage | null; durationSec: number }
  | { kind: "email"; at: number; action: EmailAction }
  | { kind: "count"; at: number; feature: CountFeature; channel: Channel }
  | { kind: "flag"; at: number; flag: FunnelFlag; value: 0 | 1 }
  | { kind: "profile"; at: number; fields: Record<string, number | string> }
  /** a type this catalogue does not know: counted, changes no feature */
  | { kind: "unknown"; at: number };

export type ParseResult = { ok: true; event: LeadEvent } | { ok: false; error: string };

const PageViewSchema = z.object({
  page: z.string().max(200).optional(),
  duration_sec: z.number().min(0).max(86_400).optional(),
});
const MilestoneSchema = z.object({
  milestone: z.enum(MILESTONES),
  /** false records that the lead left the stage (a competitor evaluation ended, say) */
  reached: z.boolean().default(true),
});

const TRACKED = new Set<string>(TRACKED_PAGES);

/**
 * Builds the parser for one pair of cards: the `profile` fields and their types come from the
 * cards, so a producer's values are checked by the same rules the models were trained with
 * (b2b_lead_score clips out-of-range numbers; lead_scoring rejects scores outside 1–10 and unknown
 * company sizes).
 */
export function createEventParser(profileSpecs: readonly FeatureSpec[]) {
  const ProfileSchema = z.object(Object.fromEntries(profileSpecs.map((spec) => [spec.name, fieldSchema(spec).optional()])));

  return function parseLeadEvent(type: string, data: Record<string, unknown>, at: number): ParseResult {
    const fail = (error: z.ZodError): ParseResult => ({
      ok: false,
      error: `invalid ${type} data: ${error.issues.map((i) => `${i.path.join(".") || "data"}: ${i.message}`).join("; ")}`,
    });
    if (type === "page_view") {
      const parsed = PageViewSchema.safeParse(data);
      if (!parsed.success) return fail(parsed.error);
      const page = parsed.data.page !== undefined && TRACKED.has(parsed.data.page) ? (parsed.data.page as TrackedPage) : null;
      return { ok: true, event: { kind: "page_view", at, page, durationSec: parsed.data.duration_sec ?? 0 } };
    }
    if (type === "milestone") {
      const parsed = MilestoneSchema.safeParse(data);
      if (!parsed.success) return fail(parsed.error);
      return { ok: true, event: { kind: "flag", at, flag: parsed.data.milestone, value: parsed.data.reached ? 1 : 0 } };
    }
    if (type === "profile") {
      const parsed = ProfileSchema.safeParse(data);
      if (!parsed.success) return fail(parsed.error);
      const fields: Record<string, number | string> = {};
      for (const [name, value] of Object.entries(parsed.data)) if (value !== undefined) fields[name] = value;
      return { ok: true, event: { kind: "profile", at, fields } };
    }
    if (Object.hasOwn(EMAIL_EVENTS, type)) {
      return { ok: true, event: { kind: "email", at, action: EMAIL_EVENTS[type as keyof typeof EMAIL_EVENTS] } };
    }
    if (Object.hasOwn(COUNT_EVENTS, type)) {
      const { feature, channel } = COUNT_EVENTS[type as keyof typeof COUNT_EVENTS];
      return { ok: true, event: { kind: "count", at, feature, channel } };
    }
    if (type === "demo_request") return { ok: true, event: { kind: "flag", at, flag: "custom_demo_requested", value: 1 } };
    return { ok: true, event: { kind: "unknown", at } };
  };
}
export type LeadEventParser = ReturnType<typeof createEventParser>;

/** A profile field's type check, from its card entry; booleans are stored as 0/1. */
function fieldSchema(spec: FeatureSpec): z.ZodType<number | string> {
  const ranged = (schema: z.ZodNumber) => {
    if (spec.out_of_range !== "reject") return schema;
    let s = schema;
    if (spec.min !== undefined) s = s.min(spec.min);
    if (spec.max !== undefined) s = s.max(spec.max);
    return s;
  };
  switch (spec.type) {
    case "number":
      return ranged(z.number());
    case "integer":
      return ranged(z.number().int());
    case "boolean":
      return z.union([z.boolean(), z.literal(0), z.literal(1)]).transform((v) => (v === true || v === 1 ? 1 : 0));
    case "category":
      return spec.unknown_category === "reject" ? z.enum(spec.categories as [string, ...string[]]) : z.string().max(200);
    case "text":
      throw new Error(`profile field ${spec.name} is text; the lead pipeline takes numbers, flags and categories`);
  }
}

/** The specs of `names` in `card`, failing loudly when a card no longer has one. */
export function specsOf(card: ModelCard, names: readonly string[]): FeatureSpec[] {
  return names.map((name) => {
    const spec = card.features.find((f) => f.name === name);
    if (!spec) throw new Error(`model ${card.name} has no feature ${name}; the lead pipeline's mapping needs updating`);
    return spec;
  });
}
