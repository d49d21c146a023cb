/** Time since `started` (a `performance.now()` reading), as the API's responses report it. */
export const elapsedMs = (started: number): number => Math.round((performance.now() - started) * 100) / 100;

/** The same in seconds to the millisecond: seed 000's `processing_time`. */
export const elapsedSeconds = (started: number): number => Math.round(performance.now() - started) / 1000;
