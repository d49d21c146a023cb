import { anomalyPipeline } from "./anomaly/index.ts";
import { churnPipeline } from "./churn/index.ts";
import { leadPipeline } from "./lead/index.ts";
import { recommendationsPipeline } from "./recommendations/index.ts";
import { scorerPipeline } from "./scorer/index.ts";
import type { PipelineDefinition } from "./types.ts";
import { webhooksPipeline } from "./webhooks/index.ts";

/** Every pipeline a process can run, by name (ROLE=all or a comma list of these names). */
export const PIPELINES: readonly PipelineDefinition[] = [scorerPipeline, churnPipeline, anomalyPipeline, leadPipeline, recommendationsPipeline, webhooksPipeline];

export { anomalyPipeline, churnPipeline, leadPipeline, recommendationsPipeline, scorerPipeline, webhooksPipeline };
export type { PipelineDefinition, PipelineDeps } from "./types.ts";
