import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { insertAlerts } from "../../src/alerts/index.ts";
import type { ConsoleAlert, MetricsFrame } from "../../src/console/index.ts";
import type { Platform } from "../../src/platform.ts";
import { connectConsole, consoleUser, LOYAL, publishCustomerEvent, RISKY, steadyEvents, type ConsoleSocket } from "../browser/helpers.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

const refusedWith = async (promise: Promise<unknown>, code: string) => {
  await assert.rejects(promise, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    return true;
  });
};

describe("console socket", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let analyst: Awaited<ReturnType<typeof consoleUser>>;

  before(async () => {
    platform = await startTestPlatform(config);
    analyst = await consoleUser(platform, "analyst");
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("refuses a handshake without a session, with a forged or expired token, and for a role outside the console", async () => {
    const url = platform.url!;
    await refusedWith(connectConsole(url), "AUTHENTICATION_REQUIRED");
    await refusedWith(connectConsole(url, { token: "not-a-jwt" }), "AUTHENTICATION_REQUIRED");
    const sign = (secret: string, expiresAt: number) =>
      new SignJWT({ username: analyst.username })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(String(analyst.userId))
        .setIssuer("tidecast")
        .setIssuedAt(expiresAt - 60)
        .setExpirationTime(expiresAt)
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    await refusedWith(connectConsole(url, { token: await sign("someone-elses-secret-of-32-characters", now + 600) }), "AUTHENTICATION_REQUIRED");
    await refusedWith(connectConsole(url, { token: await sign(config.JWT_SECRET, now - 10) }), "AUTHENTICATION_REQUIRED");
    await refusedWith(connectConsole(url, { cookie: "tidecast_session=forged.token.value" }), "AUTHENTICATION_REQUIRED");
    // the same tokens are refused on HTTP
    const expired = await fetch(`${url}/api/auth/user`, { headers: { Authorization: `Bearer ${await sign(config.JWT_SECRET, now - 10)}` } });
    assert.equal(expired.status, 401);
    const user = await consoleUser(platform, "user");
    await refusedWith(connectConsole(url, { token: user.token }), "INSUFFICIENT_PERMISSIONS");

    // a socket does not outlive its token (its expiry counted from now: the refusals above take a while on a busy machine)
    const { socket } = await connectConsole(url, { token: await sign(config.JWT_SECRET, Math.floor(Date.now() / 1000) + 3) });
    const reason = await new Promise<string>((resolve) => socket.once("disconnect", resolve));
    assert.equal(reason, "io server disconnect");
  });

  it("sends a snapshot on connect, then at most one metrics frame a second while events flow", async () => {
    const { socket, snapshot } = await connectConsole(platform.url!, { cookie: analyst.cookie });
    assert.deepEqual(snapshot.user, { id: analyst.userId, username: analyst.username, role: "analyst" });
    assert.deepEqual(snapshot.permissions, { manageAlerts: false, managePipelines: false, manageJobs: false, manageModels: false });
    assert.ok(Array.isArray(snapshot.frames) && Array.isArray(snapshot.alerts));

    const frames: Array<{ at: number; frame: MetricsFrame }> = [];
    socket.on("metrics", (frame) => frames.push({ at: Date.now(), frame }));
    const load = steadyEvents(platform, 100, "flow");
    await new Promise((r) => setTimeout(r, 5_000));
    load.stop();
    socket.close();

    assert.ok(frames.length >= 3 && frames.length <= 6, `${frames.length} frames in 5 s`);
    for (let i = 1; i < frames.length; i++) {
      assert.ok(frames[i]!.at - frames[i - 1]!.at >= 800, "frames are at least a second apart (less the timers' jitter)");
    }
    const busiest = Math.max(...frames.map((f) => f.frame.eventsPerSec.EVENTS_CUSTOMER ?? 0));
    assert.ok(busiest > 20, `customer events/s reached ${busiest}`);
    const churn = frames.at(-1)!.frame.pipelines.churn!;
    assert.equal(churn.stream, "EVENTS_CUSTOMER");
    assert.ok(churn.pending !== null && churn.pending >= 0);
    assert.ok(frames.at(-1)!.frame.processes >= 1);
  });

  it("pushes an alert the churn pipeline raised within 2 s, and a reconnecting client catches up from its snapshot", async (t) => {
    const { socket } = await connectConsole(platform.url!, { token: analyst.token });
    const received: Array<{ at: number; alert: ConsoleAlert }> = [];
    socket.on("alerts", (alerts) => alerts.forEach((alert) => received.push({ at: Date.now(), alert })));
    await publishCustomerEvent(platform, "sock-1", "sock-1-a", LOYAL);
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    await publishCustomerEvent(platform, "sock-1", "sock-1-b", RISKY, "contract");
    const deadline = Date.now() + 5_000;
    while (!received.some((r) => r.alert.entity_id === "sock-1") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const hit = received.find((r) => r.alert.entity_id === "sock-1");
    assert.ok(hit, "alert arrived on the socket");
    assert.equal(hit.alert.type, "churn_risk");
    assert.ok(hit.at - sent < 2_000, `alert took ${hit.at - sent} ms`);
    t.diagnostic(`alert on the socket ${hit.at - sent} ms after its event was published`);
    socket.close();

    // while no client is connected another alert is raised; the next connect's snapshot has it
    await publishCustomerEvent(platform, "sock-2", "sock-2-a", LOYAL);
    await publishCustomerEvent(platform, "sock-2", "sock-2-b", RISKY, "contract");
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await connectConsole(platform.url!, { token: analyst.token });
    assert.ok(again.snapshot.alerts.some((a) => a.entity_id === "sock-2"), "snapshot carries the alert raised while away");
    assert.ok(again.snapshot.frames.length > 0, "and the recent metrics window");
    const resynced = await again.socket.emitWithAck("resync");
    assert.equal(resynced.user.role, "analyst");
    again.socket.close();
  });

  it("shows every console, on another API process too, an alert that one operator acknowledged and then resolved", async (t) => {
    // a second API process of the same install: the change must cross NATS, not an in-process emitter
    const other = await startTestPlatform(config, { api: true, pipelines: [] });
    t.after(() => other.close());
    const [stored] = await insertAlerts(platform.db, [
      {
        dedupKey: `console-status-${randomUUID()}`,
        type: "churn_risk",
        severity: "high",
        source: "test",
        entityType: "customer",
        entityId: "status-1",
        message: "moved along by an operator",
        data: {},
      },
    ]);
    assert.ok(stored);
    const operator = await consoleUser(platform, "operator");
    const acting = await connectConsole(platform.url!, { token: operator.token });
    const watching = await connectConsole(other.url!, { token: analyst.token });
    t.after(() => {
      acting.socket.close();
      watching.socket.close();
    });
    assert.equal(watching.snapshot.alerts.find((a) => a.id === stored.id)?.status, "open");

    const nextChange = (socket: ConsoleSocket) =>
      new Promise<ConsoleAlert>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no alerts:status within 3 s")), 3_000);
        const onChange = (alert: ConsoleAlert) => {
          if (alert.id !== stored.id) return;
          clearTimeout(timer);
          socket.off("alerts:status", onChange);
          resolve(alert);
        };
        socket.on("alerts:status", onChange);
      });
    const move = async (action: "acknowledge" | "resolve") => {
      const res = await fetch(`${platform.url}/api/v1/alerts/${stored.id}/${action}`, { method: "POST", headers: { Authorization: `Bearer ${operator.token}` } });
      assert.equal(res.status, 200, action);
      return (await res.json()) as ConsoleAlert;
    };

    // an analyst may not move it: refused, and the first change anyone is told of is the operator's
    const first = nextChange(watching.socket);
    const refused = await fetch(`${platform.url}/api/v1/alerts/${stored.id}/acknowledge`, { method: "POST", headers: { Authorization: `Bearer ${analyst.token}` } });
    assert.equal(refused.status, 403);

    for (const [action, status] of [["acknowledge", "acknowledged"], ["resolve", "resolved"]] as const) {
      const seen = Promise.all([nextChange(watching.socket), nextChange(acting.socket)]);
      const sent = Date.now();
      const answer = await move(action);
      const [there, here] = await seen;
      assert.equal(answer.status, status);
      assert.deepEqual(there, answer, "the other process's console gets the alert as stored");
      assert.deepEqual(here, answer, "and so does the acting operator's own");
      t.diagnostic(`${status} seen on the other API process's socket ${Date.now() - sent} ms after the request`);
      if (action === "acknowledge") assert.equal((await first).status, "acknowledged");
    }
    const resynced = await watching.socket.emitWithAck("resync");
    assert.equal(resynced.alerts.find((a) => a.id === stored.id)?.status, "resolved");
  });

  it("reads each consumer's ack floor on demand for operators, and refuses analysts", async () => {
    const refused = await connectConsole(platform.url!, { token: analyst.token });
    assert.deepEqual(await refused.socket.emitWithAck("pipelines:inspect"), { error: "Pipelines are for operators and admins" });
    refused.socket.close();

    const operator = await consoleUser(platform, "operator");
    const { socket } = await connectConsole(platform.url!, { token: operator.token });
    const result = await socket.emitWithAck("pipelines:inspect");
    socket.close();
    assert.ok("consumers" in result, JSON.stringify(result));
    const churn = result.consumers.find((c) => c.pipeline === "churn");
    assert.ok(churn, "the churn consumer is listed");
    assert.equal(churn.stream, "EVENTS_CUSTOMER");
    const { state } = await platform.bus.jsm.streams.info(platform.bus.names.events("customer"));
    assert.ok(churn.ackFloor > 0 && churn.ackFloor <= state.last_seq, `ack floor ${churn.ackFloor} of ${state.last_seq}`);
  });
});
