// The accounts: the list to choose from, a new account (TeleSign's verdict on the key shown at
// the field it concerns, nothing typed lost; the callback URL to copy once created), and the
// chosen account's own settings: callback URL, name and retention, the stored key checked again,
// the key rotated, the account deleted.

import { Field, Say, button, confirmDialog, copyable, el, field, input, refusal, section, select } from "./admin-kit";
import { t } from "./admin-strings";
import { formatNumber, formatTime } from "./i18n";
import type { Page } from "./admin";
import type { Answer, RequestBody, Schema } from "./api";

/** An account as `GET /accounts/{id}` answers it (operators see every field). */
export type Account = Schema<"Account">;

/** An account as the list answers it: its numbers named, without their settings. */
export type AccountSummary = Schema<"AccountSummary">;

/** What the parts supervisors see too (members, canned responses, the audit trail) need of an account. */
export type AccountRef = Pick<AccountSummary, "account_id" | "name">;

/** TeleSign's verdict on credentials (`POST /accounts/validate`). */
type Validation = Schema<"Validation">;

const HOSTS: Schema<"ApiHost">[] = ["standard", "enterprise", "legacy"];

/** What the operator typed to find an account: kept while the list is drawn again. */
export interface Finder {
  text: string;
}

/** The accounts to choose from, the chosen one marked, narrowed by a name typed. */
export function accountsList(page: Page, accounts: AccountSummary[], chosen: string, choose: (id: string) => void, finder: Finder): HTMLElement {
  const part = section(t("accounts"), "adm-accounts", "h3");
  if (!accounts.length) {
    part.append(el("p", { class: "adm-empty", text: t("noAccounts") }));
    return part;
  }
  const head = el("tr", {}, ...[t("colName"), t("colNumbers"), t("colCreated"), t("colActions")].map((h) => el("th", { scope: "col", text: h })));
  const rows = accounts.map((a) => {
    const current = a.account_id === chosen;
    const manage = button(t("manage"), () => choose(a.account_id), { "aria-label": t("manageAccount", { name: a.name }) });
    const row = el(
      "tr",
      current ? { "aria-current": "true" } : {},
      el("th", { scope: "row", text: a.name }),
      el("td", { text: page.operator ? formatNumber(a.numbers.length) : "–" }),
      el("td", { text: a.created_at ? formatTime(a.created_at) : "–" }),
      el("td", {}, manage),
    );
    return { row, name: a.name.toLowerCase(), current };
  });
  const find = field(t("findAccount"), input({ type: "search", autocomplete: "off" }));
  const count = el("p", { class: "adm-hint", "aria-live": "polite" });
  const narrow = () => {
    finder.text = find.input.value;
    const wanted = finder.text.trim().toLowerCase();
    let shown = 0;
    for (const r of rows) {
      r.row.hidden = wanted !== "" && !r.name.includes(wanted);
      if (!r.row.hidden) shown += 1;
    }
    count.textContent = wanted ? t("accountsFound", { n: shown, of: rows.length }) : "";
  };
  find.input.value = finder.text;
  find.input.addEventListener("input", narrow);
  narrow();
  // A long list scrolls in its own box (reachable by keyboard), the chosen account in sight.
  const box = el(
    "div",
    { class: "adm-scroll", tabindex: "0", role: "region", "aria-label": t("accounts") },
    el("table", { class: "adm-table" }, el("caption", { class: "adm-sr", text: t("accounts") }), el("thead", {}, head), el("tbody", {}, ...rows.map((r) => r.row))),
  );
  part.append(...(rows.length > 5 ? [find.wrap, count] : []), box);
  const current = rows.find((r) => r.current)?.row;
  if (current) requestAnimationFrame(() => (box.scrollTop = Math.max(0, current.offsetTop - box.clientHeight / 2)));
  return part;
}

/** The fields of credentials: customer id, API key (hidden unless asked), host. */
interface CredentialFields {
  customerId: Field;
  apiKey: Field;
  host: Field<HTMLSelectElement>;
  show: HTMLDivElement;
}

function credentialFields(): CredentialFields {
  const customerId = field(t("customerId"), input({ autocomplete: "off", spellcheck: "false", maxlength: "64" }), t("customerIdHint"));
  const apiKey = field(t("apiKey"), input({ type: "password", autocomplete: "new-password", spellcheck: "false" }), t("apiKeyHint"));
  const host = field(t("apiHost"), select(HOSTS.map((h) => [h, t(`host_${h}`)])));
  const toggle = el("input", { type: "checkbox", id: "adm-show-key" });
  toggle.addEventListener("change", () => (apiKey.input.type = toggle.checked ? "text" : "password"));
  const show = el("div", { class: "adm-check" }, toggle, el("label", { for: "adm-show-key", text: t("showKey") }));
  return { customerId, apiKey, host, show };
}

/** Puts TeleSign's verdict where it belongs: a wrong host on the host, anything else on the key. */
function showVerdict(v: Validation, f: CredentialFields): void {
  const text = `${v.message} (${v.result}${v.telesign_code ? `, TeleSign ${v.telesign_code}` : ""})`;
  const at = v.result === "wrong_host" ? f.host : f.apiKey;
  at.error(text);
  if (v.result === "invalid_credentials") f.customerId.error(t("checkCustomerId"));
  at.input.focus();
}

/** Puts a refusal of the API at the field it concerns, or in the alert when none does. */
function placeRefusal(e: unknown, fields: Record<string, Field<any>>, say: Say): void {
  const r = refusal(e);
  const at = fields[r.code];
  if (at) {
    at.error(`${r.message} (${r.code})`);
    at.input.focus();
    say.alert(t("fixField"));
  } else {
    say.alert(r.code ? `${r.message} (${r.code})` : r.message);
  }
}

/** The form for a new account, and once created, its callback URL to copy. */
export function newAccountForm(page: Page): HTMLElement {
  const part = section(t("newAccount"), "adm-new", "h3");
  const name = field(t("accountName"), input({ maxlength: "100", autocomplete: "off" }));
  const creds = credentialFields();
  const number = field(t("firstNumber"), input({ inputmode: "tel", autocomplete: "off" }), t("firstNumberHint"));
  const type = field(t("numberType"), numberTypes());
  const description = field(t("numberDescription"), input({ maxlength: "200" }));
  const check = button(t("checkKey"), () => validate(false));
  const create = el("button", { type: "submit", text: t("createAccount") });
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    name.wrap,
    creds.customerId.wrap,
    creds.apiKey.wrap,
    creds.show,
    creds.host.wrap,
    el("fieldset", {}, el("legend", { text: t("firstNumberGroup") }), number.wrap, type.wrap, description.wrap),
    el("div", { class: "adm-actions" }, check, create),
  );
  const created = el("div", { class: "adm-created", hidden: "" });
  part.append(form, created);
  const all = [name, creds.customerId, creds.apiKey, creds.host, number, type, description];
  const byCode: Record<string, Field<any>> = {
    invalid_name: name,
    invalid_customer_id: creds.customerId,
    customer_id_in_use: creds.customerId,
    invalid_api_key: creds.apiKey,
    invalid_credentials: creds.apiKey,
    invalid_api_host: creds.host,
    invalid_phone_number: number,
    number_in_use: number,
    duplicate_number: number,
    too_many_numbers: number,
    attachments_not_supported: number,
  };

  /** The fields a request needs, each refused where it is when empty (the first focused). */
  function required(fields: Field[]): boolean {
    let ok = true;
    for (const f of fields) {
      if (f.input.value.trim() === "") {
        f.error(t("required"));
        if (ok) f.input.focus();
        ok = false;
      }
    }
    return ok;
  }

  /** Asks TeleSign about the key (`creating`: the name is needed too); true when it accepted it. */
  async function validate(creating: boolean): Promise<boolean> {
    all.forEach((f) => f.error(null));
    if (!required([...(creating ? [name] : []), creds.customerId, creds.apiKey])) return false;
    page.say.status(t("checking"));
    try {
      const v = await page.api<Answer<"validateCredentials">>("POST", "/accounts/validate", {
        customer_id: creds.customerId.input.value.trim(),
        api_key: creds.apiKey.input.value.trim(),
        api_host: creds.host.input.value,
      });
      if (v.valid) {
        page.say.status(t("keyAccepted"));
        return true;
      }
      showVerdict(v, creds);
      page.say.alert(t("keyRefused", { why: v.message }));
    } catch (e) {
      placeRefusal(e, byCode, page.say);
    }
    return false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!(await validate(true))) return;
    const typed = number.input.value.trim();
    const body = {
      name: name.input.value.trim(),
      customer_id: creds.customerId.input.value.trim(),
      api_key: creds.apiKey.input.value.trim(),
      api_host: creds.host.input.value,
      numbers: typed ? [{ number: typed, type: type.input.value, description: description.input.value.trim() }] : [],
    };
    try {
      const account = await page.api<Answer<"createAccount">>("POST", "/accounts", body);
      form.reset();
      creds.apiKey.input.type = "password";
      showCreated(account);
      // Said before the list is read again: what the operator does meanwhile (a copy of the
      // callback URL) is said after it, never overwritten by it.
      page.say.status(t("accountCreated", { name: account.name }));
      await page.reload(account.account_id);
    } catch (e) {
      placeRefusal(e, byCode, page.say);
    }
  });

  function showCreated(account: Account): void {
    const heading = el("h4", { id: "adm-created-title", tabindex: "-1", text: t("createdTitle", { name: account.name }) });
    created.replaceChildren(
      heading,
      el("p", { text: t("createdHelp") }),
      copyable(t("callbackUrl"), t("copyCallback"), account.callback_url ?? "", page.say),
    );
    created.hidden = false;
    heading.focus();
  }
  return part;
}

/** The number types TeleSign sells. */
export function numberTypes(): HTMLSelectElement {
  return select([
    ["long_code", t("type_long_code")],
    ["short_code", t("type_short_code")],
    ["toll_free", t("type_toll_free")],
  ]);
}

/** The chosen account's own settings (operators). */
export function accountDetails(page: Page, account: Account): HTMLElement {
  const part = section(t("accountSettings"), "adm-acct");
  part.append(
    el(
      "dl",
      { class: "adm-facts" },
      el("dt", { text: t("customerId") }),
      el("dd", { text: account.customer_id ?? "" }),
      el("dt", { text: t("apiHost") }),
      el("dd", { text: account.api_host ?? "" }),
      el("dt", { text: t("accountId") }),
      el("dd", { text: account.account_id }),
    ),
    copyable(t("callbackUrl"), t("copyCallback"), account.callback_url ?? "", page.say),
    renameForm(page, account),
    checkStoredKey(page, account),
    rotateForm(page, account),
    el("div", { class: "adm-actions" }, button(t("deleteAccount"), () => remove(page, account), { class: "adm-danger" })),
  );
  return part;
}

function renameForm(page: Page, account: Account): HTMLFormElement {
  const name = field(t("accountName"), input({ maxlength: "100" }));
  name.input.value = account.name;
  const retention = field(t("retention"), input({ type: "number", min: "1", max: "3650", step: "1" }), t("retentionHint"));
  retention.input.value = account.retention_days == null ? "" : String(account.retention_days);
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    el("fieldset", {}, el("legend", { text: t("nameAndRetention") }), name.wrap, retention.wrap),
    el("div", { class: "adm-actions" }, el("button", { type: "submit", text: t("saveAccount") })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const days = retention.input.value.trim();
    const body = { name: name.input.value.trim(), retention_days: days === "" ? null : Number(days) } satisfies RequestBody<"changeAccount">;
    try {
      const saved = await page.api<Answer<"changeAccount">>("PATCH", `/accounts/${account.account_id}`, body);
      await page.reload(account.account_id);
      document.getElementById("adm-acct-title")?.focus();
      page.say.status(t("accountSaved", { name: saved.name }));
    } catch (e) {
      placeRefusal(e, { invalid_name: name, invalid_parameter: retention }, page.say);
    }
  });
  return form;
}

/** Asks TeleSign about the stored key again and says what it answered. */
function checkStoredKey(page: Page, account: Account): HTMLDivElement {
  const verdict = el("p", { class: "adm-verdict" });
  const check = async () => {
    page.say.status(t("checking"));
    try {
      const v = await page.api<Answer<"validateStoredCredentials">>("POST", `/accounts/${account.account_id}/validate`);
      verdict.textContent = `${v.message} (${v.result})`;
      verdict.className = `adm-verdict ${v.valid ? "adm-ok" : "adm-bad"}`;
      if (v.valid) page.say.status(t("storedKeyValid"));
      else page.say.alert(t("keyRefused", { why: v.message }));
    } catch (e) {
      page.say.alert((e as Error).message);
    }
  };
  return el("div", { class: "adm-actions" }, button(t("checkStoredKey"), check), verdict);
}

function rotateForm(page: Page, account: Account): HTMLFormElement {
  const key = field(t("newApiKey"), input({ type: "password", autocomplete: "new-password", spellcheck: "false" }), t("apiKeyHint"));
  const grace = field(t("graceHours"), input({ type: "number", min: "0", max: "168", step: "any" }), t("graceHint"));
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    el("fieldset", {}, el("legend", { text: t("rotateKey") }), key.wrap, grace.wrap),
    el("div", { class: "adm-actions" }, el("button", { type: "submit", text: t("rotate") })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    key.error(null);
    if (key.input.value.trim() === "") {
      key.error(t("required"));
      key.input.focus();
      return;
    }
    const body: RequestBody<"rotateApiKey"> = { api_key: key.input.value.trim() };
    const hours = grace.input.value.trim();
    if (hours !== "") body.grace_period_seconds = Math.round(Number(hours) * 3600);
    page.say.status(t("checking"));
    try {
      const r = await page.api<Answer<"rotateApiKey">>("PUT", `/accounts/${account.account_id}/api-key`, body);
      form.reset();
      // A key made current answers until when the previous one still verifies callbacks (null:
      // revoked at once); a staged key (`next_key_staged_at`) answers no such time.
      const until = "previous_key_valid_until" in r ? r.previous_key_valid_until : null;
      page.say.status(until ? t("rotatedUntil", { until: formatTime(until) }) : t("rotated"));
      page.refreshAudit();
    } catch (e) {
      placeRefusal(e, { invalid_api_key: key, invalid_credentials: key, invalid_grace_period: grace }, page.say);
    }
  });
  return form;
}

async function remove(page: Page, account: Account): Promise<void> {
  if (!(await confirmDialog(page.root, t("confirmDeleteAccount", { name: account.name }), t("deleteAccount")))) return;
  try {
    await page.api("DELETE", `/accounts/${account.account_id}`);
    await page.reload("");
    document.getElementById("adm-accounts-title")?.focus();
    page.say.status(t("accountDeleted", { name: account.name }));
  } catch (e) {
    page.say.alert((e as Error).message);
  }
}
