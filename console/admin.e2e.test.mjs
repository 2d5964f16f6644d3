// The operator's pages in headless Chromium (Debian's), against the running local stack: an
// operator signs in, opens the administration, creates an account with a key TeleSign refuses
// and sees why at the key's field (nothing typed lost), fixes it, copies the callback URL, adds a
// number, changes its settings (a refused time zone shown at its field), adds a member, writes a
// canned response, finds the stored key refused once TeleSign has a new one, rotates it, and
// reads the audit trail of all of it, a page at a time; then removes a member, a number, the
// canned response and the account, each after a confirmation. axe-core checks every state. An
// account's 200 canned responses are read a page at a time, and one more is refused at the form.
// A Polish browser reads the pages in Polish. The contexts bypass the page's CSP so that axe-core
// can be added. Run by `make test` after the Rust tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { api, assertAccessible, call, launch, number, screenshotPath, signIn, sim, simulatedCustomer, tokenFor } from "./e2e-lib.mjs";

const OPERATOR = "admin-operator";

/** Signs in as the operator and opens the administration. */
async function openAdmin(page, name = "Olga Operator") {
  await signIn(page, OPERATOR, "operator", name);
  await page.locator("#admin-toggle").click();
  const admin = page.locator("#admin");
  await admin.locator("#adm-title").waitFor();
  return admin;
}

/** The field's error line, as a screen reader hears it: the control's accessible description. */
async function description(field) {
  return field.evaluate((e) =>
    (e.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .map((id) => document.getElementById(id)?.textContent ?? "")
      .join(" "),
  );
}

test("an operator sets up an account from the administration", { timeout: 180_000 }, async () => {
  const customer = await simulatedCustomer();
  const support = number();
  const second = number();
  const name = `Setup ${support}`;
  // Enough accounts besides it for the list to offer finding one by name.
  const operatorToken = await tokenFor(OPERATOR, ["operator"]);
  for (let i = 0; i < 6; i += 1) {
    await call(`${api}/accounts`, { name: `Other ${support} ${i}`, ...(await simulatedCustomer()) }, { token: operatorToken });
  }
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] });
    const page = await context.newPage();
    const admin = await openAdmin(page);
    // The administration takes the desk's place (the desk is hidden once it has drawn).
    await page.locator("#desk").waitFor({ state: "hidden", timeout: 10_000 });
    assert.equal(await page.locator("#desk").isVisible(), false, "the administration takes the desk's place");
    await assertAccessible(page, "the administration");

    // A key TeleSign does not know: refused, the reason at the key's field, nothing typed lost.
    const form = admin.locator("#adm-new");
    await form.getByLabel("Account name").fill(name);
    await form.getByLabel("TeleSign customer id").fill(customer.customer_id);
    const key = form.getByLabel("TeleSign API key", { exact: true });
    await key.fill(randomBytes(32).toString("base64"));
    await form.getByLabel("Support number").fill(`+${support}`);
    await form.getByLabel("Description").fill("Main line");
    await form.getByRole("button", { name: "Create account" }).click();
    await page.locator("#adm-new [aria-invalid=true]").first().waitFor();
    assert.equal(await key.getAttribute("aria-invalid"), "true");
    assert.match(await description(key), /TeleSign refused the customer id or API key.*invalid_credentials/);
    assert.match(await admin.locator(".adm-alert").textContent(), /TeleSign refused the credentials/);
    assert.equal(await form.getByLabel("Account name").inputValue(), name, "the name typed is kept");
    assert.equal(await form.getByLabel("Support number").inputValue(), `+${support}`, "the number typed is kept");
    const listed = await call(`${api}/accounts`, undefined, { token: await tokenFor(OPERATOR, ["operator"]) });
    assert.ok(!listed.accounts.some((a) => a.name === name), "nothing was created");
    await assertAccessible(page, "a refused key");

    // Fixed: created; the callback URL shown, copied to the clipboard, the copy announced.
    await key.fill(customer.api_key);
    assert.equal(await key.getAttribute("aria-invalid"), null, "typing clears the error");
    await form.getByRole("button", { name: "Check the key with TeleSign" }).click();
    await admin.locator(".adm-status", { hasText: "TeleSign accepted the customer id and API key." }).waitFor();
    await form.getByRole("button", { name: "Create account" }).click();
    const callback = form.getByLabel("Callback URL");
    await callback.waitFor();
    const url = await callback.inputValue();
    assert.match(url, new RegExp(`^${api}/telesign/[0-9a-f]{32}/callback$`));
    const accountId = url.split("/").at(-2);
    // The clipboard takes a write only from the focused document (headless Chromium under load
    // may have given the focus elsewhere): the page in front, as the operator's is.
    await page.bringToFront();
    await form.getByRole("button", { name: "Copy the callback URL" }).click();
    await admin.locator(".adm-status", { hasText: "Copied." }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, "the callback URL is on the clipboard");
    await admin.getByRole("heading", { name: `Account: ${name}` }).waitFor();
    await assertAccessible(page, "the account created");

    // Many accounts: a name typed narrows the list.
    await admin.getByLabel("Find an account by name").fill(`Other ${support}`);
    await admin.locator("#adm-accounts .adm-hint", { hasText: /^6 of \d+ accounts shown\.$/ }).waitFor();
    assert.equal(await admin.getByRole("button", { name: `Manage ${name}` }).isVisible(), false, "the others are hidden");
    await admin.getByLabel("Find an account by name").fill(name);
    assert.equal(await admin.getByRole("button", { name: `Manage ${name}` }).isVisible(), true);

    // Its retention: kept 30 days after ending.
    const settingsOfAccount = admin.locator("#adm-acct");
    await settingsOfAccount.getByLabel("Keep closed conversations for (days)").fill("30");
    await settingsOfAccount.getByRole("button", { name: "Save name and retention" }).click();
    await admin.locator(".adm-status", { hasText: `Account ${name} saved.` }).waitFor();

    // A second number, then its settings: a refused time zone at its field, then saved.
    const numbers = admin.locator("#adm-numbers");
    await numbers.getByLabel("New support number").fill(second);
    await numbers.getByRole("button", { name: "Add number", exact: true }).click();
    await numbers.getByRole("rowheader", { name: `+${second}` }).waitFor();
    await numbers.getByRole("button", { name: `Settings of +${second}` }).click();
    const settings = numbers.locator("form.adm-settings");
    await settings.getByRole("heading", { name: `Settings of +${second}` }).waitFor();
    const zone = settings.getByLabel("Time zone");
    await zone.fill("Mars/Olympus");
    await settings.getByLabel("Greeting (a new conversation)").fill("Welcome! An agent answers shortly.");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.locator("[aria-invalid=true]").waitFor();
    assert.equal(await zone.getAttribute("aria-invalid"), "true");
    assert.match(await description(zone), /invalid_timezone/);
    await assertAccessible(page, "a refused setting");
    await zone.fill("Europe/Warsaw");
    await settings.getByLabel("Open", { exact: true }).fill("90");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await admin.locator(".adm-status", { hasText: `Settings of +${second} saved.` }).waitFor();
    const operator = await tokenFor(OPERATOR, ["operator"]);
    const saved = await call(`${api}/accounts/${accountId}`, undefined, { token: operator });
    assert.equal(saved.retention_days, 30);
    const stored = saved.numbers.find((n) => n.number === second);
    assert.equal(stored.timezone, "Europe/Warsaw");
    assert.equal(stored.auto_close.open_after_seconds, 5400);
    assert.equal(stored.messages.greeting, "Welcome! An agent answers shortly.");

    // A member.
    const members = admin.locator("#adm-members");
    const agent = `agent-${support}`;
    await members.getByLabel("Member's user id").fill(agent);
    await members.getByLabel("Display name").fill("Ada Agent");
    await members.getByLabel("Role in the account").selectOption("agent");
    await members.getByRole("button", { name: "Save member" }).click();
    await members.getByRole("rowheader", { name: "Ada Agent" }).waitFor();
    await admin.locator(".adm-status", { hasText: "Ada Agent saved." }).waitFor();

    // A canned response, then changed.
    const canned = admin.locator("#adm-canned");
    await canned.getByLabel("Title").fill("Delivery time");
    await canned.getByLabel("Text", { exact: true }).fill("Parcels arrive within 2 working days.");
    await canned.getByRole("button", { name: "Save canned response" }).click();
    await canned.getByRole("button", { name: "Edit “Delivery time”" }).click();
    await canned.getByLabel("Text", { exact: true }).fill("Parcels arrive within 3 working days.");
    await canned.getByRole("button", { name: "Save canned response" }).click();
    await canned.locator(".adm-canned-text", { hasText: "within 3 working days" }).waitFor();
    await assertAccessible(page, "members and canned responses");

    // TeleSign has a new key: the stored one is refused when checked; rotated, it is accepted.
    const rotatedKey = randomBytes(32).toString("base64");
    await call(`${sim}/_sim/customers`, { customer_id: customer.customer_id, api_key: rotatedKey });
    const account = settingsOfAccount;
    await account.getByRole("button", { name: "Check the stored key with TeleSign" }).click();
    await admin.locator(".adm-alert", { hasText: "TeleSign refused the credentials" }).waitFor();
    await account.getByLabel("New TeleSign API key").fill(rotatedKey);
    await account.getByLabel("Old key keeps verifying callbacks for (hours)").fill("1");
    await account.getByRole("button", { name: "Rotate key" }).click();
    await admin.locator(".adm-status", { hasText: /Key rotated; the old key verifies callbacks until/ }).waitFor();
    await account.getByRole("button", { name: "Check the stored key with TeleSign" }).click();
    await admin.locator(".adm-status", { hasText: "TeleSign accepts the stored key." }).waitFor();

    // The audit trail: what was done, newest first, with who did it; older entries a page on.
    const audit = admin.locator("#adm-audit");
    await audit.getByRole("button", { name: "Show the newest" }).click();
    await audit.getByRole("rowheader", { name: "API key rotated (key.rotated)" }).waitFor();
    const actions = await audit.locator("tbody th").allTextContents();
    const expected = ["key.rotated", "canned_response.changed", "member.changed", "number.changed", "account.changed", "number.added", "account.created"];
    for (const done of expected) {
      assert.ok(actions.some((a) => a.includes(`(${done})`)), `the audit shows ${done}: ${actions}`);
    }
    assert.ok(actions.findIndex((a) => a.includes("key.rotated")) < actions.findIndex((a) => a.includes("account.created")), "newest first");
    assert.ok((await audit.locator("tbody td", { hasText: OPERATOR }).count()) > 0, "the actor is named");
    await assertAccessible(page, "the audit trail");
    // docs/admin.png (the README's) only when asked: a test run rewrites no tracked file.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath("admin.png"), fullPage: true, clip: { x: 0, y: 0, width: 1366, height: 1500 } });

    // More changes than a page holds: "Older" reads on from the API's cursor.
    for (let i = 0; i < 25; i += 1) {
      await call(`${api}/accounts/${accountId}/numbers/${second}`, { description: `Change ${i}` }, { method: "PATCH", token: operator });
    }
    await audit.getByRole("button", { name: "Show the newest" }).click();
    const older = audit.getByRole("button", { name: "Older" });
    await older.waitFor();
    await older.click();
    await audit.getByRole("rowheader", { name: "Account created (account.created)" }).waitFor();
    assert.ok((await audit.locator("tbody tr").count()) > 25, "the older page is added below the first");

    // A member removed after a confirmation (cancelled first: nothing happens).
    await members.getByRole("button", { name: "Remove Ada Agent" }).click();
    const dialog = page.getByRole("dialog", { name: "Are you sure?" });
    await dialog.waitFor();
    await assertAccessible(page, "the confirmation");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await members.getByRole("rowheader", { name: "Ada Agent" }).count(), 1, "cancelled: still a member");
    await members.getByRole("button", { name: "Remove Ada Agent" }).click();
    await dialog.getByRole("button", { name: "Remove" }).click();
    await admin.locator(".adm-status", { hasText: "Ada Agent removed." }).waitFor();
    assert.equal(await members.getByRole("rowheader", { name: "Ada Agent" }).count(), 0);

    // A number removed and a canned response deleted, each after a confirmation.
    await numbers.getByRole("button", { name: `Remove +${second}` }).click();
    await dialog.getByRole("button", { name: "Remove" }).click();
    await admin.locator(".adm-status", { hasText: `+${second} removed.` }).waitFor();
    assert.equal(await numbers.getByRole("rowheader", { name: `+${second}` }).count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "adm-numbers-title", "the focus stays with the numbers");
    await canned.getByRole("button", { name: "Delete “Delivery time”" }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await canned.getByText("No canned response yet.").waitFor();

    // The account deleted after a confirmation: gone from the list.
    await account.getByRole("button", { name: "Delete account" }).click();
    await dialog.getByRole("button", { name: "Delete account" }).click();
    await admin.locator(".adm-status", { hasText: `Account ${name} deleted.` }).waitFor();
    assert.equal(await admin.getByRole("button", { name: `Manage ${name}` }).count(), 0, "the account is no longer listed");
  } finally {
    await browser.close();
  }
});

test("an account's 200 canned responses are read page after page, and one more is refused at the form", { timeout: 180_000 }, async () => {
  const customer = await simulatedCustomer();
  const support = number();
  const name = `Canned ${support}`;
  const operatorToken = await tokenFor(OPERATOR, ["operator"]);
  const account = await call(`${api}/accounts`, { name, ...customer, numbers: [{ number: support, type: "long_code" }] }, { token: operatorToken });
  const base = `${api}/accounts/${account.account_id}/canned-responses`;
  // As many as an account keeps: more than a page of the list (100) holds.
  for (let i = 1; i <= 200; i += 1) {
    await call(base, { title: `Answer ${String(i).padStart(3, "0")}`, text: `Canned answer number ${i}.` }, { token: operatorToken });
  }
  const person = number();
  await call(`${sim}/_sim/inbound`, { callback_url: account.callback_url, customer_id: customer.customer_id, from: person, to: support, text: "Hello?" });
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-US" })).newPage();
    const admin = await openAdmin(page);
    const finder = admin.getByLabel("Find an account by name");
    if (await finder.count()) await finder.fill(name);
    await admin.getByRole("button", { name: `Manage ${name}` }).click();
    const canned = admin.locator("#adm-canned");
    await canned.locator(".adm-canned-title", { hasText: "Answer 200" }).waitFor();
    assert.equal(await canned.locator(".adm-canned-list li").count(), 200, "every page is listed");

    // One more: refused, said at the form (tied to its button), nothing typed lost.
    await canned.getByLabel("Title").fill("Answer 201");
    await canned.getByLabel("Text", { exact: true }).fill("One too many.");
    const save = canned.getByRole("button", { name: "Save canned response" });
    await save.click();
    const refusal = canned.locator("#adm-canned-error");
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /at most 200 canned responses.*\(too_many_canned_responses\)/);
    assert.equal(await save.getAttribute("aria-describedby"), "adm-canned-error");
    assert.match(await admin.locator(".adm-alert").textContent(), /at most 200 canned responses/);
    assert.equal(await canned.getByLabel("Title").inputValue(), "Answer 201", "the title typed is kept");
    await assertAccessible(page, "too many canned responses");

    // The desk's picker offers every one of them.
    await page.locator("#admin-toggle").click();
    await page.getByLabel("Account", { exact: true }).selectOption(account.account_id);
    await page.locator("#list .row", { hasText: `+${person}` }).click();
    await page.getByLabel("Reply", { exact: true }).click();
    await page.keyboard.press("/");
    await page.getByRole("combobox", { name: "Canned response" }).waitFor();
    assert.equal(await page.locator("#canned-list [role=option]").count(), 200, "the picker holds every page");
    await page.getByRole("combobox", { name: "Canned response" }).fill("Answer 200");
    assert.equal(await page.locator("#canned-list [role=option]").count(), 1);
  } finally {
    await browser.close();
  }
});

test("a Polish browser shows the administration in Polish", { timeout: 60_000 }, async () => {
  const browser = await launch();
  try {
    const context = await browser.newContext({ locale: "pl-PL", viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const admin = await openAdmin(page);
    await admin.getByRole("heading", { name: "Administracja" }).waitFor();
    await admin.getByRole("heading", { name: "Nowe konto" }).waitFor();
    await admin.locator("#adm-new").getByLabel("Klucz API TeleSign", { exact: true }).waitFor();
    await admin.getByRole("button", { name: "Utwórz konto" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "pl");
    await assertAccessible(page, "the administration in Polish");
  } finally {
    await browser.close();
  }
});
