export { MAX_BATCH_ROWS, requestPredictions } from "./batch.ts";
export type { BatchItem } from "./batch.ts";
export { PredictRequestSchema } from "./messages.ts";
export { getPrediction, listPredictions } from "./queries.ts";
export { requestPrediction } from "./request.ts";
export type { PredictReply, PredictRequest } from "./messages.ts";
export type { ListQuery, PredictionRecord } from "./queries.ts";
export type { PredictDeps, PredictSuccess } from "./request.ts";
