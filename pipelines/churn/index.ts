import { EVENTS_IN_FLIGHT, type PipelineDefinition } from "../types.ts";
import { createChurnHandler } from "./handler.ts";

export { CHURN_MODELS } from "./models.ts";

const LANES = 2;

/** Per-customer state needs stream order per customer: one batch at a time in each of two lanes of customers. */
export const churnPipeline: PipelineDefinition = {
  name: "churn",
  stream: (names) => names.events("customer"),
  batchSize: EVENTS_IN_FLIGHT / LANES,
  maxInFlightBatches: 1,
  ordered: true,
  lanes: LANES,
  createHandler: createChurnHandler,
};
