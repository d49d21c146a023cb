/**
 * Runs one trainer in a child process (training-child.ts). Training is CPU-bound for seconds to
 * minutes; in the jobs process it would stall the event loop that renews job locks and runs CSV
 * imports. A child process rather than a worker thread: a trainer that exhausts its heap takes down
 * only the child, and the memory it used goes back to the system when it exits.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What the child is asked to do (its first IPC message). */
export interface TrainingRequest {
  /** a findTrainer reference: `<name>` or `<name>@<version>` */
  trainer: string;
  /** the version directory to write under `modelsDir/<name>/` */
  version: string;
  modelsDir: string;
  datasetsDir: string;
}

/** What a finished job returns (its BullMQ return value). */
export interface TrainingResult {
  model: string;
  version: string;
  /** the version directory written: model.onnx, card.json, parity.json */
  model_dir: string;
  /** the recipe that trained it: the trainer's own name and version */
  trainer: string;
  /** the card's validation metrics */
  metrics: Record<string, number>;
  seconds: number;
}

/** Messages from the child, in order: log lines, then `writing`, then `done`; or `failed` at any point. */
export type ChildMessage =
  | { kind: "log"; line: string }
  | { kind: "writing" }
  | { kind: "done"; result: TrainingResult }
  | { kind: "failed"; error: string };

export type TrainingEvent = Extract<ChildMessage, { kind: "log" | "writing" }>;

/** The trainer failed (its message says why: a missing dataset names the file), or its process died. */
export class TrainingFailedError extends Error {
  override name = "TrainingFailedError";
}

const CHILD = fileURLToPath(new URL("./training-child.ts", import.meta.url));
// resolved here, not by the child from its working directory, which may be anywhere
const TSX = import.meta.resolve("tsx");
/** how much of the child's stderr a crash report keeps */
const STDERR_TAIL_CHARS = 2_000;

/**
 * Trains in a child process, passing its progress to `onEvent`. Aborting `signal` kills the child
 * (it removes a version directory it had begun to write) and rejects.
 */
export function runTraining(request: TrainingRequest, onEvent: (event: TrainingEvent) => void, signal: AbortSignal): Promise<TrainingResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const child = fork(CHILD, [], { execArgv: ["--import", TSX], stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    let outcome: Extract<ChildMessage, { kind: "done" | "failed" }> | null = null;
    const abort = () => child.kill("SIGTERM");
    signal.addEventListener("abort", abort, { once: true });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)));
    child.on("message", (raw) => {
      const message = raw as ChildMessage;
      if (message.kind === "done" || message.kind === "failed") outcome = message;
      else onEvent(message);
    });
    child.once("error", (err) => {
      signal.removeEventListener("abort", abort);
      reject(err);
    });
    child.once("exit", (code, killedBy) => {
      signal.removeEventListener("abort", abort);
      if (signal.aborted) reject(signal.reason);
      else if (outcome?.kind === "done") resolve(outcome.result);
      else if (outcome?.kind === "failed") reject(new TrainingFailedError(outcome.error));
      else reject(new TrainingFailedError(`the training process exited (${killedBy ?? `code ${code}`}) without a result${stderr ? `: ${stderr.trim()}` : ""}`));
    });
    child.send(request);
  });
}
