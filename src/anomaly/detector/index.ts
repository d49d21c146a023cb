/** Public surface of the streaming anomaly detector. */
export { ALARM_SCORE, DEFAULT_DETECTOR_CONFIG, DEFAULT_REFRACTORY_FRACTION, REFRACTORY_SCORE_CAP, resolveDetectorConfig } from "./config.ts";
export { DetectorConfigError, DetectorInputError } from "./errors.ts";
export { asDetectorState, createState, historyAt, STATE_KIND, STATE_VERSION } from "./state.ts";
export { step } from "./step.ts";
export type { DetectorConfig } from "./config.ts";
export type { DetectorState } from "./state.ts";
export type { Severity, StepResult } from "./step.ts";
