// The operator's pages of the console: the messaging accounts (create with TeleSign's verdict on
// the key, the callback URL to copy, rotate the key, check it again, rename, retention, delete),
// an account's numbers and their settings, its members, its canned responses and its audit trail.
// Everything is built inside the root the desk hands over; supervisors see the parts their role
// allows (members, canned responses, the audit trail of their accounts).

import { Api, Say, el } from "./admin-kit";
import { Answer, everyPage } from "./api";
import { t } from "./admin-strings";
import { AccountSummary, accountDetails, accountsList, newAccountForm } from "./admin-accounts";
import { numbersSection } from "./admin-numbers";
import { membersSection } from "./admin-members";
import { cannedSection } from "./admin-canned";
import { auditSection } from "./admin-audit";
import type { Me } from "./state";

export interface AdminContext {
  /** The channel's API, same origin, bearer attached; throws Error("<message> (<code>)") on an error answer. */
  api: Api;
  /** GET /me as the console read it. */
  me: Me;
}

/** The event `root` sends (bubbling) when an account was created, renamed or deleted. */
export const ACCOUNTS_CHANGED = "admin-accounts-changed";

/** What each part of the page is given: the API, the live regions, and the page's own moves. */
export interface Page {
  api: Api;
  say: Say;
  /** Where dialogs go. */
  root: HTMLElement;
  operator: boolean;
  /** Lists the accounts again and shows `choose` (or the one shown); `choose` given, after a change. */
  reload: (choose?: string) => Promise<void>;
  /** Reads the shown account again and redraws what depends on it, then focuses `focus` (an id). */
  refreshAccount: (focus?: string) => Promise<void>;
  /** Reads the audit trail again (after a change). */
  refreshAudit: () => void;
}

/** Builds the administration inside `root`. */
export function mountAdmin(root: HTMLElement, ctx: AdminContext): void {
  const status = el("p", { class: "adm-status", role: "status", "aria-live": "polite" });
  const alert = el("p", { class: "adm-alert", role: "alert" });
  const say: Say = {
    status: (text) => {
      alert.textContent = "";
      status.textContent = text;
    },
    alert: (text) => {
      status.textContent = "";
      alert.textContent = text;
    },
  };
  const operator = ctx.me.roles.includes("operator");
  const list = el("div", { class: "adm-accounts" });
  const listHost = el("div");
  const shown = el("div", { class: "adm-shown" });
  root.classList.add("adm");
  root.replaceChildren(
    el("h2", { id: "adm-title", text: t("title") }),
    el("div", { class: "adm-live" }, status, alert),
    list,
    shown,
  );
  if (!root.hasAttribute("aria-labelledby")) root.setAttribute("aria-labelledby", "adm-title");

  let accounts: AccountSummary[] = [];
  let chosen = "";
  const finder = { text: "" };
  /** Each showing of an account: an answer for an earlier one is dropped. */
  let generation = 0;
  let audit: { refresh: () => void } | null = null;

  const page: Page = {
    api: ctx.api,
    say,
    root,
    operator,
    reload: async (choose) => {
      accounts = operator
        ? await everyPage<AccountSummary>("/accounts", "accounts", 100, ctx.api)
        : ctx.me.accounts
            .filter((a) => a.role === "supervisor" || a.role === "operator")
            .map((a) => ({ account_id: a.account_id, name: a.name, numbers: [], created_at: "" }));
      accounts.sort((a, b) => a.name.localeCompare(b.name));
      if (choose !== undefined) chosen = choose;
      if (!accounts.some((a) => a.account_id === chosen)) chosen = accounts[0]?.account_id ?? "";
      drawList();
      // An account created, renamed or deleted: the desk may read its accounts again.
      if (choose !== undefined) root.dispatchEvent(new CustomEvent(ACCOUNTS_CHANGED, { bubbles: true }));
      await show();
    },
    refreshAccount: async (focus) => {
      await show();
      if (focus) document.getElementById(focus)?.focus();
    },
    refreshAudit: () => audit?.refresh(),
  };

  // The new account's form stays as it is while the list is drawn again (what it shows survives).
  list.append(listHost, ...(operator ? [newAccountForm(page)] : []));

  function drawList(): void {
    listHost.replaceChildren(
      accountsList(page, accounts, chosen, (id) => {
        chosen = id;
        drawList();
        void show()
          .then(() => document.getElementById("adm-account-title")?.focus())
          .catch((e) => say.alert((e as Error).message));
      }, finder),
    );
  }

  async function show(): Promise<void> {
    const mine = ++generation;
    if (!chosen) {
      shown.replaceChildren(el("p", { class: "adm-empty", text: t("noAccounts") }));
      return;
    }
    const listed = accounts.find((a) => a.account_id === chosen);
    if (!listed) return;
    // Operators read the whole account (its numbers' settings, its key's host); the others
    // have its id and name from their own membership.
    const full = operator ? await ctx.api<Answer<"getAccount">>("GET", `/accounts/${chosen}`) : null;
    if (mine !== generation) return;
    const account = full ?? listed;
    const auditPart = auditSection(page, account);
    audit = auditPart;
    // Two columns on a wide screen: the account and its numbers; its people and their words.
    shown.replaceChildren(
      el("h3", { id: "adm-account-title", class: "adm-account-title", tabindex: "-1", text: t("accountTitle", { name: account.name }) }),
      el(
        "div",
        { class: "adm-columns" },
        ...(full ? [el("div", {}, accountDetails(page, full), numbersSection(page, full))] : []),
        el("div", {}, membersSection(page, account), cannedSection(page, account)),
      ),
      auditPart.element,
    );
  }

  void page.reload().catch((e) => say.alert((e as Error).message));
}
