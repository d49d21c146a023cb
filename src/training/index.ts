/** Public surface of the training area: trainers, artifacts, metrics and ONNX export. */
export { CARD_FILE, listModelDirs, MODEL_FILE, modelDir, PARITY_FILE, readCard, readParity, writeModelArtifacts } from "./artifacts.ts";
export { evaluationSetFor, trainBinaryLinear } from "./binary-linear.ts";
export { DatasetError, parseCsv, readCsv } from "./csv.ts";
export { buildEncoding, describeFeatures } from "./features.ts";
export { fitLogistic, predictProbabilities } from "./logistic.ts";
export { bestF1Threshold, binaryMetrics, logLoss, rocAuc } from "./metrics.ts";
export { exportLogisticRegression } from "./onnx-export.ts";
export { findTrainer, TRAINERS } from "./registry.ts";
export { mulberry32, stratifiedSplit } from "./split.ts";
export { TrainingError } from "./trainer.ts";
export type { BinaryLinearSpec } from "./binary-linear.ts";
export type { CsvTable } from "./csv.ts";
export type { DeclaredFeature } from "./features.ts";
export type { LogisticModel, Matrix } from "./logistic.ts";
export type { BinaryMetrics } from "./metrics.ts";
export type { EvaluationSet, LabelledRows, ParityFile, TrainContext, TrainedModel, TrainerEntry } from "./trainer.ts";
