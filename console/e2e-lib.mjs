// What the console's browser tests share: calls to the local stack, a fresh account with a
// simulated TeleSign customer, Debian's headless Chromium, the sign-in at the local identity
// stand-in, and the accessibility check (axe-core in the page; serious or critical violations
// fail the test).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export const api = process.env.SMS_BASE_URL;
export const sim = process.env.SIM_URL;
assert.ok(api && sim, "SMS_BASE_URL and SIM_URL come from the local stack (make test)");

/** A JSON call that must succeed; GET without a body, POST with one, unless `method` says. */
export async function call(url, body, { method, token } = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: method ?? (body ? "POST" : "GET"), headers, body: body && JSON.stringify(body) });
  const data = r.status === 204 ? {} : await r.json();
  assert.ok(r.ok, `${url}: ${r.status} ${JSON.stringify(data)}`);
  return data;
}

/** A token of the local stack's authorizer. */
export async function tokenFor(sub, roles, name) {
  return (await call(`${api}/_local/tokens`, { sub, roles, name })).token;
}

/** A valid US number (area code 425, an exchange from 200 up), as TeleSign writes numbers. */
export const number = () => `1425${2000000 + Math.floor(Math.random() * 8e6)}`;

/** A customer of the TeleSign simulator: its id and API key. */
export async function simulatedCustomer() {
  const customer = { customer_id: randomUUID().toUpperCase(), api_key: randomBytes(32).toString("base64") };
  await call(`${sim}/_sim/customers`, customer);
  return customer;
}

/** An SMS from `from` to `to`, as TeleSign posts it to the account's callback URL. */
export function inbound(account, customer, from, to, text) {
  return call(`${sim}/_sim/inbound`, { callback_url: account.callback_url, customer_id: customer.customer_id, from, to, text });
}

/** Debian's Chromium, headless; `locale` sets the browser's language. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * Signs in as `user` in `role` the way the console always does (the OpenID Connect code flow;
 * locally, the gateway's stand-in for the identity provider shows its sign-in page), in whatever
 * language the page speaks. `ttl`: the tokens' lifetime in seconds (default an hour).
 */
export async function signIn(page, user, role, name = user, { ttl } = {}) {
  // The console sends the browser on to the provider's page before it has loaded for good.
  await page.goto(`${api}/console`, { waitUntil: "commit" });
  await signInHere(page, user, role, name, { ttl });
}

/** Fills and sends the provider's sign-in page the browser is on (or is coming to). */
export async function signInHere(page, user, role, name = user, { ttl } = {}) {
  await page.locator("#signin-user").fill(user);
  await page.locator("#signin-name").fill(name);
  await page.locator("#signin-role").selectOption(role);
  if (ttl !== undefined) await page.locator("#signin-ttl").fill(String(ttl));
  await page.locator("#signin-form button[type=submit]").click();
  await page.locator("#whoami", { hasText: name }).waitFor();
}

// Evaluated through the browser's protocol, not added as a script: the page's
// Content-Security-Policy (no inline scripts but its own) would refuse a script tag.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation, naming
 * each rule and the elements it found. `label` says which page or state was checked.
 */
export async function assertAccessible(page, label) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const found = bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(found, [], `axe on ${label}`);
  return result.violations.length;
}

/** Where a screenshot goes: docs/ (the README's) only when UPDATE_SCREENSHOT=1, else .local/. */
export function screenshotPath(name) {
  const dir = process.env.UPDATE_SCREENSHOT === "1" ? "../docs/" : "../.local/";
  return new URL(dir + name, import.meta.url).pathname;
}
