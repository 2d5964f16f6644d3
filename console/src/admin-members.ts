// An account's members: the list (operators and the account's supervisors), and for operators a
// member added or changed (role, display name) and removed after a confirmation (their
// conversations become unassigned).

import { showRefusal, button, confirmDialog, el, field, input, section, select } from "./admin-kit";
import { t } from "./admin-strings";
import { Answer, everyPage } from "./api";
import { formatTime } from "./i18n";
import type { Page } from "./admin";
import type { AccountRef } from "./admin-accounts";
import type { Member } from "./state";

/** The members of `account`. */
export function membersSection(page: Page, account: AccountRef): HTMLElement {
  const part = section(t("members"), "adm-members");
  const listHost = el("div", {}, el("p", { class: "adm-empty", text: t("loading") }));
  const user = field(t("memberUser"), input({ maxlength: "128", autocomplete: "off" }), t("memberUserHint"));
  const name = field(t("memberName"), input({ maxlength: "100", autocomplete: "off" }));
  const role = field(t("memberRole"), select([["agent", t("role_agent")], ["supervisor", t("role_supervisor")]]));
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    el("fieldset", {}, el("legend", { text: t("memberForm") }), user.wrap, name.wrap, role.wrap),
    el("div", { class: "adm-actions" }, el("button", { type: "submit", text: t("saveMember") })),
  );
  part.append(listHost, ...(page.operator ? [form] : []));

  const load = async () => {
    try {
      const members = await everyPage<Member>(`/accounts/${account.account_id}/members`, "members", 100, page.api);
      listHost.replaceChildren(table(members));
    } catch (e) {
      listHost.replaceChildren(el("p", { class: "adm-empty", text: (e as Error).message }));
    }
  };

  function table(members: Member[]): HTMLElement {
    if (!members.length) return el("p", { class: "adm-empty", text: t("noMembers") });
    const cols = [t("colName"), t("colUser"), t("colRole"), t("colAdded"), ...(page.operator ? [t("colActions")] : [])];
    const rows = members.map((m) => {
      const shown = m.display_name ?? m.user_id;
      const actions = page.operator
        ? [
            el(
              "td",
              { class: "adm-row-actions" },
              button(t("edit"), () => edit(m), { "aria-label": t("editMember", { name: shown }) }),
              button(t("remove"), () => remove(m), { class: "adm-danger", "aria-label": t("removeMember", { name: shown }) }),
            ),
          ]
        : [];
      return el(
        "tr",
        {},
        el("th", { scope: "row", text: shown }),
        el("td", { text: m.user_id }),
        el("td", { text: t(m.role === "supervisor" ? "role_supervisor" : "role_agent") }),
        el("td", { text: formatTime(m.added_at) }),
        ...actions,
      );
    });
    return el(
      "table",
      { class: "adm-table" },
      el("caption", { text: t("membersCaption") }),
      el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", { scope: "col", text: c })))),
      el("tbody", {}, ...rows),
    );
  }

  function edit(m: Member): void {
    user.input.value = m.user_id;
    name.input.value = m.display_name ?? "";
    role.input.value = m.role;
    name.input.focus();
  }

  async function remove(m: Member): Promise<void> {
    const shown = m.display_name ?? m.user_id;
    if (!(await confirmDialog(page.root, t("confirmRemoveMember", { name: shown }), t("remove")))) return;
    try {
      await page.api("DELETE", `/accounts/${account.account_id}/members/${encodeURIComponent(m.user_id)}`);
      await load();
      document.getElementById("adm-members-title")?.focus();
      page.say.status(t("memberRemoved", { name: shown }));
      page.refreshAudit();
    } catch (e) {
      page.say.alert((e as Error).message);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    [user, name].forEach((f) => f.error(null));
    const id = user.input.value.trim();
    if (!id) {
      user.error(t("required"));
      user.input.focus();
      return;
    }
    const body: Record<string, string> = { role: role.input.value };
    if (name.input.value.trim()) body.display_name = name.input.value.trim();
    try {
      const saved = await page.api<Answer<"putMember">>("PUT", `/accounts/${account.account_id}/members/${encodeURIComponent(id)}`, body);
      form.reset();
      await load();
      page.say.status(t("memberSaved", { name: saved.display_name ?? saved.user_id }));
      page.refreshAudit();
    } catch (e) {
      showRefusal(page.say, e, (r) => ({ invalid_display_name: name, invalid_user_id: user, invalid_role: role })[r.code]);
    }
  });

  void load();
  return part;
}
