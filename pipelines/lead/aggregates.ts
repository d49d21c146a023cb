/**
 * Per-lead engagement aggregates: what the lead pipeline folds each event into. Time is the lead's
 * own clock (the latest event timestamp it has seen), never the wall clock, so replaying the same
 * events rebuilds the same aggregates and therefore the same scores.
 */
import type { Channel, CountFeature, EmailAction, FunnelFlag, LeadEvent, TrackedPage } from "./events.ts";

export const DAY_MS = 86_400_000;
/** A page view more than 30 minutes from the lead's previous one starts a new visit (the usual web-analytics session timeout). */
export const VISIT_GAP_MS = 30 * 60_000;
/** Sliding windows cover the UTC day of the lead's clock and the 29 days before it. */
export const WINDOW_DAYS = 30;

/** Stored as JSON in `lead_state.aggregates`; times are epoch milliseconds. */
export interface LeadAggregates {
  /** the latest event timestamp seen: recency and windows are measured from it */
  clock: number;
  /** timestamp of the lead's first applied event */
  firstSeen: number;
  firstTouch: number | null;
  lastTouch: number | null;
  touches: number;
  channels: Channel[];
  /** applied events other than profile updates and unknown types (any of them is b2b evidence) */
  engagement: number;
  /** [UTC day number, visits started, page views] for the days inside the window, oldest first */
  days: Array<[number, number, number]>;
  visits: number;
  /** visits that have had exactly one page view so far */
  singlePageVisits: number;
  /** page views in the latest visit */
  visitPages: number;
  lastPageView: number | null;
  /** sum of the `duration_sec` reported by page views */
  sessionSeconds: number;
  pages: Record<TrackedPage, number>;
  emails: Record<EmailAction, number>;
  counts: Partial<Record<CountFeature, number>>;
  flags: Partial<Record<FunnelFlag, 0 | 1>>;
}

export function emptyAggregates(at: number): LeadAggregates {
  return {
    clock: at,
    firstSeen: at,
    firstTouch: null,
    lastTouch: null,
    touches: 0,
    channels: [],
    engagement: 0,
    days: [],
    visits: 0,
    singlePageVisits: 0,
    visitPages: 0,
    lastPageView: null,
    sessionSeconds: 0,
    pages: { pricing: 0, demo: 0, documentation: 0 },
    emails: { sent: 0, open: 0, click: 0 },
    counts: {},
    flags: {},
  };
}

/**
 * Folds one event into `agg` and `profile` (both mutated). Unknown types change nothing here: the
 * caller only counts them. Every other event moves the clock forward (never back: a late event
 * still counts, in its own day if that day is inside the window).
 */
export function applyEvent(agg: LeadAggregates, profile: Record<string, unknown>, event: LeadEvent): void {
  if (event.kind === "unknown") return;
  const { at } = event;
  if (at > agg.clock) {
    agg.clock = at;
    prune(agg);
  }
  switch (event.kind) {
    case "page_view": {
      const newVisit = agg.lastPageView === null || Math.abs(at - agg.lastPageView) > VISIT_GAP_MS;
      if (newVisit) {
        agg.visits++;
        agg.singlePageVisits++;
        agg.visitPages = 1;
      } else if (++agg.visitPages === 2) {
        agg.singlePageVisits--;
      }
      agg.lastPageView = agg.lastPageView === null ? at : Math.max(agg.lastPageView, at);
      agg.sessionSeconds += event.durationSec;
      if (event.page !== null) agg.pages[event.page]++;
      addToWindow(agg, at, newVisit ? 1 : 0, 1);
      touch(agg, at, "web");
      break;
    }
    case "email":
      agg.emails[event.action]++;
      // a sent email is our action, not the lead's
      if (event.action !== "sent") touch(agg, at, "email");
      break;
    case "count":
      agg.counts[event.feature] = (agg.counts[event.feature] ?? 0) + 1;
      touch(agg, at, event.channel);
      break;
    case "flag":
      agg.flags[event.flag] = event.value;
      // leaving a stage is a record correction, not a contact
      if (event.value === 1) touch(agg, at, "sales");
      break;
    case "profile":
      Object.assign(profile, event.fields);
      return;
  }
  agg.engagement++;
}

/** Visits and page views inside the window that ends at the lead's clock. */
export function windowTotals(agg: LeadAggregates): { visits: number; pageViews: number } {
  let visits = 0;
  let pageViews = 0;
  for (const [, v, p] of agg.days) {
    visits += v;
    pageViews += p;
  }
  return { visits, pageViews };
}

function touch(agg: LeadAggregates, at: number, channel: Channel): void {
  agg.touches++;
  agg.firstTouch = agg.firstTouch === null ? at : Math.min(agg.firstTouch, at);
  agg.lastTouch = agg.lastTouch === null ? at : Math.max(agg.lastTouch, at);
  if (!agg.channels.includes(channel)) agg.channels.push(channel);
}

const dayOf = (at: number) => Math.floor(at / DAY_MS);

function addToWindow(agg: LeadAggregates, at: number, visits: number, pageViews: number): void {
  const day = dayOf(at);
  if (day <= dayOf(agg.clock) - WINDOW_DAYS) return; // older than the window: all-time counts only
  let i = agg.days.length;
  while (i > 0 && agg.days[i - 1]![0] > day) i--;
  const bucket = agg.days[i - 1];
  if (bucket && bucket[0] === day) {
    bucket[1] += visits;
    bucket[2] += pageViews;
  } else {
    agg.days.splice(i, 0, [day, visits, pageViews]);
  }
}

function prune(agg: LeadAggregates): void {
  const oldest = dayOf(agg.clock) - WINDOW_DAYS + 1;
  let drop = 0;
  while (drop < agg.days.length && agg.days[drop]![0] < oldest) drop++;
  if (drop > 0) agg.days.splice(0, drop);
}
