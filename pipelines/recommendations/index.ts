import { EVENTS_IN_FLIGHT, type PipelineDefinition } from "../types.ts";
import { createRecommendationsHandler } from "./handler.ts";

export { RECOMMEND_MODEL } from "./handler.ts";

/** Per-customer history needs stream order: one batch at a time per process. */
export const recommendationsPipeline: PipelineDefinition = {
  name: "recommendations",
  stream: (names) => names.events("interaction"),
  batchSize: EVENTS_IN_FLIGHT,
  maxInFlightBatches: 1,
  ordered: true,
  createHandler: createRecommendationsHandler,
};
