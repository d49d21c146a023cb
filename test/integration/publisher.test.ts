import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { connectBus, Publisher, type Bus } from "../../src/streams/index.ts";
import { dropIsolated, isolatedConfig } from "../helpers/env.ts";

describe("Publisher against real JetStream", () => {
  const config = isolatedConfig();
  const metrics = createMetrics({ defaultMetrics: false });
  let bus: Bus;

  before(async () => {
    bus = await connectBus(
      { url: config.NATS_URL, name: "publisher-test", streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX, duplicateWindowMs: 60_000 },
      { metrics, log: createLogger("silent") },
    );
  });
  after(async () => {
    await bus?.close();
    await dropIsolated(config);
  });

  it("sends the publishes of one turn together, in call order, each with its own ack", async () => {
    const subject = bus.names.eventSubject("customer", "order");
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publisher.publish("events", subject, { i }, { msgId: `order-${i}` })));
    const seqs = acks.map((a) => a.seq);
    assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => seqs[0]! + i));
    assert.ok(acks.every((a) => !a.duplicate));

    const again = await Promise.all([0, 1].map(() => bus.publisher.publish("events", subject, { i: 0 }, { msgId: "order-0" })));
    assert.deepEqual(again.map((a) => a.duplicate), [true, true]);
  });

  it("fails only the publish that no stream takes, not the others of its turn", async () => {
    const results = await Promise.allSettled([
      bus.publisher.publish("events", bus.names.eventSubject("customer", "ok-1"), {}, { msgId: "ok-1" }),
      bus.publisher.publish("events", `${config.SUBJECT_PREFIX}nowhere.at.all`, {}, { msgId: "lost" }),
      bus.publisher.publish("events", bus.names.eventSubject("customer", "ok-2"), {}, { msgId: "ok-2" }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  });

  it("rejects a publish the stream refuses, with the server's error", async () => {
    const subject = bus.names.eventSubject("customer", "expect");
    const first = await bus.publisher.publish("events", subject, {}, { msgId: "expect-1" });
    await assert.rejects(
      bus.publisher.publish("events", subject, {}, { msgId: "expect-2", headers: { "Nats-Expected-Last-Sequence": String(first.seq - 1) } }),
      /wrong last sequence/,
    );
  });

  it("times out a publish that gets no PubAck, and fails those still waiting at close", async () => {
    // a plain subscriber on a subject no stream captures: someone listens, so no 503, but nobody acks
    const subject = `${config.SUBJECT_PREFIX}unacked.x`;
    const listener = bus.nc.subscribe(subject);
    const publisher = new Publisher(bus.nc, metrics, 300);
    try {
      const started = performance.now();
      await assert.rejects(publisher.publish("events", subject, {}, { msgId: "never" }), { name: "PublishTimeoutError" });
      const waited = performance.now() - started;
      assert.ok(waited >= 300 && waited < 1_500, `timed out after ${waited} ms`);

      const pending = publisher.publish("events", subject, {}, { msgId: "never-2" });
      await new Promise((r) => setTimeout(r, 20));
      publisher.close();
      await assert.rejects(pending, /connection closed/);
    } finally {
      listener.unsubscribe();
    }
  });
});
