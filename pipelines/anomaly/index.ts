import type { PipelineDefinition } from "../types.ts";
import { createAnomalyHandler } from "./handler.ts";

export { ANOMALY_ALERT_TYPE } from "./handler.ts";

/** Per-series detector state needs stream order: one batch at a time per process. */
export const anomalyPipeline: PipelineDefinition = {
  name: "anomaly",
  stream: (names) => names.events("metric"),
  batchSize: 1000,
  maxInFlightBatches: 1,
  ordered: true,
  createHandler: createAnomalyHandler,
};
