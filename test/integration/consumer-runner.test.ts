import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AckPolicy, type JsMsg } from "@nats-io/jetstream";
import { createInbox } from "@nats-io/transport-node";
import pg from "pg";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { LeaderLock } from "../../src/db/leader-lock.ts";
import { connectBus, ConsumerRunner, deadLetterHandler, type BatchHandler, type Bus, type EventDomain, type Outcome } from "../../src/streams/index.ts";
import { dropIsolated, eventually, isolatedConfig } from "../helpers/env.ts";

describe("ConsumerRunner against real JetStream", () => {
  const config = isolatedConfig({ MAX_DELIVER: "3" });
  const log = createLogger("silent");
  const metrics = createMetrics({ defaultMetrics: false });
  let bus: Bus;
  const runners: ConsumerRunner[] = [];
  let durableCount = 0;

  before(async () => {
    bus = await connectBus(
      { url: config.NATS_URL, name: "runner-test", streamPrefix: config.STREAM_PREFIX, subjectPrefix: config.SUBJECT_PREFIX, duplicateWindowMs: 60_000 },
      { metrics, log },
    );
  });
  after(async () => {
    for (const r of runners) await r.stop();
    await bus?.close();
    await dropIsolated(config);
  });

  // each test reads its own domain's stream, whole (as pipelines do)
  async function run(
    domain: EventDomain,
    handler: BatchHandler,
    options: { ordered?: boolean; batchSize?: number; maxInFlightBatches?: number; lanes?: number; ackWaitMs?: number; durable?: string } = {},
  ) {
    const durable = options.durable ?? `d${++durableCount}`;
    const runner = new ConsumerRunner(
      {
        pipeline: durable,
        consumer: { stream: bus.names.events(domain), durable, filterSubject: "", maxDeliver: 3, ackWaitMs: options.ackWaitMs ?? 2000, maxAckPending: 1000 },
        handler,
        batchSize: options.batchSize ?? 100,
        maxInFlightBatches: options.maxInFlightBatches ?? 1,
        lanes: options.lanes,
        ordered: options.ordered ?? false,
        retryBaseDelayMs: 20,
      },
      { bus, metrics, log, lock: options.ordered ? new LeaderLock(config.DATABASE_URL, `runner-test:${config.STREAM_PREFIX}:${durable}`, log) : undefined },
    );
    await runner.start();
    runners.push(runner);
    return { runner, durable };
  }
  const publish = (domain: EventDomain, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => bus.publisher.publish("events", bus.names.eventSubject(domain, `k${i % 3}`), { i }, { msgId: `${domain}-${i}` })));
  const pendingOf = async (domain: EventDomain, durable: string) => {
    const info = await bus.jsm.consumers.info(bus.names.events(domain), durable);
    return info.num_pending + info.num_ack_pending;
  };

  it("hands over arrived messages in batches, in stream order, and acks them", async () => {
    const seen: number[] = [];
    const sizes: number[] = [];
    const { durable } = await run("customer", async (batch) => {
      sizes.push(batch.length);
      for (const m of batch) seen.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, batchSize: 50 });
    await publish("customer", 500);
    await eventually(async () => (seen.length >= 500 && (await pendingOf("customer", durable)) === 0 ? true : undefined), 10_000, "all acked");
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "stream order");
    assert.equal(new Set(seen).size, 500, "each once");
    assert.ok(Math.max(...sizes) <= 50 && sizes.length < 500, `batched: ${sizes.length} batches`);
  });

  it("retries a failing batch in place when ordered, so nothing overtakes it", async () => {
    let failures = 2;
    const seen: number[] = [];
    const { durable } = await run("lead", async (batch) => {
      if (failures-- > 0) throw new Error("database unavailable");
      for (const m of batch) seen.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true });
    await publish("lead", 30);
    await eventually(async () => (seen.length >= 30 && (await pendingOf("lead", durable)) === 0 ? true : undefined), 10_000, "recovered");
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    assert.equal(new Set(seen).size, 30);
  });

  it("dead-letters an invalid message at once and one whose retries run out via the server's advisory", async () => {
    const dlqBefore = (await bus.jsm.streams.info(bus.names.dlq)).state.messages;
    const worker = new ConsumerRunner(
      {
        pipeline: "dead-letter",
        consumer: { stream: bus.names.advisories, durable: "adv", filterSubject: "", maxDeliver: 3, ackWaitMs: 2000, maxAckPending: 100 },
        handler: deadLetterHandler({ ...bus, metrics, log }),
        batchSize: 10,
        maxInFlightBatches: 1,
        ordered: false,
      },
      { bus, metrics, log },
    );
    await worker.start();
    runners.push(worker);

    const attempts = new Map<number, number>();
    const ok: number[] = [];
    const { durable } = await run("metric", async (batch: readonly JsMsg[]) =>
      batch.map((m) => {
        const body = JSON.parse(new TextDecoder().decode(m.data)) as { i: number };
        attempts.set(body.i, (attempts.get(body.i) ?? 0) + 1);
        if (body.i === 1) return { kind: "invalid", error: "field x is nonsense" };
        if (body.i === 2) return { kind: "retry", error: "upstream timed out", delayMs: 10 };
        ok.push(body.i);
        return { kind: "ack" };
      }),
    );
    await publish("metric", 6);
    const dlq = await eventually(async () => {
      const info = await bus.jsm.streams.info(bus.names.dlq);
      return info.state.messages >= dlqBefore + 2 ? info : undefined;
    }, 15_000, "two dead letters");
    assert.deepEqual(ok.sort(), [0, 3, 4, 5], "the others were not held up");
    assert.equal(attempts.get(1), 1, "invalid: no retries");
    assert.equal(attempts.get(2), 3, "retried max_deliver times");
    const letters = [];
    for (let seq = dlq.state.first_seq; seq <= dlq.state.last_seq; seq++) {
      const m = await bus.jsm.streams.getMessage(bus.names.dlq, { seq });
      if (m?.header.get("Tidecast-Dlq-Consumer") === durable) letters.push(m);
    }
    const byError = Object.fromEntries(letters.map((m) => [m.header.get("Tidecast-Dlq-Error"), m]));
    assert.ok(byError["field x is nonsense"], "invalid message copied with its error");
    assert.equal(byError["field x is nonsense"]!.header.get("Tidecast-Dlq-Deliveries"), "1");
    const exhausted = byError["upstream timed out"];
    assert.ok(exhausted, "retried message copied with its last error");
    assert.equal(exhausted!.header.get("Tidecast-Dlq-Deliveries"), "3");
    assert.equal(exhausted!.header.get("Tidecast-Dlq-Original-Msg-Id"), "metric-2");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(exhausted!.data)), { i: 2 });
  });

  it("with lanes, runs batches of different keys side by side and keeps each key's order", async () => {
    const seqsBySubject = new Map<string, number[]>();
    const running = new Set<readonly JsMsg[]>();
    let mostAtOnce = 0;
    let overlapping = 0;
    const { durable } = await run("customer", async (batch) => {
      const subjects = new Set(batch.map((m) => m.subject));
      for (const other of running) if (other.some((m) => subjects.has(m.subject))) overlapping++;
      running.add(batch);
      mostAtOnce = Math.max(mostAtOnce, running.size);
      await new Promise((r) => setTimeout(r, 5)); // a commit's wait, during which the other lane works
      for (const m of batch) seqsBySubject.set(m.subject, [...(seqsBySubject.get(m.subject) ?? []), m.seq]);
      running.delete(batch);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, batchSize: 20, lanes: 2 });
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => bus.publisher.publish("events", bus.names.eventSubject("customer", `lane${i % 10}`), { i }, { msgId: `lanes-${i}` })),
    );
    const total = (await bus.jsm.streams.info(bus.names.events("customer"))).state.messages;
    const handled = () => [...seqsBySubject.values()].reduce((n, seqs) => n + seqs.length, 0);
    await eventually(async () => (handled() >= total && (await pendingOf("customer", durable)) === 0 ? true : undefined), 10_000, "all acked");
    assert.equal(handled(), total, "each message once");
    for (const [subject, seqs] of seqsBySubject) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${subject} in stream order`);
    assert.equal(mostAtOnce, 2, "two lanes ran at once");
    assert.equal(overlapping, 0, "batches running together never share a key");
  });

  it("with lanes, retries a failing batch in place while the other lane goes on", async () => {
    const poisoned = new Set<string>();
    let failures = 3;
    let handledMeanwhile = 0;
    const seqsBySubject = new Map<string, number[]>();
    const handled = () => [...seqsBySubject.values()].reduce((n, seqs) => n + seqs.length, 0);
    const { durable } = await run("lead", async (batch) => {
      // the first batch to arrive fails three times: its lane waits, the other lane does not
      if (poisoned.size === 0) for (const m of batch) poisoned.add(m.subject);
      if (failures > 0 && batch.some((m) => poisoned.has(m.subject))) {
        failures--;
        handledMeanwhile = handled();
        throw new Error("database unavailable");
      }
      for (const m of batch) seqsBySubject.set(m.subject, [...(seqsBySubject.get(m.subject) ?? []), m.seq]);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, batchSize: 10, lanes: 2 });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => bus.publisher.publish("events", bus.names.eventSubject("lead", `retry${i % 8}`), { i }, { msgId: `lane-retry-${i}` })),
    );
    const total = (await bus.jsm.streams.info(bus.names.events("lead"))).state.messages;
    await eventually(async () => (handled() >= total && (await pendingOf("lead", durable)) === 0 ? true : undefined), 15_000, "recovered");
    assert.equal(failures, 0, "the poisoned lane failed three times, then went through");
    assert.ok(handledMeanwhile > 0, "the other lane handled messages while the first was retrying");
    assert.equal(handled(), total, "each message once");
    for (const [subject, seqs] of seqsBySubject) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${subject} in stream order`);
  });

  it("stop() finishes the batch in flight, acks it, and can be called twice", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: number[] = [];
    const { runner, durable } = await run("interaction", async (batch) => {
      await gate;
      for (const m of batch) handled.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    });
    await publish("interaction", 20);
    await eventually(async () => ((await bus.jsm.consumers.info(bus.names.events("interaction"), durable)).num_ack_pending === 20 ? true : undefined), 5000);
    await new Promise((r) => setTimeout(r, 100)); // delivered by the server: let them reach the client
    const stopped = runner.stop();
    assert.equal(runner.stop(), stopped, "same promise");
    setTimeout(release, 200);
    await stopped;
    assert.equal(handled.length, 20, "every message received was handled before stop resolved");
    // the server applies acks asynchronously; well inside ack_wait (2 s) none may remain pending
    await eventually(async () => ((await bus.jsm.consumers.info(bus.names.events("interaction"), durable)).num_ack_pending === 0 ? true : undefined), 1000, "acks applied");
  });

  it("sends a handler's replies with the acks, in stream order", async () => {
    const inbox = createInbox();
    const sub = bus.nc.subscribe(inbox, { max: 5 });
    const replies = (async () => {
      const got: string[] = [];
      for await (const m of sub) got.push(new TextDecoder().decode(m.data));
      return got;
    })();
    const mine = bus.names.eventSubject("customer", "reply-test");
    const { durable } = await run("customer", async (batch) =>
      // the stream holds earlier tests' messages too: answer only this test's
      batch.map((m) => (m.subject === mine ? { kind: "ack", reply: { subject: inbox, value: m.seq } } : { kind: "ack" }) as Outcome),
    );
    const acks = await Promise.all(Array.from({ length: 5 }, (_, i) => bus.publisher.publish("events", mine, { i }, { msgId: `reply-${i}` })));
    assert.deepEqual(await replies, acks.map((a) => String(a.seq)));
    await eventually(async () => ((await pendingOf("customer", durable)) === 0 ? true : undefined), 5000, "acked");
  });

  it("hands a reply to a caller waiting in its own process, without publishing it", async () => {
    const waiter = bus.replies.expect("local-reply", 10_000);
    const wire = bus.nc.subscribe(waiter.replyTo);
    let onWire = 0;
    void (async () => {
      for await (const _ of wire) onWire++;
    })();
    const mine = bus.names.eventSubject("customer", "local-reply");
    await run("customer", async (batch) =>
      batch.map((m) => (m.subject === mine ? { kind: "ack", reply: { subject: waiter.replyTo, value: { seq: m.seq } } } : { kind: "ack" }) as Outcome),
    );
    const ack = await bus.publisher.publish("events", mine, {}, { msgId: "local-reply-1" });
    assert.deepEqual(await waiter.result, { seq: ack.seq });
    await bus.nc.flush();
    assert.equal(onWire, 0, "nothing went through nats-server");
    wire.unsubscribe();
  });

  it("replies at once but acks only when the handler's `durable` resolves, and a stop waits for it", async () => {
    let onDisk!: () => void;
    const durable = new Promise<void>((r) => (onDisk = r));
    const waiter = bus.replies.expect("durable-reply", 10_000);
    const mine = bus.names.eventSubject("lead", "durable");
    const { runner, durable: name } = await run("lead", async (batch) =>
      batch.map((m) => (m.subject === mine ? { kind: "ack", durable, reply: { subject: waiter.replyTo, value: m.seq } } : { kind: "ack" }) as Outcome),
    );
    const acks = await Promise.all(Array.from({ length: 3 }, (_, i) => bus.publisher.publish("events", mine, { i }, { msgId: `durable-${i}` })));
    assert.equal(await waiter.result, acks[0]!.seq, "answered before the commit is on disk");
    const ackPending = async () => (await bus.jsm.consumers.info(bus.names.events("lead"), name)).num_ack_pending;
    await eventually(async () => ((await ackPending()) === 3 ? true : undefined), 5000, "all three delivered");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await ackPending(), 3, "none acked before `durable` resolved");
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 2_500)); // past the last pull request's expiry
    assert.equal(stopped, false, "the stop waits for the acks");
    onDisk();
    await stopping;
    await eventually(async () => ((await ackPending()) === 0 ? true : undefined), 2000, "acked once on disk");
  });

  it("naks when the handler's `durable` rejects, so the message is handled again", async () => {
    const deliveries: number[] = [];
    const mine = bus.names.eventSubject("metric", "durable-fails");
    const { durable: name } = await run("metric", async (batch) =>
      batch.map((m) => {
        if (m.subject !== mine) return { kind: "ack" } as Outcome;
        deliveries.push(m.info.deliveryCount);
        const durable = m.info.deliveryCount === 1 ? Promise.reject(new Error("flush failed")) : Promise.resolve();
        return { kind: "ack", durable } as Outcome;
      }),
    );
    await bus.publisher.publish("events", mine, {}, { msgId: "durable-fails-1" });
    await eventually(async () => ((await pendingOf("metric", name)) === 0 && deliveries.length === 2 ? true : undefined), 5000, "handled twice, then acked");
    assert.deepEqual(deliveries, [1, 2]);
  });

  it("keeps a failed ordered batch's messages while it retries them one by one for longer than ack_wait", async () => {
    const mine = bus.names.eventSubject("lead", "one-by-one");
    const handled: number[] = [];
    const deliveries: number[] = [];
    const { durable } = await run("lead", async (batch) => {
      // the stream holds earlier tests' messages too: only this test's are slow, and fail together
      const own = batch.filter((m) => m.subject === mine);
      for (const m of own) deliveries.push(m.info.deliveryCount);
      if (own.length > 1) throw new Error("one of these is poison");
      for (const m of own) {
        await new Promise((r) => setTimeout(r, 100));
        handled.push(m.seq);
      }
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, ackWaitMs: 1000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => bus.publisher.publish("events", mine, { i }, { msgId: `one-by-one-${i}` })));
    await eventually(async () => (handled.length >= 20 && (await pendingOf("lead", durable)) === 0 ? true : undefined), 15_000, "all handled");
    await new Promise((r) => setTimeout(r, 1500)); // a redelivery would have come by now
    assert.equal(Math.max(...deliveries), 1, "none redelivered while it waited its turn (2 s of work, ack_wait 1 s)");
    assert.deepEqual(handled, [...new Set(handled)].sort((a, b) => a - b), "each once, in order");
  });
  it("when ordered, acks cumulatively: one ack per batch at most, never past a message a slower lane has not finished", async () => {
    const stream = bus.names.events("metric");
    const slow = bus.names.eventSubject("metric", "slow");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const finished: number[] = [];
    let batches = 0;
    const durable = `d${++durableCount}`;
    const acks = bus.nc.subscribe(`$JS.ACK.${stream}.${durable}.>`);
    let ackCount = 0;
    void (async () => {
      for await (const _ of acks) ackCount++;
    })();
    await run("metric", async (batch) => {
      batches++;
      if (batch.some((m) => m.subject === slow)) await gate;
      for (const m of batch) finished.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, batchSize: 10, lanes: 2, durable });
    const [first] = await Promise.all([
      bus.publisher.publish("events", slow, { i: 0 }, { msgId: "cumulative-slow" }),
      ...Array.from({ length: 60 }, (_, i) => bus.publisher.publish("events", bus.names.eventSubject("metric", `fast${i % 6}`), { i }, { msgId: `cumulative-${i}` })),
    ]);
    await eventually(async () => (finished.some((seq) => seq > first!.seq) ? true : undefined), 5000, "the other lane finishing later messages");
    await new Promise((r) => setTimeout(r, 300));
    const held = await bus.jsm.consumers.info(stream, durable);
    assert.equal(held.config.ack_policy, AckPolicy.All);
    assert.ok(held.ack_floor.stream_seq < first!.seq, `ack floor ${held.ack_floor.stream_seq} stays below the unfinished message ${first!.seq}`);
    release();
    const total = (await bus.jsm.streams.info(stream)).state.messages;
    await eventually(async () => (finished.length >= total && (await pendingOf("metric", durable)) === 0 ? true : undefined), 10_000, "all acked");
    await bus.nc.flush();
    assert.ok(ackCount >= 1 && ackCount <= batches, `${ackCount} acks for ${batches} batches of ${total} messages`);
    acks.unsubscribe();
  });

  it("when ordered, recreates a consumer made with explicit acks at its ack floor", async () => {
    const stream = bus.names.events("interaction");
    const durable = `d${++durableCount}`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => bus.publisher.publish("events", bus.names.eventSubject("interaction", `legacy${i % 3}`), { i }, { msgId: `legacy-${i}` })));
    await bus.jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit });
    const legacy = await bus.js.consumers.get(stream, durable);
    const early: number[] = [];
    for await (const m of await legacy.fetch({ max_messages: 5, expires: 2000 })) {
      m.ack();
      early.push(m.seq);
    }
    await bus.nc.flush();
    await eventually(async () => ((await bus.jsm.consumers.info(stream, durable)).ack_floor.stream_seq === early.at(-1) ? true : undefined), 2000, "explicit acks applied");
    const seen: number[] = [];
    await run("interaction", async (batch) => {
      for (const m of batch) seen.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, durable });
    const total = (await bus.jsm.streams.info(stream)).state.messages;
    await eventually(async () => (seen.length >= total - early.length && (await pendingOf("interaction", durable)) === 0 ? true : undefined), 10_000, "the rest handled");
    assert.equal((await bus.jsm.consumers.info(stream, durable)).config.ack_policy, AckPolicy.All);
    assert.equal(Math.min(...seen), early.at(-1)! + 1, "from the ack floor on: nothing acked before is handled again");
    assert.equal(seen.length, total - early.length);
  });

  it("when ordered and stopped while a batch fails, leaves it unacked; the next leader takes it up, in order", async () => {
    const stream = bus.names.events("customer");
    const mine = bus.names.eventSubject("customer", "stop-fail");
    const durable = `d${++durableCount}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const firstRun: number[] = [];
    let failing = false;
    const { runner } = await run("customer", async (batch) => {
      if (batch.some((m) => m.subject === mine)) {
        failing = true;
        await gate;
        throw new Error("database unavailable");
      }
      for (const m of batch) firstRun.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, durable });
    const published = await Promise.all(Array.from({ length: 5 }, (_, i) => bus.publisher.publish("events", mine, { i }, { msgId: `stop-fail-${i}` })));
    await eventually(async () => (failing ? true : undefined), 10_000, "the batch with them running");
    const stopped = runner.stop();
    release();
    await stopped;
    const left = await bus.jsm.consumers.info(stream, durable);
    assert.ok(left.ack_floor.stream_seq < published[0]!.seq, "the failed batch is not acked");
    assert.ok(!firstRun.some((seq) => seq >= published[0]!.seq), "nothing after it ran");

    const secondRun: number[] = [];
    await run("customer", async (batch) => {
      for (const m of batch) secondRun.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, durable });
    await eventually(async () => ((await pendingOf("customer", durable)) === 0 ? true : undefined), 10_000, "the next leader finished them");
    const mineAgain = secondRun.filter((seq) => published.some((p) => p.seq === seq));
    assert.deepEqual(mineAgain, published.map((p) => p.seq), "each of them once, in order");
  });

  it("when ordered and its leader lock is lost mid-batch, acks nothing more; leading again, it takes the batch up from the ack floor", async () => {
    const stream = bus.names.events("customer");
    const mine = bus.names.eventSubject("customer", "lock-lost");
    const durable = `d${++durableCount}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached = false;
    const handled: number[] = [];
    await run("customer", async (batch) => {
      if (batch.some((m) => m.subject === mine)) {
        reached = true;
        await gate;
      }
      for (const m of batch) if (m.subject === mine) handled.push(m.seq);
      return batch.map(() => ({ kind: "ack" }) as Outcome);
    }, { ordered: true, durable });
    const published = await Promise.all(Array.from({ length: 5 }, (_, i) => bus.publisher.publish("events", mine, { i }, { msgId: `lock-lost-${i}` })));
    await eventually(async () => (reached ? true : undefined), 10_000, "the batch with them running");
    // what a dropped connection does to the lock: the session ends, and the lock with it
    const c = new pg.Client({ connectionString: config.DATABASE_URL });
    await c.connect();
    const { rowCount } = await c.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
      [`runner-test:${config.STREAM_PREFIX}:${durable}`],
    );
    await c.end();
    assert.equal(rowCount, 1, "the leader's lock session was found");
    await new Promise((r) => setTimeout(r, 200));
    release();
    const seqs = published.map((p) => p.seq);
    await eventually(async () => (handled.length >= 10 && (await pendingOf("customer", durable)) === 0 ? true : undefined), 15_000, "handled again and acked");
    assert.deepEqual(handled, [...seqs, ...seqs], "once in the lost term (committed, not acked), once more from the ack floor");
    assert.ok((await bus.jsm.consumers.info(stream, durable)).ack_floor.stream_seq >= seqs.at(-1)!);
  });
});
