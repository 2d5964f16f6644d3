// The agent's day in the console, in headless Chromium (Debian's), against the running local
// stack. Set up by the API: an account, two agents, a canned response, and a customer with an
// earlier conversation that was ended. The agent signs in, finds the customer waiting in
// Unassigned (with the count), takes it, sees the earlier conversation, hears of new messages
// over the socket (no polling), keeps focus and selected text through a refresh, answers with
// the canned response (Ctrl+Enter; a retry after a lost answer reuses the draft's key and sends
// once), writes a note, transfers the conversation, ends another, and finds it among the closed.
// axe-core checks every page state. Then a supervisor texts a customer first, and a Polish
// browser reads Polish. Run by `make test` after the Rust tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, assertAccessible, call, inbound, launch, number, screenshotPath, signIn as signInAs, simulatedCustomer, tokenFor } from "./e2e-lib.mjs";

async function signIn(page, user, role, name) {
  await signInAs(page, user, role, name);
  await page.locator("#desk").waitFor();
}

/** An account with a simulated TeleSign customer, one support number and the given members. */
async function setUp() {
  const customer = await simulatedCustomer();
  const support = number();
  const operator = await tokenFor("console-operator", ["operator"], "Olga Operator");
  const account = await call(`${api}/accounts`, {
    name: `Desk ${support}`, ...customer, numbers: [{ number: support, type: "long_code" }],
  }, { token: operator });
  const member = (user, role, display_name) =>
    call(`${api}/accounts/${account.account_id}/members/${user}`, { role, display_name }, { method: "PUT", token: operator });
  const agent = `agent-${support}`;
  const colleague = `colleague-${support}`;
  const supervisor = `supervisor-${support}`;
  await member(agent, "agent", "Ada Agent");
  await member(colleague, "agent", "Bob Colleague");
  await member(supervisor, "supervisor", "Sue Supervisor");
  return { customer, support, operator, account, agent, colleague, supervisor };
}

/** The account's live conversations, as the operator reads them. */
async function conversationsOf(account, token, query = "") {
  return (await call(`${api}/conversations?account_id=${account.account_id}${query}`, undefined, { token })).conversations;
}

test("an agent's day at the desk", { timeout: 180_000 }, async () => {
  const { customer, support, operator, account, agent, colleague, supervisor } = await setUp();
  const supervisorToken = await tokenFor(supervisor, ["supervisor"], "Sue Supervisor");
  await call(`${api}/accounts/${account.account_id}/canned-responses`, {
    title: "Parcel on its way", text: "Your parcel is on its way and arrives tomorrow.",
  }, { token: supervisorToken });
  await call(`${api}/accounts/${account.account_id}/canned-responses`, {
    title: "Opening hours", text: "We answer from 9:00 to 17:00, Monday to Friday.",
  }, { token: supervisorToken });
  const person = number();
  const text = (t) => inbound(account, customer, person, support, t);
  // The customer's earlier conversation, ended; then they write again.
  await text("My order number is 7731. Thanks!");
  const [earlier] = await conversationsOf(account, operator);
  await call(`${api}/conversations/${earlier.conversation_id}/end`, {}, { token: operator });
  await text("Hi, where is my parcel? Order 7731.");

  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" });
    const page = await context.newPage();
    await signIn(page, agent, "agent", "Ada Agent");
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    for (const hidden of ["#team", "#outreach-box", "#admin-toggle"]) {
      assert.equal(await page.locator(hidden).isVisible(), false, `an agent does not see ${hidden}`);
    }

    // Unassigned, with its count: the customer waits, needs a reply, and says for how long.
    const unassigned = page.getByRole("tab", { name: /^Unassigned/ });
    await page.locator("#count-unassigned", { hasText: "1" }).waitFor();
    await unassigned.click();
    assert.equal(await unassigned.getAttribute("aria-selected"), "true");
    const row = page.locator("#list .row", { hasText: `+${person}` });
    await row.waitFor();
    await row.locator(".badge", { hasText: "Needs reply" }).waitFor();
    assert.match(await row.locator(".wait").textContent(), /^waiting \d+ (s|min)$/);
    await assertAccessible(page, "the desk's list");

    // Open it: the earlier conversation shows; take it (the `a` shortcut).
    await row.click();
    await page.locator("#pane-title", { hasText: `+${person}` }).waitFor();
    const history = page.locator("#history-list button", { hasText: "closed" });
    await history.waitFor();
    await assertAccessible(page, "the conversation pane");
    await page.locator("#transcript").focus();
    await page.keyboard.press("a");
    await page.locator("#pane-meta", { hasText: "active" }).waitFor();
    await page.locator("#pane-meta", { hasText: "assigned to Ada Agent" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Accept" }).isDisabled(), true, "accept follows the state machine");
    await page.getByRole("tab", { name: /^Mine/ }).click();
    await page.locator("#count-mine", { hasText: "1" }).waitFor();
    await row.waitFor();

    // Live: with the socket up, a customer's message appears with no request fetching it (and is
    // announced politely); a new conversation is counted, and counted in the title.
    await page.locator("#live[data-state=up]").waitFor();
    await page.waitForLoadState("networkidle");
    const fetched = [];
    const watch = (r) => fetched.push(`${r.method()} ${new URL(r.url()).pathname}`);
    page.on("request", watch);
    await text("Is it still coming?");
    await page.locator("#transcript .inbound", { hasText: "Is it still coming?" }).waitFor({ timeout: 10_000 });
    await page.locator("#announcer", { hasText: `New message from +${person}: Is it still coming?` }).waitFor();
    const other = number();
    await inbound(account, customer, other, support, "Hello?");
    await page.locator("#count-unassigned", { hasText: "1" }).waitFor({ timeout: 10_000 });
    await page.locator("#count-all", { hasText: "2" }).waitFor();
    // The new customer message is counted in the title.
    await page.waitForFunction(() => /^\(1\) /.test(document.title));
    page.off("request", watch);
    assert.deepEqual(fetched, [], "nothing was polled or fetched: the socket brought both");

    // The character counter is described to the reply, never announced on each keystroke.
    assert.equal(await page.locator("#counter").getAttribute("aria-live"), null);
    assert.match(await page.locator("#reply").getAttribute("aria-describedby"), /\bcounter\b/);

    // The socket drops: the page refreshes (polling, then one catch-up) and keeps the keyboard
    // focus on the row and the order number the agent selected in the transcript.
    await row.focus();
    await page.evaluate(() => {
      const p = [...document.querySelectorAll("#transcript .inbound .text")].find((e) => e.textContent.includes("Order 7731"));
      const range = document.createRange();
      range.selectNodeContents(p.firstChild);
      range.setStart(p.firstChild, p.textContent.indexOf("7731"));
      range.setEnd(p.firstChild, p.textContent.indexOf("7731") + 4);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    });
    for (const id of (await call(`${api}/_local/sockets`)).connections) {
      await fetch(`${api}/@connections/${encodeURIComponent(id)}`, { method: "DELETE" });
    }
    await page.locator("#live[data-state=down]").waitFor({ timeout: 10_000 });
    const refreshed = page.waitForResponse((r) => r.url().includes("order=desc&limit=50"), { timeout: 15_000 });
    await text("Are you there?");
    await page.locator("#transcript .inbound", { hasText: "Are you there?" }).waitFor({ timeout: 15_000 });
    await refreshed;
    await page.locator("#live[data-state=up]").waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => getSelection().toString()), "7731", "the selection survives the refresh");
    assert.equal(await page.evaluate(() => document.activeElement?.closest(".row")?.textContent.includes("+") ?? false), true, "the focus stays on the row");

    // The canned response: `/` at the start of the reply opens the picker; typing filters it.
    await page.getByLabel("Reply", { exact: true }).click();
    await page.keyboard.press("/");
    const filter = page.getByRole("combobox", { name: "Canned response" });
    await filter.waitFor();
    assert.equal(await page.locator("#canned-list [role=option]").count(), 2);
    await filter.fill("parc");
    assert.equal(await page.locator("#canned-list [role=option]").count(), 1);
    await assertAccessible(page, "the canned responses' picker");
    await page.keyboard.press("Enter");
    assert.equal(await page.getByLabel("Reply", { exact: true }).inputValue(), "Your parcel is on its way and arrives tomorrow.");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "reply", "back in the reply");
    assert.match(await page.locator("#counter").textContent(), /47 \/ 1600 characters · 1 segment\(s\) · GSM-7/);

    // The first send's answer is lost (the request reached the channel): the draft keeps its key,
    // so sending again answers the first send and the customer gets one message.
    const keys = [];
    page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/messages") && keys.push(r.headers()["idempotency-key"]));
    await page.route("**/conversations/*/messages", async (route) => {
      await route.fetch();
      await route.abort("connectionreset");
    }, { times: 1 });
    await page.keyboard.press("Control+Enter");
    await page.locator("#error", { hasText: "Not sent for sure" }).waitFor();
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#notice", { hasText: "Reply sent." }).waitFor();
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], "one Idempotency-Key per draft, kept across the retry");
    await page.locator("#transcript .outbound .delivery.delivered").waitFor({ timeout: 20_000 });
    assert.equal(await page.locator("#transcript .outbound", { hasText: "Your parcel is on its way" }).count(), 1, "sent once");
    assert.equal(await page.getByLabel("Reply", { exact: true }).inputValue(), "");

    // All: the customer still waiting for a reply comes before the one just answered.
    await page.getByRole("tab", { name: /^All/ }).click();
    await page.waitForFunction(([a, b]) => {
      const rows = [...document.querySelectorAll("#list .row .who")].map((e) => e.textContent);
      return rows.length === 2 && rows[0] === a && rows[1] === b;
    }, [`+${other}`, `+${person}`]);
    // Its message not read yet: the row reads bold, and says so in words.
    await page.locator("#list .row.unread", { hasText: `+${other}` }).locator(".badge", { hasText: "New message" }).waitFor();
    await page.getByRole("tab", { name: /^Mine/ }).click();
    await row.waitFor();

    // A note (the `n` shortcut), set apart from the messages.
    await page.locator("#transcript").focus();
    await page.keyboard.press("n");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "note");
    await page.keyboard.type("Customer asked twice; parcel 7731 is late.");
    await page.getByRole("button", { name: "Add note" }).click();
    const note = page.locator("#transcript .note", { hasText: "parcel 7731 is late" });
    await note.waitFor();
    assert.equal(await note.locator(".kind").textContent(), "Note by Ada Agent");
    assert.match(await page.locator("#pane-meta").textContent(), /active/, "typing a, e, t, n in a field fired no shortcut");
    // The README's picture: All, the customer still waiting first, this one answered with a note.
    await page.getByRole("tab", { name: /^All/ }).click();
    await page.locator("#list .row", { hasText: `+${other}` }).waitFor();
    await page.screenshot({ path: screenshotPath("desk.png") });
    await page.getByRole("tab", { name: /^Mine/ }).click();
    await row.waitFor();

    // The shortcuts, listed under `?`; Esc closes them.
    await page.locator("#transcript").focus();
    await page.keyboard.press("?");
    const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await dialog.waitFor();
    await assertAccessible(page, "the keyboard shortcuts");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });

    // The earlier conversation opens from the history, read-only.
    await history.click();
    await page.locator("#transcript .inbound", { hasText: "My order number is 7731" }).waitFor();
    assert.match(await page.locator("#composer-note").textContent(), /closed/);
    await row.click();
    await page.locator("#transcript .note").waitFor();

    // STOP: the badge, the composer locked, the confirmation automated.
    await text("STOP");
    await page.locator("#opted-out").waitFor({ state: "visible" });
    assert.equal(await page.getByLabel("Reply", { exact: true }).isDisabled(), true, "the composer is locked after STOP");
    await page.locator("#transcript .automated .kind", { hasText: "Automated · stop" }).waitFor();
    await row.locator(".badge", { hasText: "Opted out" }).waitFor();

    // Transfer to a colleague (the `t` shortcut): it leaves Mine and is theirs.
    await page.locator("#transcript").focus();
    await page.keyboard.press("t");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "assignee");
    await page.getByLabel("Transfer to").selectOption(colleague);
    await page.getByRole("button", { name: "Transfer", exact: true }).click();
    await page.locator("#notice", { hasText: "Transferred to Bob Colleague." }).waitFor();
    await row.waitFor({ state: "detached" });
    await page.locator("#count-mine", { hasText: "0" }).waitFor();

    // The other customer, the only one unassigned: `j` opens it; take it and end it (`e`), then
    // find it among the closed.
    await page.getByRole("tab", { name: /^Unassigned/ }).click();
    const second = page.locator("#list .row", { hasText: `+${other}` });
    await second.waitFor();
    await page.keyboard.press("j");
    await page.locator("#pane-title", { hasText: `+${other}` }).waitFor();
    assert.equal(await second.evaluate((e) => e === document.activeElement), true, "j moves the focus to the row it opened");
    await page.getByRole("button", { name: "Accept" }).click();
    await page.locator("#pane-meta", { hasText: "active" }).waitFor();
    await page.locator("#transcript").focus();
    await page.keyboard.press("e");
    await page.locator("#pane-meta", { hasText: "closed" }).waitFor();
    await page.getByRole("tab", { name: /^Closed/ }).click();
    await page.getByLabel("Customer number").fill(`+${other}`);
    await page.getByRole("button", { name: "Find" }).click();
    // Only that customer's closed conversation (the earlier one of the first customer is closed too).
    await page.waitForFunction(() => document.querySelectorAll("#list .row").length === 1 && !document.querySelector("#search-clear").hidden);
    await page.locator("#list .row", { hasText: `+${other}` }).waitFor();

    // A supervisor texts a customer first; the conversation opens in the pane.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#signin-form").waitFor();
    await signIn(page, supervisor, "supervisor", "Sue Supervisor");
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    assert.equal(await page.locator("#admin-toggle").isVisible(), false, "a supervisor has no administration");
    await page.locator("#members li", { hasText: colleague }).waitFor();
    const newcomer = number();
    await page.getByLabel("To", { exact: true }).fill(`+${newcomer}`);
    await page.getByLabel("Message", { exact: true }).fill("Hello from the support team.");
    await page.locator("#outreach").getByRole("button", { name: "Send" }).click();
    await page.locator("#pane-title", { hasText: `+${newcomer}` }).waitFor();
    await page.locator("#transcript .outbound", { hasText: "Hello from the support team." }).waitFor();

    // An operator reaches the administration and comes back.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#signin-form").waitFor();
    await signIn(page, "console-operator", "operator", "Olga Operator");
    await page.getByRole("button", { name: "Administration" }).click();
    await page.locator("#admin").waitFor();
    assert.equal(await page.locator("#desk").isVisible(), false);
    await page.getByRole("button", { name: "Administration" }).click();
    await page.locator("#desk").waitFor();
    await context.close();
  } finally {
    await browser.close();
  }
});

test("a long-standing customer's earlier conversations page on, the keyboard kept", { timeout: 120_000 }, async () => {
  const { customer, support, operator, account, agent } = await setUp();
  const person = number();
  const text = (t) => inbound(account, customer, person, support, t);
  // 21 conversations ended one after another, then the customer writes again.
  for (let i = 1; i <= 21; i++) {
    await text(`Question number ${i}`);
    const [live] = await conversationsOf(account, operator, `&customer=${person}`);
    await call(`${api}/conversations/${live.conversation_id}/end`, {}, { token: operator });
  }
  await text("Me again");
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ locale: "en-US" })).newPage();
    await signIn(page, agent, "agent", "Ada Agent");
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    await page.locator("#list .row", { hasText: `+${person}` }).click();
    // The first page holds the live conversation and 19 earlier ones: 19 shown, then more.
    const older = page.getByRole("button", { name: "Older conversations" });
    await older.waitFor();
    assert.equal(await page.locator("#history-list li").count(), 20, "19 earlier ones and the button");
    await older.focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#history-list li").length === 21);
    assert.equal(await page.locator("#history-list li").count(), 21, "every earlier conversation, once");
    assert.equal(await older.count(), 0, "nothing older is left");
    const focused = await page.evaluate(() => document.activeElement?.closest("#history-list li")?.textContent ?? "");
    assert.match(focused, /Question number 2\b/, "the keyboard is on the first of the rows read");
    await assertAccessible(page, "a customer's paged history");
  } finally {
    await browser.close();
  }
});

test("a Polish browser reads the console in Polish", { timeout: 60_000 }, async () => {
  const { account, agent } = await setUp();
  const browser = await launch();
  try {
    const context = await browser.newContext({ locale: "pl-PL" });
    const page = await context.newPage();
    await page.goto(`${api}/console`);
    await page.getByRole("heading", { name: "Logowanie lokalne" }).waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "pl");
    await page.getByLabel("Identyfikator użytkownika").fill(agent);
    await page.getByLabel("Imię i nazwisko").fill("Ada Agent");
    await page.getByRole("button", { name: "Zaloguj" }).click();
    await page.locator("#whoami", { hasText: "Zalogowano jako Ada Agent" }).waitFor();
    await page.getByLabel("Konto").selectOption(account.account_id);
    for (const tab of ["Moje", "Nieprzypisane", "Wszystkie", "Zamknięte"]) {
      await page.getByRole("tab", { name: new RegExp(`^${tab}`) }).waitFor();
    }
    await page.getByRole("button", { name: "Skróty klawiszowe" }).click();
    await page.getByRole("dialog", { name: "Skróty klawiszowe" }).getByText("Następna rozmowa").waitFor();
    await assertAccessible(page, "the Polish desk with its shortcuts");
    assert.equal(await page.title(), "Rozmowy SMS");
  } finally {
    await browser.close();
  }
});
