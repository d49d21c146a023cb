import type { EventEnvelope } from "../streams/index.ts";
import { demoEvent } from "./events.ts";

const T0 = Date.UTC(2026, 10, 22, 18);
const MINUTE = 60_000;

type Step = [type: "view" | "add_to_cart" | "purchase" | "rating", item: string, extra?: Record<string, unknown>];

/**
 * Four shoppers of the retail shop the recommend_retail model learned from (its stock codes), each
 * browsing one corner of the catalogue: storage jars, cake baking, party decorations, lunch bags.
 */
const SHOPPERS: Record<string, Step[]> = {
  "demo-shopper-1": [["view", "23166"], ["view", "23167"], ["add_to_cart", "23166", { quantity: 2 }], ["purchase", "23166", { quantity: 2 }]],
  "demo-shopper-2": [["view", "22423"], ["view", "22720"], ["add_to_cart", "21212", { quantity: 3 }], ["purchase", "22423", { quantity: 1 }], ["rating", "22423", { rating: 5 }]],
  "demo-shopper-3": [["view", "47566"], ["view", "84879"], ["purchase", "47566", { quantity: 4 }], ["view", "22086"]],
  "demo-shopper-4": [["view", "20725"], ["view", "85123A"], ["add_to_cart", "20725", { quantity: 1 }], ["rating", "85123A", { rating: 2 }]],
};

/** The shopper the start banner shows. */
export const DEMO_SHOPPER = Object.keys(SHOPPERS)[0]!;

export function shopperEvents(): EventEnvelope[] {
  return Object.entries(SHOPPERS).flatMap(([key, steps]) =>
    steps.map(([type, item, extra], i) => demoEvent("interaction", key, `${key}-${i + 1}`, type, T0 + i * MINUTE, { item_id: item, ...extra })),
  );
}
