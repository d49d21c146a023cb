import type { PipelineDefinition } from "../types.ts";
import { createWebhookDispatcher } from "./handler.ts";

/** Stateless: notices become deliveries in any order; the jobs role sends them. */
export const webhooksPipeline: PipelineDefinition = {
  name: "webhooks",
  stream: (names) => names.notices,
  batchSize: 256,
  maxInFlightBatches: 2,
  ordered: false,
  createHandler: createWebhookDispatcher,
};
