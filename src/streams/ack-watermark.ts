import type { JsMsg } from "@nats-io/jetstream";

/**
 * Cumulative acks for a consumer with AckPolicy.All, where acking one message acks every message
 * up to its stream sequence: one may be acked only once every message delivered before it is
 * finished (committed, or copied to the dead-letter stream). Batches of different lanes finish in
 * any order; this keeps the messages in delivery order and says which one to ack when the
 * finished ones at the front grow.
 *
 * A new message is delivered after every lower stream sequence has been delivered, so once the
 * front up to a message is finished, so is everything at or below its sequence; a redelivery (a
 * lower sequence arriving late) repeats a message whose first delivery sits further ahead.
 */
export class AckWatermark {
  private delivered: JsMsg[] = [];
  private front = 0;
  private readonly finishedSet = new Set<JsMsg>();
  private ackedSeq = 0;

  /** Records a message as it arrives. */
  add(msg: JsMsg): void {
    this.delivered.push(msg);
  }

  finished(msg: JsMsg): void {
    this.finishedSet.add(msg);
  }

  /** Messages received and not yet covered by an ack. */
  get size(): number {
    return this.delivered.length - this.front;
  }

  /**
   * Takes the finished messages off the front and returns the one to ack: the highest stream
   * sequence among them, when it is above the last one returned; otherwise undefined.
   */
  advance(): JsMsg | undefined {
    let ack: JsMsg | undefined;
    while (this.front < this.delivered.length && this.finishedSet.delete(this.delivered[this.front]!)) {
      const msg = this.delivered[this.front++]!;
      if (msg.seq > (ack?.seq ?? this.ackedSeq)) ack = msg;
    }
    if (this.front > 4096 && this.front * 2 > this.delivered.length) {
      this.delivered = this.delivered.slice(this.front);
      this.front = 0;
    }
    if (ack) this.ackedSeq = ack.seq;
    return ack;
  }

  /** Forgets everything: the consumer was recreated, its deliveries start again. */
  reset(): void {
    this.delivered = [];
    this.front = 0;
    this.finishedSet.clear();
    this.ackedSeq = 0;
  }
}
