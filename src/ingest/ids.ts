import { v5 as uuidv5 } from "uuid";
import type { ImportTarget } from "./targets.ts";
import { formatTarget } from "./targets.ts";

// Fixed namespaces: changing either would give a re-uploaded file new ids, and so new messages.
const IMPORT_NS = "0b6f3c52-6a55-4c8e-9a4d-1f0e7c2d9b31";
const PREDICTION_NS = "5d3a9e1c-2b7f-4d60-8c91-7e4b2a6f0d18";

/**
 * An import is one user's file (by content) sent to one target: the same bytes uploaded again by
 * the same user to the same target are the same import, so nothing runs twice. The owner is part
 * of the id because predictions are charged to, and visible to, the user who asked for them.
 */
export function importIdFor(sha256: string, target: ImportTarget, userId: number): string {
  return uuidv5(`${sha256}|${formatTarget(target)}|${userId}`, IMPORT_NS);
}

/** `Nats-Msg-Id` of a data row (1-based): a row re-published within the dedup window is dropped by the server. */
export function rowMessageId(importId: string, row: number): string {
  return `${importId}:${row}`;
}

/** Prediction id of a row: beyond the dedup window too, the scorer finds the row's prediction and writes nothing twice. */
export function rowPredictionId(importId: string, row: number): string {
  return uuidv5(rowMessageId(importId, row), PREDICTION_NS);
}
