import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsMsg } from "@nats-io/jetstream";
import { AckWatermark } from "../../src/streams/ack-watermark.ts";

// only the stream sequence matters to the watermark
const msg = (seq: number) => ({ seq }) as JsMsg;

describe("AckWatermark", () => {
  it("acks nothing while the first delivered message is unfinished, then the highest finished behind it", () => {
    const w = new AckWatermark();
    const [a, b, c, d] = [1, 2, 3, 4].map(msg);
    for (const m of [a, b, c, d]) w.add(m!);
    w.finished(b!);
    w.finished(d!);
    assert.equal(w.advance(), undefined, "message 1 holds everything back");
    assert.equal(w.size, 4);
    w.finished(a!);
    assert.equal(w.advance(), b, "1 and 2 are done; 3 is not");
    assert.equal(w.size, 2);
    w.finished(c!);
    assert.equal(w.advance(), d);
    assert.equal(w.size, 0);
    assert.equal(w.advance(), undefined, "nothing new");
  });

  it("acks by the highest sequence, not the last delivered, when a redelivery of a lower one comes late", () => {
    const w = new AckWatermark();
    const first5 = msg(5);
    const six = msg(6);
    const again5 = msg(5); // the server redelivered 5 while its first delivery was still at work
    for (const m of [first5, six, again5]) w.add(m);
    for (const m of [first5, six, again5]) w.finished(m);
    assert.equal(w.advance(), six);
  });

  it("never returns a sequence at or below one already returned", () => {
    const w = new AckWatermark();
    const [a, b] = [7, 8].map(msg);
    w.add(a!);
    w.add(b!);
    w.finished(a!);
    w.finished(b!);
    assert.equal(w.advance(), b);
    const late = msg(7);
    w.add(late);
    w.finished(late);
    assert.equal(w.advance(), undefined, "7 is covered by the ack of 8");
    assert.equal(w.size, 0);
  });

  it("forgets everything on reset", () => {
    const w = new AckWatermark();
    w.add(msg(1));
    w.reset();
    assert.equal(w.size, 0);
    const m = msg(1);
    w.add(m);
    w.finished(m);
    assert.equal(w.advance(), m, "sequences count again from the start");
  });
});
