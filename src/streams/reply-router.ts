import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { decodeJson } from "./codec.ts";

export const REPLY_HEADER = "Tidecast-Reply-To";

/**
 * Request/reply over JetStream, caller side. A request is a persisted stream message carrying a
 * reply subject in a header; the consumer that handles it publishes the answer there. One
 * wildcard subscription per process routes every answer to its waiting caller by id, so a
 * request costs no subscription of its own.
 *
 * A consumer in the caller's own process (`ROLE=all`) hands the answer over with `answerLocally`
 * instead: no encoding, no trip to nats-server and back, and two fewer wakeups on the request's
 * path, each of which costs about a millisecond on an otherwise idle VM.
 */
export class ReplyRouter {
  private readonly prefix = createInbox();
  private readonly waiting = new Map<string, (value: unknown) => void>();

  constructor(nc: NatsConnection) {
    // drained with the connection
    nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => {
        if (err) return;
        this.settle(msg.subject.slice(this.prefix.length + 1), decodeJson(msg.data));
      },
    });
  }

  /**
   * Answers a caller of this process directly; false when `subject` is another process's, to be
   * published. `value` must be what the caller would get from JSON: plain data only.
   */
  answerLocally(subject: string, value: unknown): boolean {
    if (!subject.startsWith(this.prefix) || subject[this.prefix.length] !== ".") return false;
    this.settle(subject.slice(this.prefix.length + 1), value);
    return true;
  }

  private settle(id: string, value: unknown): void {
    const resolve = this.waiting.get(id);
    if (!resolve) return; // the caller already timed out; the result is in Postgres
    this.waiting.delete(id);
    resolve(value);
  }

  /** Registers a waiter; `reply` goes in the request's header, `result` settles with the answer or `timeout`. */
  expect(id: string, timeoutMs: number): { replyTo: string; result: Promise<unknown>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<unknown>((resolve) => {
      this.waiting.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(TIMEOUT);
      }, timeoutMs);
    });
    return {
      replyTo: `${this.prefix}.${id}`,
      result,
      cancel: () => {
        clearTimeout(timer);
        this.waiting.delete(id);
      },
    };
  }
}

export const TIMEOUT: unique symbol = Symbol("timeout");
