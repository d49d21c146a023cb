import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT_DIR } from "../../src/config.ts";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { ensureConsoleBuilt } from "./build.ts";
import { consoleUser, LOYAL, publishCustomerEvent, RISKY, steadyEvents } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(ROOT_DIR, "test", "browser", "screenshots");
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does it)`;

describe("the console in a browser", { skip }, () => {
  const config = isolatedConfig();
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let admin: Awaited<ReturnType<typeof consoleUser>>;
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    platform = await startTestPlatform(config);
    admin = await consoleUser(platform, "admin");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await platform?.close();
    await dropIsolated(config);
  });

  it("shows nothing but a sign-in without a session, then signs in", async () => {
    await page.goto(`${platform.url}/console/`);
    await page.waitForSelector("form.login");
    assert.equal(await page.locator("[data-testid=events-per-sec]").count(), 0);
    await page.fill("input[name=username]", admin.username);
    await page.fill("input[name=password]", "wrong password");
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=login-error]");
    await page.fill("input[name=password]", admin.password);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=connection]:has-text('live')");
  });

  it("moves the overview's numbers while events are published", async () => {
    const load = steadyEvents(platform, 100, "browser");
    // synchronous predictions too, so the latency line has something to show
    const predict = setInterval(() => {
      void fetch(`${platform.url}/api/predict/churn`, {
        method: "POST",
        headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month" }),
      }).catch(() => undefined);
    }, 100);
    const seen = new Set<string>();
    try {
      const deadline = Date.now() + 8_000;
      while (Date.now() < deadline && seen.size < 3) {
        seen.add(await page.locator("[data-testid=events-per-sec]").innerText());
        await page.waitForTimeout(400);
      }
    } finally {
      load.stop();
      clearInterval(predict);
    }
    const values = [...seen].map((v) => Number(v.replace(/,/g, ""))).filter(Number.isFinite);
    assert.ok(seen.size >= 3, `events/s showed ${[...seen].join(", ")}`);
    assert.ok(Math.max(...values) > 20, `events/s reached ${Math.max(...values)}`);
    assert.notEqual(await page.locator("[data-testid=sync-p99]").innerText(), "—", "sync latency shown");
  });

  it("shows an alert within 2 s of the event that causes it", async (t) => {
    await publishCustomerEvent(platform, "browser-risk", "browser-risk-1", LOYAL);
    await page.waitForTimeout(600);
    const sent = Date.now();
    await publishCustomerEvent(platform, "browser-risk", "browser-risk-2", RISKY, "contract");
    await page.waitForSelector("[data-testid=overview-alerts] li:has-text('browser-risk')", { timeout: 2_000 });
    const took = Date.now() - sent;
    assert.ok(took < 2_000, `alert shown after ${took} ms`);
    t.diagnostic(`alert shown ${took} ms after its event was published`);
    await shot("overview");
    await page.click("nav a[href='#alerts']");
    await page.waitForSelector("[data-alert-entity=browser-risk]");
    await page.click("[data-alert-entity=browser-risk] button:has-text('Acknowledge')");
    await page.waitForSelector("[data-alert-entity=browser-risk] td:has-text('acknowledged')");
    assert.equal((await platform.db("alerts").where({ entity_id: "browser-risk" }).first()).status, "acknowledged");
    await shot("alerts");
  });

  it("retries a dead letter from the pipelines view", async () => {
    await publishCustomerEvent(platform, "browser-dl", "browser-dl-1", "not json at all");
    await page.click("nav a[href='#pipelines']");
    const row = page.locator("[data-dead-letter]").filter({ hasText: "browser-dl" });
    await row.waitFor({ timeout: 10_000 });
    const id = Number(await row.getAttribute("data-dead-letter"));
    // the ack floor is read from the server when the view opens
    await page.waitForFunction("/^\\d/.test(document.querySelector('[data-testid=ack-floor-churn]')?.textContent ?? '')");
    await shot("pipelines");
    const before = (await platform.bus.jsm.streams.info(platform.bus.names.events("customer"))).state.last_seq;
    await row.locator("button:has-text('Retry')").click();
    await page.waitForSelector(`[data-testid=pipelines-message]:has-text('dead letter ${id} re-published')`);
    await eventually(async () => ((await platform.bus.jsm.streams.info(platform.bus.names.events("customer"))).state.last_seq > before ? true : undefined), 5_000, "re-published");
  });

  it("shows the models with feature importance, and lets an admin activate a version", async () => {
    await page.click("nav a[href='#models']");
    await page.waitForSelector("[data-testid=feature-importance] .bar");
    await shot("models");
    await page.click("li:has-text('churn_telco')");
    const active = platform.registry.get("churn_telco").version;
    const other = platform.registry.listVersions("churn_telco").find((v) => v.version !== active)!.version;
    await page.locator(`tr[data-version='${other}'] button:has-text('Activate')`).click();
    await page.waitForSelector(`[data-testid=models-message]:has-text('churn_telco ${other} is now served (was ${active})')`);
    await page.waitForSelector(`tr[data-version='${other}']:has-text('active')`);
    assert.equal(platform.registry.get("churn_telco").version, other);
    assert.equal(await page.locator(`tr[data-version='${active}'] button:has-text('Activate')`).count(), 1);
    await shot("models-activated");
  });

  it("opens bull-board with the session cookie", async () => {
    await page.click("nav a[href='#jobs']");
    await page.waitForSelector("iframe.jobs");
    const res = await page.goto(`${platform.url}/admin/queues`);
    assert.equal(res?.status(), 200);
    await page.waitForSelector("text=Tidecast jobs", { timeout: 10_000 });
    await page.waitForLoadState("networkidle").catch(() => undefined); // the queue list, for the screenshot
    await shot("jobs");
  });
});
