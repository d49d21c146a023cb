import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { LeasedRateLimiter } from "../../src/api/middleware/leased-limiter.ts";
import { SERVICES } from "../helpers/env.ts";

const HOUR_MS = 3_600_000;

describe("leased rate limiter (real Redis)", () => {
  const prefix = `T${randomUUID().replace(/-/g, "").slice(0, 10)}_rl:`;
  let redis: Redis;
  let commands = 0;

  before(async () => {
    redis = new Redis(SERVICES.redis);
    // counts what reaches Redis: the point of leasing is that most requests do not
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) => {
      commands++;
      return send(command, stream);
    }) as Redis["sendCommand"];
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("admits exactly the limit, counting down, then refuses until the window resets", async () => {
    const limiter = new LeasedRateLimiter(redis, prefix, 5, HOUR_MS);
    const decisions = [];
    for (let i = 0; i < 7; i++) decisions.push(await limiter.consume("a"));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, true, true, false, false]);
    assert.deepEqual(decisions.map((d) => d.remaining), [4, 3, 2, 1, 0, 0, 0]);
    const resetIn = decisions[6]!.resetAt - Date.now();
    assert.ok(resetIn > HOUR_MS - 60_000 && resetIn <= HOUR_MS, `window resets in about an hour, not ${resetIn} ms`);
    assert.equal(await redis.get(`${prefix}a`), "5");
  });

  it("asks Redis about once per lease, not once per request", async () => {
    const limiter = new LeasedRateLimiter(redis, prefix, 1_000_000, HOUR_MS);
    const before = commands;
    for (let i = 0; i < 1_000; i++) assert.ok((await limiter.consume("busy")).allowed);
    const used = commands - before;
    assert.ok(used <= 12, `1,000 requests took ${used} Redis commands`);
    assert.equal(Number(await redis.get(`${prefix}busy`)) >= 1_000, true);
  });

  it("never admits more than the limit across processes sharing a key, and wastes nothing when all keep asking", async () => {
    const a = new LeasedRateLimiter(redis, prefix, 100, HOUR_MS);
    const b = new LeasedRateLimiter(redis, prefix, 100, HOUR_MS);
    let admitted = 0;
    for (let i = 0; i < 150; i++) {
      if ((await a.consume("shared")).allowed) admitted++;
      if ((await b.consume("shared")).allowed) admitted++;
    }
    assert.equal(admitted, 100);
    assert.equal(await redis.get(`${prefix}shared`), "100");
  });

  it("shares one lease among concurrent requests and stays exact under a burst", async () => {
    const limiter = new LeasedRateLimiter(redis, prefix, 10, HOUR_MS);
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume("burst")));
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
    assert.equal(await redis.get(`${prefix}burst`), "10");
  });

  it("admits again once the window has passed", async () => {
    const limiter = new LeasedRateLimiter(redis, prefix, 2, 300);
    assert.ok((await limiter.consume("short")).allowed);
    assert.ok((await limiter.consume("short")).allowed);
    assert.equal((await limiter.consume("short")).allowed, false);
    await new Promise((r) => setTimeout(r, 400));
    assert.ok((await limiter.consume("short")).allowed);
  });

  it("fails (so the API lets the request pass) when Redis cannot be reached, keeping nothing from the failure", async () => {
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on("error", () => undefined);
    const limiter = new LeasedRateLimiter(down, prefix, 5, HOUR_MS);
    await assert.rejects(limiter.consume("x"));
    await assert.rejects(limiter.consume("x"), "a failed lease is not kept as an exhausted key");
    down.disconnect();
  });
});
