// The console's session in headless Chromium (Debian's), against the running local stack, signed
// in through the gateway's identity stand-in as deployed through Cognito: a short token is
// renewed in place (no reload) and the socket is opened again with the new one, still bringing
// events; a refusal that renewing does not cure signs in again and gives back the half-typed
// reply (with its Idempotency-Key), the note and the open conversation; a session that cannot be
// renewed is never shown live; signing out revokes the refresh token, ends the provider's
// session and leaves the next visit at the sign-in page; a sign-in the provider refused is said,
// with a way to try again. No token is ever in the browser's storage. axe-core checks the new
// states. Run by `make test` after the Rust tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, assertAccessible, call, inbound, launch, number, signIn, signInHere, simulatedCustomer, tokenFor } from "./e2e-lib.mjs";

const TOKEN_ENDPOINT = "/_local/oauth2/token";

/** An account with a simulated TeleSign customer, one support number, an agent, and a customer
 *  who has written to it. */
async function setUp() {
  const customer = await simulatedCustomer();
  const support = number();
  const operator = await tokenFor("session-operator", ["operator"], "Olga Operator");
  const account = await call(`${api}/accounts`, {
    name: `Session ${support}`, ...customer, numbers: [{ number: support, type: "long_code" }],
  }, { token: operator });
  const agent = `agent-${support}`;
  await call(`${api}/accounts/${account.account_id}/members/${agent}`, { role: "agent", display_name: "Ada Agent" }, { method: "PUT", token: operator });
  const person = number();
  const text = (t) => inbound(account, customer, person, support, t);
  await text("Hello, where is my parcel?");
  return { account, agent, person, text };
}

/** The tokens the page is given (from the token endpoint's answers), in order. */
function watchTokens(page) {
  const answers = [];
  page.on("response", async (r) => {
    if (new URL(r.url()).pathname !== TOKEN_ENDPOINT || !r.ok()) return;
    const grant = new URLSearchParams(r.request().postData() ?? "").get("grant_type");
    // A page that navigates away (a sign-in again) takes the body with it: the grant still counts.
    const body = await r.json().catch(() => ({ unread: true }));
    answers.push({ grant, at: Date.now(), ...body });
  });
  return answers;
}

/** Signs in and opens the customer's conversation. */
async function openDesk(page, { account, agent, person }, options) {
  await signIn(page, agent, "agent", "Ada Agent", options);
  await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
  await page.locator("#list .row", { hasText: `+${person}` }).click();
  await page.locator("#pane-title", { hasText: `+${person}` }).waitFor();
  await page.locator("#live[data-state=up]").waitFor();
}

/** Waits up to 10 s for `check` to hold, then asserts it. */
async function eventually(check, what) {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(check(), what);
}

/** Whether the browser's storage holds any of `tokens` (or anything shaped like a JWT). */
async function storageHoldsTokens(page, tokens) {
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
  return tokens.some((t) => t && stored.includes(t)) || /eyJ[\w-]+\.[\w-]+\./.test(stored);
}

test("a token that expires mid-session is renewed in place and the socket reopens with it", { timeout: 120_000 }, async () => {
  const desk = await setUp();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" })).newPage();
    const tokens = watchTokens(page);
    const sockets = [];
    page.on("websocket", (ws) => {
      const socket = { url: ws.url(), closed: false, frames: [] };
      ws.on("close", () => (socket.closed = true));
      ws.on("framereceived", (f) => socket.frames.push(String(f.payload)));
      sockets.push(socket);
    });
    const refused = [];
    page.on("response", (r) => r.status() === 401 && refused.push(r.url()));
    await openDesk(page, desk, { ttl: 20 });
    const [first] = tokens;
    assert.equal(first.grant, "authorization_code");
    assert.equal(first.expires_in, 20);
    const expiresAt = first.at + 20_000;
    const firstSockets = (await call(`${api}/_local/sockets`)).connections;
    assert.equal(sockets.length, 1);
    assert.ok(sockets[0].url.includes(first.id_token), "the socket opened with the first token");
    await page.evaluate(() => (window.sessionMarker = "the same page"));

    // Before the first token expires it is renewed with the refresh token; the new socket opens
    // with the new token and the old one closes.
    await page.waitForResponse((r) => new URL(r.url()).pathname === TOKEN_ENDPOINT && r.request().postData()?.includes("grant_type=refresh_token"), { timeout: 25_000 });
    assert.ok(Date.now() < expiresAt, "renewed before the token expired");
    await page.waitForFunction(() => document.querySelector("#live")?.dataset.state === "up");
    const renewed = tokens[1];
    assert.equal(renewed.grant, "refresh_token");
    assert.notEqual(renewed.id_token, first.id_token);
    await eventually(() => sockets.length === 2 && sockets[0].closed, "a second socket opened and the first closed");
    assert.ok(sockets[1].url.includes(renewed.id_token), "the new socket carries the renewed token");
    const nowSockets = (await call(`${api}/_local/sockets`)).connections;
    assert.ok(nowSockets.some((id) => !firstSockets.includes(id)), "the gateway lists a new connection");

    // Past the first token's expiry: the same page (no reload), the API still answers, still live.
    await page.waitForTimeout(Math.max(0, expiresAt + 1_500 - Date.now()));
    assert.equal(await page.evaluate(() => window.sessionMarker), "the same page", "the page was not reloaded");
    const carried = [];
    page.on("request", (r) => new URL(r.url()).pathname === "/conversations" && carried.push(r.headers().authorization));
    const listed = page.waitForResponse((r) => new URL(r.url()).pathname === "/conversations");
    await page.getByRole("tab", { name: /^Mine/ }).click();
    assert.equal((await listed).status(), 200);
    await page.getByRole("tab", { name: /^All/ }).click();
    await page.locator("#list .row", { hasText: `+${desk.person}` }).waitFor();
    assert.ok(carried.length > 0 && carried.every((a) => a === `Bearer ${renewed.id_token}`), "calls carry the renewed token");
    assert.deepEqual(refused, [], "no call was refused: the token was renewed before it expired");
    assert.equal(await page.locator("#live").getAttribute("data-state"), "up");
    assert.equal(await page.locator("#live").textContent(), "Live");

    // The next event comes on the new socket.
    await desk.text("Any news?");
    await page.locator("#transcript .inbound", { hasText: "Any news?" }).waitFor({ timeout: 10_000 });
    assert.ok(sockets.slice(1).some((s) => s.frames.some((f) => f.includes("Any news?"))), "the event came on a renewed socket");
    assert.equal(await page.evaluate(() => window.sessionMarker), "the same page");
    assert.equal(await storageHoldsTokens(page, [first.id_token, first.refresh_token, renewed.id_token]), false, "no token in the browser's storage");
    await assertAccessible(page, "the desk after a renewal");
  } finally {
    await browser.close();
  }
});

test("a half-typed reply survives a refusal that renewing does not cure", { timeout: 120_000 }, async () => {
  const desk = await setUp();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" })).newPage();
    const tokens = watchTokens(page);
    await openDesk(page, desk);
    const reply = page.getByLabel("Reply", { exact: true });

    // A first send whose request never reached the channel: the draft keeps its key.
    const keys = [];
    page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/messages") && keys.push(r.headers()["idempotency-key"]));
    await page.route("**/conversations/*/messages", (route) => route.abort("connectionreset"), { times: 1 });
    await reply.fill("Your parcel left our warehouse this morning and");
    await page.keyboard.press("Control+Enter");
    await page.locator("#error", { hasText: "Not sent for sure" }).waitFor();
    await page.getByLabel("Note for colleagues (never sent)").fill("Parcel 7731 left the warehouse.");

    // The next call is refused, and so is its retry with a renewed token: the console keeps the
    // drafts and signs in again.
    const refused = [];
    page.on("response", (r) => r.status() === 401 && refused.push(new URL(r.url()).pathname));
    await call(`${api}/_local/faults/unauthorized`, { count: 2 });
    await page.getByRole("tab", { name: /^Mine/ }).click();
    await page.locator("#signin-form").waitFor();
    assert.deepEqual(refused, ["/conversations", "/conversations"], "the call and its one retry were refused");
    assert.ok(tokens.some((t) => t.grant === "refresh_token"), "the token was renewed before the retry");
    await assertAccessible(page, "the provider's sign-in page");
    const kept = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
    assert.ok(!tokens.some((t) => kept.includes(t.id_token) || kept.includes(t.refresh_token)), "the drafts are kept, the tokens are not");

    // Signed in again: the same conversation open, the reply and the note back.
    await signInHere(page, desk.agent, "agent", "Ada Agent");
    await page.locator("#pane-title", { hasText: `+${desk.person}` }).waitFor();
    await page.locator("#notice", { hasText: "what you were writing is back" }).waitFor();
    assert.equal(await reply.inputValue(), "Your parcel left our warehouse this morning and");
    assert.equal(await page.getByLabel("Note for colleagues (never sent)").inputValue(), "Parcel 7731 left the warehouse.");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("sms-console-kept")), null, "what was kept is taken once");
    await assertAccessible(page, "the desk with the drafts back");

    // Sent now, with the key the draft had before: once.
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#notice", { hasText: "Reply sent." }).waitFor();
    assert.equal(keys.length, 2);
    assert.equal(keys[1], keys[0], "the draft's Idempotency-Key was kept across the sign-in");
    await page.locator("#transcript .outbound", { hasText: "left our warehouse" }).waitFor();
    assert.equal(await page.locator("#transcript .outbound", { hasText: "left our warehouse" }).count(), 1, "sent once");
  } finally {
    await browser.close();
  }
});

test("a session that cannot be renewed is not shown live, and signs in again", { timeout: 120_000 }, async () => {
  const desk = await setUp();
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" })).newPage();
    const tokens = watchTokens(page);
    // What the indicator says, each time it changes, kept outside the page (it will leave).
    const shown = [];
    await page.exposeFunction("recordLive", (state, text) => shown.push({ state, text, at: Date.now() }));
    await openDesk(page, desk, { ttl: 20 });
    const [first] = tokens;
    const expiresAt = first.at + 20_000;
    await page.evaluate(() => {
      const live = document.getElementById("live");
      new MutationObserver(() => window.recordLive(live.dataset.state, live.textContent)).observe(live, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel("Reply", { exact: true }).fill("We are checking with the courier");

    // The refresh token revoked elsewhere: the renewal is refused.
    const client = await page.evaluate(() => JSON.parse(document.getElementById("console-config").textContent).auth.client_id);
    await fetch(`${api}/_local/oauth2/revoke`, { method: "POST", body: new URLSearchParams({ token: first.refresh_token, client_id: client }) });
    await page.locator("#signin-form").waitFor({ timeout: 40_000 });
    assert.ok(Date.now() >= expiresAt - 1_000, "signed in again only once the token had expired");
    assert.equal(tokens.length, 1, "no token was renewed");
    const afterExpiry = shown.filter((s) => s.at >= expiresAt + 200);
    assert.ok(!afterExpiry.some((s) => s.state === "up"), `never live after the token expired: ${JSON.stringify(shown)}`);
    assert.ok(shown.some((s) => s.state === "down" && /session expired/.test(s.text)), `said it is not live: ${JSON.stringify(shown)}`);

    await signInHere(page, desk.agent, "agent", "Ada Agent");
    await page.locator("#pane-title", { hasText: `+${desk.person}` }).waitFor();
    assert.equal(await page.getByLabel("Reply", { exact: true }).inputValue(), "We are checking with the courier");
    await page.locator("#live[data-state=up]").waitFor();
  } finally {
    await browser.close();
  }
});

test("signing out revokes the refresh token, ends the provider's session and starts the next visit at the sign-in", { timeout: 90_000 }, async () => {
  const desk = await setUp();
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" });
    const page = await context.newPage();
    const tokens = watchTokens(page);
    await openDesk(page, desk);
    await page.getByLabel("Reply", { exact: true }).fill("Half a thought");
    const [first] = tokens;
    const before = (await call(`${api}/_local/logouts`)).logouts.length;
    const revoked = page.waitForRequest((r) => new URL(r.url()).pathname === "/_local/oauth2/revoke");

    await page.getByRole("button", { name: "Sign out" }).click();
    const revocation = new URLSearchParams((await revoked).postData() ?? "");
    assert.equal(revocation.get("token"), first.refresh_token);
    assert.ok(revocation.get("client_id"));
    await page.locator("#signin-form").waitFor();
    const { logouts } = await call(`${api}/_local/logouts`);
    assert.equal(logouts.length, before + 1, "the provider's logout endpoint was reached");
    assert.equal(logouts.at(-1).logout_uri, `${api}/console`);
    assert.equal(logouts.at(-1).client_id, revocation.get("client_id"));
    const renewal = await fetch(`${api}${TOKEN_ENDPOINT}`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: revocation.get("client_id"), refresh_token: first.refresh_token }),
    });
    assert.equal(renewal.status, 400, "the refresh token no longer renews");
    assert.equal((await renewal.json()).error, "invalid_grant");
    assert.equal(await storageHoldsTokens(page, [first.id_token, first.refresh_token]), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("sms-console-kept")), null, "nothing of the session is kept");
    await assertAccessible(page, "the sign-in page after signing out");

    // The next visit, in this tab or another, starts at the sign-in page.
    for (const visit of [page, await context.newPage()]) {
      await visit.goto(`${api}/console`, { waitUntil: "commit" });
      await visit.locator("#signin-form").waitFor();
      assert.equal(await visit.locator("#whoami").count(), 0);
    }
  } finally {
    await browser.close();
  }
});

test("a sign-in the provider sent back refused is said, with a way to try again", { timeout: 60_000 }, async () => {
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" })).newPage();
    await page.goto(`${api}/console?error=access_denied&error_description=${encodeURIComponent("The user cancelled")}`);
    await page.locator("#error", { hasText: "Sign-in did not complete (The user cancelled)." }).waitFor();
    const again = page.getByRole("button", { name: "Sign in again" });
    assert.equal(await again.evaluate((e) => e === document.activeElement), true, "the way on has the focus");
    assert.equal(new URL(page.url()).search, "", "the refusal is not asked again on a reload");
    await assertAccessible(page, "a refused sign-in");
    await again.click();
    await page.locator("#signin-form").waitFor();
  } finally {
    await browser.close();
  }
});
