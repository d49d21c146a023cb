import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import type { Platform } from "../../src/platform.ts";
import { ensureConsoleBuilt } from "../browser/build.ts";
import { consoleUser } from "../browser/helpers.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";

/** The fields these tests read from JSON answers (error bodies, the user, bull-board's queue list). */
const json = async (res: Response) => (await res.json()) as { code?: string; status?: string; role?: string; queues?: unknown };

describe("console over HTTP", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let url: string;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(url + path, { headers, redirect: "manual" });
  const post = (path: string, headers: Record<string, string> = {}) => fetch(url + path, { method: "POST", headers, redirect: "manual" });

  before(async () => {
    ensureConsoleBuilt();
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
    url = platform.url!;
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("serves the built console at /console, with /monitoring leading there", async () => {
    for (const path of ["/console", "/monitoring"]) {
      const res = await get(path);
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get("location"), "/console/");
    }
    const page = await get("/console/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<tc-app>/);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const deepLink = await get("/console/alerts");
    assert.match(await deepLink.text(), /<tc-app>/, "paths without a file extension get the page");

    const script = readdirSync(join(ROOT_DIR, "console", "dist", "assets")).find((f) => f.endsWith(".js"))!;
    const asset = await get(`/console/assets/${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("content-type") ?? "", /javascript/);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    const missing = await get("/console/assets/nope.js");
    assert.equal(missing.status, 404);
    assert.equal((await json(missing)).code, "NOT_FOUND");
    const escape = await get("/console/..%2f..%2fpackage.json");
    assert.ok([403, 404].includes(escape.status), `a path out of the build folder is refused (${escape.status})`);
    assert.equal((await json(escape)).status, "error");
  });

  it("sets an httpOnly, SameSite=Strict session cookie on login that HTTP accepts, and clears it on logout", async () => {
    const analyst = await consoleUser(platform, "analyst");
    assert.match(analyst.setCookie, /^tidecast_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const me = await get("/api/auth/user", { Cookie: analyst.cookie });
    assert.equal(me.status, 200);
    assert.equal((await json(me)).role, "analyst");
    assert.equal((await get("/api/auth/user", { Cookie: "tidecast_session=forged" })).status, 401);
    const out = await post("/api/auth/logout", { Cookie: analyst.cookie });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /^tidecast_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
  });

  it("lets each role do only its own actions, whatever the page shows", async () => {
    const [analyst, operator] = await Promise.all([consoleUser(platform, "analyst"), consoleUser(platform, "operator")]);
    const unknownAlert = "/api/v1/alerts/00000000-0000-4000-8000-000000000000/acknowledge";
    assert.equal((await post(unknownAlert, { Cookie: analyst.cookie })).status, 403, "analysts read alerts only");
    assert.equal((await post(unknownAlert, { Cookie: operator.cookie })).status, 404, "operators may act (this alert does not exist)");
    assert.equal((await get("/api/v1/admin/dead-letters", { Cookie: analyst.cookie })).status, 403);
    assert.equal((await get("/api/v1/admin/dead-letters", { Cookie: operator.cookie })).status, 200);
    assert.equal((await get("/api/v1/models", { Cookie: analyst.cookie })).status, 200);
    // a page on another site cannot use the cookie for an action, even where SameSite is ignored
    const forged = await post(unknownAlert, { Cookie: operator.cookie, Origin: "https://evil.example" });
    assert.equal(forged.status, 401);
  });

  it("keeps bull-board at /admin/queues for admins: 401 without a session, 403 for other roles, 200 for admins", async () => {
    const [operator, admin] = await Promise.all([consoleUser(platform, "operator"), consoleUser(platform, "admin")]);
    const anonymous = await get("/admin/queues");
    assert.equal(anonymous.status, 401);
    assert.equal((await json(anonymous)).code, "AUTHENTICATION_REQUIRED");
    const browser = await get("/admin/queues", { Accept: "text/html" });
    assert.equal(browser.status, 302, "a browser without a session is sent to sign in");
    assert.equal(browser.headers.get("location"), "/console/?next=%2Fadmin%2Fqueues");
    assert.equal((await get("/admin/queues", { Cookie: "tidecast_session=forged" })).status, 401);

    const operatorCredentials: Array<Record<string, string>> = [{ Cookie: operator.cookie }, { Authorization: `Bearer ${operator.token}` }];
    for (const headers of operatorCredentials) {
      const page = await get("/admin/queues", headers);
      assert.equal(page.status, 403);
      assert.equal((await json(page)).code, "INSUFFICIENT_PERMISSIONS");
      // bull-board's own API, called directly, is closed to operators too
      assert.equal((await get("/admin/queues/api/queues", headers)).status, 403);
      assert.equal((await fetch(`${url}/admin/queues/api/queues/any/pause`, { method: "PUT", headers })).status, 403);
    }

    const page = await get("/admin/queues", { Cookie: admin.cookie, Accept: "text/html" });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Tidecast jobs/);
    const queues = await get("/admin/queues/api/queues", { Authorization: `Bearer ${admin.token}` });
    assert.equal(queues.status, 200);
    assert.ok(Array.isArray((await json(queues)).queues));
  });
});
