import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { createState, step, type DetectorState, type StepResult } from "../../src/anomaly/detector/index.ts";
import type { Platform } from "../../src/platform.ts";
import { decodeJson, type EventEnvelope } from "../../src/streams/index.ts";
import { StateCache } from "../../pipelines/state-cache.ts";
import { lockStates, packState, saveStates, type SeriesState } from "../../pipelines/anomaly/state.ts";
import { toPoint } from "../../pipelines/anomaly/point.ts";
import { isInjectedSpike, metricEvents } from "../fixtures/metric-events.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

const ROLES = { api: false, pipelines: ["anomaly"] };

/** The fixture's events under other keys and ids, so each test has series of its own. */
function renamed(events: EventEnvelope[], prefix: string): EventEnvelope[] {
  return events.map((e) => ({ ...e, id: `${prefix}-${e.id}`, key: `${prefix}-${e.key}` }));
}

/** The detector run directly over each series' points, in order, without interruption: what eval:nab does. */
function reference(events: readonly EventEnvelope[]) {
  const states = new Map<string, DetectorState>();
  const alarms: Array<{ series_id: string; message_id: string; value: number; score: number; severity: string; ts: string }> = [];
  for (const e of events) {
    const { timestamp, value } = (toPoint(e) as { ok: true; point: { timestamp: number; value: number } }).point;
    if (!states.has(e.key)) states.set(e.key, createState());
    const r: StepResult = step(states.get(e.key)!, timestamp, value);
    if (r.alarm) alarms.push({ series_id: e.key, message_id: e.id, value, score: r.score, severity: r.severity!, ts: new Date(timestamp).toISOString() });
  }
  return { states, alarms };
}

describe("the anomaly pipeline", () => {
  const config = isolatedConfig();
  let platform: Platform;

  before(async () => {
    platform = await startTestPlatform(config, ROLES);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  const publish = (events: readonly EventEnvelope[]) =>
    Promise.all(events.map((e) => platform.bus.publisher.publish("events", platform.bus.names.eventSubject("metric", e.key), e, { msgId: e.id })));
  const pointsSeen = async (seriesId: string) => Number((await platform.db("series_state").where({ series_id: seriesId }).first())?.points_seen ?? 0);
  const waitFor = (seriesId: string, points: number) =>
    eventually(async () => ((await pointsSeen(seriesId)) === points ? true : undefined), 30_000, `${points} points of ${seriesId}`);
  const storedHistory = async (seriesId: string): Promise<Buffer> =>
    (
      await platform.db.raw(
        `SELECT s.history_first || coalesce((SELECT string_agg(points, ''::bytea ORDER BY chunk) FROM series_history h WHERE h.series_id = s.series_id), ''::bytea) AS h
           FROM series_state s WHERE s.series_id = ?`,
        [seriesId],
      )
    ).rows[0].h;
  const anomalies = (seriesId: string) => platform.db("anomalies").where({ series_id: seriesId }).orderBy("stream_seq");

  /** The stored state and anomalies of `seriesIds` match an uninterrupted run of the detector. */
  async function assertMatchesReference(events: EventEnvelope[], seriesIds: string[]) {
    const ref = reference(events);
    for (const id of seriesIds) {
      const row = await platform.db("series_state").where({ series_id: id }).first();
      const packed = packState(ref.states.get(id)!);
      assert.deepEqual(row.state, JSON.parse(JSON.stringify(packed.state)), `${id}: detector state`);
      assert.ok(Buffer.compare(await storedHistory(id), packed.history) === 0, `${id}: history bytes`);
      assert.equal(Number(row.points_seen), ref.states.get(id)!.count);
      assert.equal(row.last_timestamp.getTime(), ref.states.get(id)!.lastTimestamp);
      const stored = (await anomalies(id)).map((a) => ({ series_id: a.series_id, message_id: a.message_id, value: a.value, score: a.score, severity: a.severity, ts: a.ts.toISOString() }));
      assert.deepEqual(stored, ref.alarms.filter((a) => a.series_id === id), `${id}: anomalies`);
    }
  }

  it("turns an injected spike into one anomaly row with expected, actual and an explanation, and one alert on alerts.anomaly", async () => {
    const events = renamed(metricEvents(1000, 1), "spike");
    const seriesId = events[0]!.key;
    const seen: Array<Record<string, unknown>> = [];
    const sub = platform.bus.nc.subscribe(platform.bus.names.alertSubject("anomaly"), { callback: (_e, m) => void seen.push(decodeJson(m.data) as Record<string, unknown>) });
    await publish(events);
    await waitFor(seriesId, 1000);

    const rows = await anomalies(seriesId);
    assert.equal(rows.length, 1, "the fixture's one spike, nothing else");
    const [a] = rows;
    const spike = events.findIndex((_, i) => isInjectedSpike(i));
    assert.equal(a.message_id, events[spike]!.id);
    assert.equal(a.value, events[spike]!.data.value);
    assert.equal(a.ts.toISOString(), events[spike]!.data.timestamp, "the point's own time");
    assert.ok(a.value > a.upper && a.upper > a.expected && a.expected > a.lower, JSON.stringify(a));
    assert.ok(a.stddev > 0 && a.score >= 0.9);
    assert.equal(a.severity, "critical");
    assert.match(a.explanation, /^value \S+ is \d+\.\dσ above the expected \S+ ± \S+ of the previous 16 points; value \S+ is \d+% of the range above the highest value/);
    await assertMatchesReference(events, [seriesId]);

    const alerts = await platform.db("alerts").where({ entity_id: seriesId });
    assert.equal(alerts.length, 1);
    assert.deepEqual([alerts[0].type, alerts[0].severity, alerts[0].entity_type, alerts[0].dedup_key], ["anomaly", "critical", "metric_series", `anomaly:${a.message_id}`]);
    assert.equal(alerts[0].data.explanation, a.explanation);
    await eventually(async () => (seen.length === 1 ? true : undefined), 5000, "the alert on alerts.anomaly");
    assert.equal(seen[0]!.entity_id, seriesId);
    assert.equal(seen[0]!.severity, "critical");
    sub.unsubscribe();
  });

  it("keeps detector state across a restart: the results equal an uninterrupted run", async () => {
    const events = renamed(metricEvents(2 * 1000, 2), "restart");
    const ids = [events[0]!.key, events[1]!.key];
    await publish(events.slice(0, 1300)); // 650 points of each series: still learning
    await waitFor(ids[1]!, 650);
    await platform.close();
    platform = await startTestPlatform(config, ROLES);
    await publish(events.slice(1300));
    await waitFor(ids[0]!, 1000);
    await waitFor(ids[1]!, 1000);
    await assertMatchesReference(events, ids);
    assert.equal((await platform.db("anomalies").whereIn("series_id", ids)).length, 2, "each series' spike");
  });

  it("uses a process's cached state only while no other process has applied a point since", async () => {
    const seriesId = "cache-series";
    const mine = new StateCache<SeriesState>(10, (s) => s.seriesId);
    const other = new StateCache<SeriesState>(10, (s) => s.seriesId);
    const apply = (cache: StateCache<SeriesState>, seq: number, value: number) =>
      platform.db.transaction(async (trx) => {
        const states = await lockStates(trx, [seriesId], cache);
        const state = states.get(seriesId)!;
        step(state.detector, seq * 60_000, value);
        state.lastSeq = seq;
        await saveStates(trx, [state]);
        return states;
      });
    mine.put((await apply(mine, 1, 10)).values());
    other.put((await apply(other, 2, 20)).values()); // another leader, meanwhile
    const states = await apply(mine, 3, 30);
    assert.deepEqual(states.get(seriesId)!.detector.history, [10, 20, 30], "read again, not the stale cached copy");
    mine.put(states.values());

    const failed = platform.db.transaction(async (trx) => {
      const state = (await lockStates(trx, [seriesId], mine)).get(seriesId)!;
      step(state.detector, 4 * 60_000, 40);
      throw new Error("the batch failed after stepping");
    });
    await assert.rejects(failed, /the batch failed/);
    const after = await platform.db.transaction((trx) => lockStates(trx, [seriesId], mine));
    assert.deepEqual(after.get(seriesId)!.detector.history, [10, 20, 30], "a failed batch leaves no stepped state behind");
  });

  it("dead-letters a bad point without stalling its series, and applies late points in stream order", async () => {
    const js = jetstream(platform.bus.nc);
    const seriesId = "bad-series";
    const subject = platform.bus.names.eventSubject("metric", seriesId);
    const t0 = Date.parse("2026-11-02T00:00:00Z");
    const point = (i: number, data: Record<string, unknown>) =>
      JSON.stringify({ id: `bad-${i}`, domain: "metric", key: seriesId, type: "sample", data, timestamp: new Date(t0 + i * 60_000).toISOString() });
    const bodies = [
      point(0, { value: 1 }),
      point(1, { value: 2 }),
      "not json",
      point(3, { value: "3" }),
      point(4, { value: 4, timestamp: "tomorrow" }),
      point(5, { value: 5, timestamp: t0 - 3_600_000 }), // an hour older than the points before it
      point(6, { value: 6 }),
    ];
    for (const [i, body] of bodies.entries()) await js.publish(subject, body, { msgID: `bad-${i}` });
    await waitFor(seriesId, 4);
    const row = await platform.db("series_state").where({ series_id: seriesId }).first();
    assert.equal(Number(row.late_points), 1);
    assert.equal(row.last_timestamp.toISOString(), new Date(t0 + 6 * 60_000).toISOString(), "the last point's time");
    assert.equal((await storedHistory(seriesId)).length, 4 * 8, "points 0, 1, 5 and 6 in the history");

    const dlq = await eventually(async () => {
      const info = await platform.bus.jsm.streams.info(platform.bus.names.dlq);
      return info.state.messages >= 3 ? info : undefined;
    }, 20_000, "three dead letters");
    assert.equal(dlq.state.messages, 3);
    const errors: string[] = [];
    for (let seq = dlq.state.first_seq; seq <= dlq.state.last_seq; seq++) {
      const m = await platform.bus.jsm.streams.getMessage(platform.bus.names.dlq, { seq });
      assert.equal(m!.header.get("Tidecast-Dlq-Consumer"), "anomaly");
      assert.equal(m!.header.get("Tidecast-Dlq-Deliveries"), "1", "an invalid point is not retried");
      errors.push(m!.header.get("Tidecast-Dlq-Error"));
    }
    assert.match(errors[0]!, /not a metric event/);
    assert.match(errors[1]!, /data\.value/);
    assert.match(errors[2]!, /data\.timestamp/);
  });
});
