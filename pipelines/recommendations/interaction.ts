import { z } from "zod";
import { EventEnvelopeSchema } from "../../src/streams/index.ts";

/**
 * Interaction events (`events.interaction.<customer>`) and how one changes a customer's history.
 * The weights are design choices, not fitted: the retail data the model learned from holds
 * purchases only, so no data here says how much a view is worth against a purchase.
 */
export const INTERACTION_TYPES = ["view", "add_to_cart", "purchase", "rating"] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];

/**
 * Printable ASCII without surrounding spaces: stock codes and SKUs fit, and byte order equals
 * JavaScript's string order, which the live popularity ranking relies on for its ties.
 */
export const ITEM_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

export const InteractionDataSchema = z.object({
  item_id: z.string().regex(ITEM_ID, "1-128 printable ASCII characters"),
  quantity: z.number().positive().optional(),
  rating: z.number().int().min(1).max(5).optional(),
});

export interface Interaction {
  type: InteractionType;
  data: z.infer<typeof InteractionDataSchema>;
}

/** A whole `events.interaction.<customer>` message: the event envelope with an interaction inside. */
export const InteractionEventSchema = EventEnvelopeSchema.extend({
  domain: z.literal("interaction"),
  type: z.enum(INTERACTION_TYPES),
  data: InteractionDataSchema,
}).refine((e) => e.type !== "rating" || e.data.rating !== undefined, { path: ["data", "rating"], message: "a rating event needs rating 1-5" });

/** How much one event adds to the item's weight in the customer's history. */
export function historyWeight(e: Interaction): number {
  switch (e.type) {
    case "view":
      return 1;
    case "add_to_cart":
      return 3;
    case "purchase":
      return 5;
    case "rating":
      // 5 stars +4, 3 neutral, 1 star -4: an item whose weight falls to 0 or below leaves the basket
      return 2 * (e.data.rating! - 3);
  }
}

/** How much one event adds to the item's live popularity: any interaction counts, stronger ones more. */
export const POPULARITY_WEIGHT: Readonly<Record<InteractionType, number>> = { view: 1, add_to_cart: 3, purchase: 5, rating: 1 };

/** Every existing weight is multiplied by this at each new event of the customer: recent items count more. */
export const HISTORY_DECAY = 0.9;
/** Decimals kept of a history weight (rounding is part of the fold, so every run rounds alike). */
export const WEIGHT_DIGITS = 4;
/** Distinct recent items kept per customer; the least recently touched one goes first. */
export const HISTORY_LIMIT = 50;
/** Purchased items remembered per customer (never recommended); the oldest purchase goes first. */
export const PURCHASED_LIMIT = 200;

export interface HistoryItem {
  item_id: string;
  /** rounded to WEIGHT_DIGITS decimals: stored as JSON every batch, so short numbers keep it cheap */
  weight: number;
}

/** What a customer's events leave behind, most recent first. */
export interface History {
  history: HistoryItem[];
  purchased: string[];
}

const round = (w: number) => Math.round(w * 10 ** WEIGHT_DIGITS) / 10 ** WEIGHT_DIGITS;

/** Folds one event into a history, in place. */
export function applyInteraction(h: History, e: Interaction): void {
  const item = e.data.item_id;
  let previous = 0;
  for (let i = h.history.length - 1; i >= 0; i--) {
    const entry = h.history[i]!;
    if (entry.item_id === item) {
      previous = entry.weight;
      h.history.splice(i, 1);
    } else {
      entry.weight = round(entry.weight * HISTORY_DECAY);
    }
  }
  h.history.unshift({ item_id: item, weight: round(previous * HISTORY_DECAY + historyWeight(e)) });
  if (h.history.length > HISTORY_LIMIT) h.history.length = HISTORY_LIMIT;
  if (e.type === "purchase") {
    const at = h.purchased.indexOf(item);
    if (at >= 0) h.purchased.splice(at, 1);
    h.purchased.unshift(item);
    if (h.purchased.length > PURCHASED_LIMIT) h.purchased.length = PURCHASED_LIMIT;
  }
}
