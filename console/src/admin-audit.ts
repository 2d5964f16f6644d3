// An account's audit trail, newest first: time, actor, action, target and detail, a page at a
// time ("Older" follows the API's next_cursor).

import { button, el, section } from "./admin-kit";
import { actionText, t } from "./admin-strings";
import { formatTime } from "./i18n";
import type { Page } from "./admin";
import type { AccountRef } from "./admin-accounts";
import type { Answer, Schema } from "./api";

/** An audit entry, as the API answers it. */
type Entry = Schema<"AuditEntry">;

const PAGE = 25;

/** The detail of an entry as `key: value` pairs. */
function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("; ");
}

/** The audit section of `account`, with a way to read it again from the newest entry. */
export function auditSection(page: Page, account: AccountRef): { element: HTMLElement; refresh: () => void } {
  const part = section(t("audit"), "adm-audit");
  const body = el("tbody");
  const table = el(
    "table",
    { class: "adm-table adm-audit" },
    el("caption", { text: t("auditCaption") }),
    el("thead", {}, el("tr", {}, ...[t("colTime"), t("colActor"), t("colAction"), t("colTarget"), t("colDetail")].map((h) => el("th", { scope: "col", text: h })))),
    body,
  );
  const empty = el("p", { class: "adm-empty", text: t("loading") });
  const older = button(t("older"), () => more(), { hidden: "" });
  const refreshButton = button(t("refreshAudit"), () => refresh());
  part.append(el("div", { class: "adm-actions" }, refreshButton), empty, table, el("div", { class: "adm-actions" }, older));
  let cursor: string | null = null;
  /** Each reading from the top: a page answered for an earlier one is dropped. */
  let reading = 0;

  async function fetchPage(from: string | null, mine: number): Promise<void> {
    const q = new URLSearchParams({ account_id: account.account_id, limit: String(PAGE) });
    if (from) q.set("cursor", from);
    try {
      const data = await page.api<Answer<"listAudit">>("GET", `/audit?${q}`);
      if (mine !== reading) return;
      body.append(...data.entries.map(row));
      cursor = data.next_cursor;
      older.hidden = cursor === null;
      empty.hidden = body.children.length > 0;
      empty.textContent = t("noAudit");
      table.hidden = body.children.length === 0;
    } catch (e) {
      empty.hidden = false;
      empty.textContent = (e as Error).message;
    }
  }

  function row(e: Entry): HTMLTableRowElement {
    return el(
      "tr",
      {},
      el("td", {}, el("time", { datetime: e.at, text: formatTime(e.at) })),
      el("td", { text: e.actor }),
      el("th", { scope: "row", text: actionText(e.action) }),
      el("td", { text: e.target }),
      el("td", { class: "adm-detail", text: detailText(e.detail) }),
    );
  }

  function refresh(): void {
    reading += 1;
    body.replaceChildren();
    cursor = null;
    void fetchPage(null, reading);
  }

  async function more(): Promise<void> {
    const first = body.children.length;
    await fetchPage(cursor, reading);
    // The first of the older entries takes the focus, so reading goes on from there.
    const next = body.children[first] as HTMLElement | undefined;
    if (next) {
      next.tabIndex = -1;
      next.focus();
    } else if (older.hidden) refreshButton.focus();
    page.say.status(t("olderShown", { n: body.children.length - first }));
  }

  table.hidden = true;
  refresh();
  return { element: part, refresh };
}
