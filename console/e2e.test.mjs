// The agent console in headless Chromium (Debian's), against the running local stack: an agent
// signs in (the local sign-in), sees only the desk; a customer texts, the agent sees it, accepts,
// replies with an emoji, watches it reach delivered; a STOP shows the badge and locks the
// composer. Then an operator signs in and sees what an agent does not: the team, texting a
// customer first, assigning. Run by `make test` after the Rust tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, call, inbound, launch, number, screenshotPath, signIn as signInAs, sim, simulatedCustomer } from "./e2e-lib.mjs";

async function signIn(page, user, role) {
  await signInAs(page, user, role);
  await page.locator("#desk").waitFor();
}

test("an agent answers a customer from the console", { timeout: 120_000 }, async () => {
  const customer = await simulatedCustomer();
  const support = number();
  const { token: operator } = await call(`${api}/_local/tokens`, { sub: "console-operator", roles: ["operator"] });
  const account = await call(`${api}/accounts`, {
    name: `Console ${support}`, ...customer, numbers: [{ number: support, type: "long_code" }],
  }, { token: operator });
  const agent = `agent-${support}`;
  await call(`${api}/accounts/${account.account_id}/members/${agent}`, { role: "agent", display_name: "Ada Agent" }, { method: "PUT", token: operator });
  const person = number();
  const text = (t) => inbound(account, customer, person, support, t);
  await text("Hi, where is my parcel?");

  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    await signIn(page, agent, "agent");
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    const row = page.getByRole("button", { name: new RegExp(`\\+${person}`) });
    await row.waitFor();
    // The page shows these unless the role hides them (the operator's half below sees them).
    for (const hidden of ["#team", "#outreach-box", "#member-form", "#numbers-box"]) {
      assert.equal(await page.locator(hidden).isVisible(), false, `an agent does not see ${hidden}`);
    }
    await row.click();
    await page.getByRole("button", { name: "Accept" }).click();
    await page.locator("#pane-meta", { hasText: "active" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Accept" }).isDisabled(), true, "accept follows the state machine");

    // Live: with the socket up, a customer's message appears with no request fetching it, and
    // a new conversation's row too, counted in the title.
    await page.locator("#live[data-state=up]").waitFor();
    // What the clicks above asked for has come back (the socket is no request).
    await page.waitForLoadState("networkidle");
    const fetched = [];
    page.on("request", (r) => fetched.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await text("Is it still coming?");
    await page.locator("#transcript .inbound", { hasText: "Is it still coming?" }).waitFor({ timeout: 10_000 });
    const other = number();
    await call(`${sim}/_sim/inbound`, { callback_url: account.callback_url, customer_id: customer.customer_id, from: other, to: support, text: "Hello?" });
    await page.getByRole("button", { name: new RegExp(`\\+${other}`) }).waitFor({ timeout: 10_000 });
    assert.deepEqual(fetched, [], "nothing was polled or fetched: the socket brought both");
    assert.match(await page.title(), /^\(\d+\) /, "the new customer message is counted in the title");

    // The socket drops (API Gateway closes idle ones): the page notices, reconnects, and what the
    // customer wrote meanwhile shows.
    for (const id of (await call(`${api}/_local/sockets`)).connections) {
      await fetch(`${api}/@connections/${encodeURIComponent(id)}`, { method: "DELETE" });
    }
    await page.locator("#live[data-state=down]").waitFor({ timeout: 10_000 });
    await text("Are you there?");
    await page.locator("#transcript .inbound", { hasText: "Are you there?" }).waitFor({ timeout: 15_000 });
    await page.locator("#live[data-state=up]").waitFor({ timeout: 15_000 });

    await page.getByLabel("Reply").fill("On its way! 😀 Arrives tomorrow.");
    const counter = await page.locator("#counter").textContent();
    assert.match(counter, /31 \/ 1600 characters · 1 segment · UCS-2/);
    assert.match(await page.locator("#ucs2").textContent(), /😀/);
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator("#transcript .outbound .delivery.delivered").waitFor({ timeout: 20_000 });
    // docs/console.png (the README's) only when asked: a test run rewrites no tracked file.
    await page.screenshot({ path: screenshotPath("console.png") });

    await text("STOP");
    await page.locator("#opted-out").waitFor({ state: "visible" });
    assert.equal(await page.getByLabel("Reply").isDisabled(), true, "the composer is locked after STOP");
    assert.match(await page.locator("#composer-note").textContent(), /opted out/);
    // The stop confirmation went out by itself, and reads as automated.
    await page.locator("#transcript .automated .kind", { hasText: "Automated · stop" }).waitFor();
    assert.ok(await page.locator(".row .badge", { hasText: "Opted out" }).count() >= 1, "the dashboard shows the badge");
    assert.equal(await page.locator("#assign-box").isVisible(), false, "an agent assigns nothing");

    // An operator sees the team, texting a customer first, and assigning.
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, "console-operator", "operator");
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    await page.locator("#members li", { hasText: agent }).waitFor();
    for (const shown of ["#team", "#outreach-box", "#member-form", "#numbers-box"]) {
      assert.equal(await page.locator(shown).isVisible(), true, `an operator sees ${shown}`);
    }
    await row.click();
    await page.locator("#assign-box").waitFor({ state: "visible" });
    await page.getByLabel("Assign to").selectOption("");
    await page.getByRole("button", { name: "Assign", exact: true }).click();
    await page.locator("#notice", { hasText: "Unassigned." }).waitFor();

    // The operator sets a greeting; a new customer gets it, shown as automated.
    await page.getByLabel("Greeting (a new conversation)").fill("Welcome! An agent answers shortly.");
    await page.getByLabel("Time zone (IANA, e.g. Europe/Warsaw)").fill("Europe/Warsaw");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator("#notice", { hasText: `Settings of +${support} saved.` }).waitFor();
    await page.getByLabel("Time zone (IANA, e.g. Europe/Warsaw)").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator("#error", { hasText: "invalid_timezone" }).waitFor();
    const newcomer = number();
    await call(`${sim}/_sim/inbound`, { callback_url: account.callback_url, customer_id: customer.customer_id, from: newcomer, to: support, text: "Hello?" });
    await page.getByRole("button", { name: new RegExp(`\\+${newcomer}`) }).click();
    await page.locator("#transcript .automated", { hasText: "Welcome! An agent answers shortly." }).waitFor();
  } finally {
    await browser.close();
  }
});
