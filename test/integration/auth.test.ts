import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

describe("auth API", () => {
  const config = isolatedConfig({ RATE_LIMIT_IP_PER_HOUR: "1000" });
  let platform: Platform;
  let anon: ReturnType<typeof client>;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
    anon = client(platform.url!);
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("registers, logs in by username or email, and identifies the user by token and by API key", async () => {
    const reg = await anon.post("/api/auth/register", { username: "ada", email: "Ada@Example.com", password: "s3cret-pass" });
    assert.equal(reg.status, 201);
    assert.equal(reg.body.message, "User registered successfully");
    assert.match(reg.body.api_key, /^tc_[A-Za-z0-9_-]{32}$/);

    const byName = await anon.post("/api/auth/login", { username: "ada", password: "s3cret-pass" });
    assert.equal(byName.status, 200);
    assert.equal(byName.body.user_id, reg.body.user_id);
    assert.equal(byName.body.expires_in, 86400);
    const byEmail = await anon.post("/api/auth/login", { username: "ada@example.com", password: "s3cret-pass" });
    assert.equal(byEmail.status, 200);

    const viaToken = await client(platform.url!, { token: byName.body.access_token }).get("/api/auth/user");
    assert.equal(viaToken.status, 200);
    assert.equal(viaToken.body.username, "ada");
    assert.equal(viaToken.body.email, "ada@example.com");
    assert.equal(viaToken.body.credits_remaining, 1000);
    assert.ok(reg.body.api_key.startsWith(viaToken.body.api_key.replace("…", "")), "shows the key's prefix only");

    const viaKey = await client(platform.url!, { apiKey: reg.body.api_key }).get("/api/auth/validate");
    assert.equal(viaKey.status, 200);
    assert.equal(viaKey.body.valid, true);
    assert.equal(viaKey.body.user_id, reg.body.user_id);
    assert.equal(viaKey.body.rate_limit.remaining, 999);
    assert.ok(viaKey.body.rate_limit.reset > Date.now() / 1000);
    assert.equal(viaKey.headers.get("x-ratelimit-limit"), "1000");
  });

  it("stores passwords and keys only as hashes", async () => {
    const reg = await anon.post("/api/auth/register", { username: "grace", email: "grace@example.com", password: "another-pass" });
    const user = await platform.db("users").where({ id: reg.body.user_id }).first();
    assert.match(user.password_hash, /^scrypt\$/);
    assert.ok(!user.password_hash.includes("another-pass"));
    const key = await platform.db("api_keys").where({ user_id: reg.body.user_id }).first();
    assert.equal(key.key_hash.length, 64);
    assert.notEqual(key.key_hash, reg.body.api_key);
  });

  it("refuses duplicates, bad input, wrong passwords, and forged or expired tokens with canonical errors", async () => {
    await anon.post("/api/auth/register", { username: "linus", email: "linus@example.com", password: "pass-word" });
    const dup = await anon.post("/api/auth/register", { username: "linus", email: "other@example.com", password: "pass-word" });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, "CONFLICT");
    assert.deepEqual(dup.body.details, { field: "username" });

    const bad = await anon.post("/api/auth/register", { username: "x", email: "not-an-email", password: "123", admin: true });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, "INVALID_INPUT");
    assert.deepEqual(Object.keys(bad.body.details).sort(), ["admin", "email", "password", "username"]);
    assert.deepEqual(bad.body.details.admin, ["unknown field"]);
    for (const key of ["status", "error", "code", "message", "details", "request_id", "timestamp"]) assert.ok(key in bad.body, key);

    const wrong = await anon.post("/api/auth/login", { username: "linus", password: "nope-nope" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, "AUTHENTICATION_REQUIRED");
    const nobody = await anon.post("/api/auth/login", { username: "nobody", password: "nope-nope" });
    assert.equal(nobody.status, 401);

    const forged = await new SignJWT({ username: "linus" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("1")
      .setIssuer("tidecast")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("not-the-secret"));
    assert.equal((await client(platform.url!, { token: forged }).get("/api/auth/user")).status, 401);

    const expired = await new SignJWT({ username: "linus" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("1")
      .setIssuer("tidecast")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(config.JWT_SECRET));
    const exp = await client(platform.url!, { token: expired }).get("/api/auth/user");
    assert.equal(exp.status, 401);
    assert.equal(exp.body.message, "Invalid or expired token");

    assert.equal((await client(platform.url!, { apiKey: "tc_wrong" }).get("/api/auth/user")).status, 401);
    assert.equal((await anon.get("/api/auth/user")).status, 401);
  });

  it("rate-limits each API key, except an admin's", async () => {
    const cfg = isolatedConfig({ RATE_LIMIT_API_KEY_PER_HOUR: "3" });
    const p = await startTestPlatform(cfg, { api: true, pipelines: [] });
    try {
      const user = await signedInClient(p);
      const admin = await signedInClient(p, "admin");
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await user.http.get("/api/auth/user")).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      for (let i = 0; i < 6; i++) {
        const res = await admin.http.get("/api/auth/user");
        assert.equal(res.status, 200, `admin request ${i + 1}`);
        assert.equal(res.headers.get("x-ratelimit-limit"), null, "an admin is not counted");
      }
    } finally {
      await p.close();
      await dropIsolated(cfg);
    }
  });

  it("rate-limits the sign-in routes per IP", async () => {
    const cfg = isolatedConfig({ RATE_LIMIT_IP_PER_HOUR: "3" });
    const p = await startTestPlatform(cfg, { api: true, pipelines: [] });
    try {
      const c = client(p.url!);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await c.post("/api/auth/login", { username: "a", password: "bbbbbb" })).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const limited = await c.post("/api/auth/login", { username: "a", password: "bbbbbb" });
      assert.equal(limited.body.code, "RATE_LIMIT_EXCEEDED");
      assert.ok(Number(limited.headers.get("retry-after")) > 0);
    } finally {
      await p.close();
      await dropIsolated(cfg);
    }
  });
});
