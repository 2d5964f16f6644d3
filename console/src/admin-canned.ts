// An account's canned responses (operators and the account's supervisors): the list in title
// order (every page of it: at most 200 an account, 100 a page), one written or changed in the
// form, one deleted after a confirmation. A refusal that names no field (an account that keeps
// 200 already) is shown at the form, tied to it.

import { Answer, everyPage, RequestBody } from "./api";
import { refusal, showRefusal, button, confirmDialog, el, field, input, section, textarea } from "./admin-kit";
import { t } from "./admin-strings";
import type { Page } from "./admin";
import type { AccountRef } from "./admin-accounts";
import type { Canned } from "./state";

/** The canned responses of `account`. */
export function cannedSection(page: Page, account: AccountRef): HTMLElement {
  const part = section(t("canned"), "adm-canned");
  const base = `/accounts/${account.account_id}/canned-responses`;
  const listHost = el("div", {}, el("p", { class: "adm-empty", text: t("loading") }));
  const title = field(t("cannedTitle"), input({ maxlength: "100", autocomplete: "off" }));
  const text = field(t("cannedText"), textarea({ rows: "3", maxlength: "1600" }), t("cannedTextHint"));
  const legend = el("legend", { text: t("cannedNew") });
  const save = el("button", { type: "submit", text: t("saveCanned") });
  const cancel = button(t("cancelEdit"), () => stopEditing(), { hidden: "" });
  const formError = el("p", { id: "adm-canned-error", class: "adm-field-error", hidden: "" });
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    el("fieldset", {}, legend, title.wrap, text.wrap),
    formError,
    el("div", { class: "adm-actions" }, save, cancel),
  );
  /** Shows `message` as the whole form's error, described to the save button (null clears it). */
  const showFormError = (message: string | null) => {
    formError.textContent = message ?? "";
    formError.hidden = message === null;
    if (message === null) save.removeAttribute("aria-describedby");
    else save.setAttribute("aria-describedby", formError.id);
  };
  part.append(listHost, form);
  /** The response being changed, or null for a new one. */
  let editing: Canned | null = null;

  const load = async () => {
    try {
      listHost.replaceChildren(list(await everyPage<Canned>(base, "canned_responses", 100, page.api)));
    } catch (e) {
      listHost.replaceChildren(el("p", { class: "adm-empty", text: (e as Error).message }));
    }
  };

  function list(items: Canned[]): HTMLElement {
    if (!items.length) return el("p", { class: "adm-empty", text: t("noCanned") });
    return el(
      "ul",
      { class: "adm-canned-list", "aria-label": t("canned") },
      ...items.map((c) =>
        el(
          "li",
          {},
          el("p", { class: "adm-canned-title", text: c.title }),
          el("p", { class: "adm-canned-text", text: c.text }),
          el(
            "div",
            { class: "adm-row-actions" },
            button(t("edit"), () => startEditing(c), { "aria-label": t("editCanned", { title: c.title }) }),
            button(t("delete"), () => remove(c), { class: "adm-danger", "aria-label": t("deleteCanned", { title: c.title }) }),
          ),
        ),
      ),
    );
  }

  function startEditing(c: Canned): void {
    editing = c;
    legend.textContent = t("cannedEdit", { title: c.title });
    title.input.value = c.title;
    text.input.value = c.text;
    cancel.hidden = false;
    title.input.focus();
  }

  function stopEditing(): void {
    editing = null;
    legend.textContent = t("cannedNew");
    form.reset();
    [title, text].forEach((f) => f.error(null));
    showFormError(null);
    cancel.hidden = true;
  }

  async function remove(c: Canned): Promise<void> {
    if (!(await confirmDialog(page.root, t("confirmDeleteCanned", { title: c.title }), t("delete")))) return;
    try {
      await page.api("DELETE", `${base}/${c.canned_response_id}`);
      if (editing?.canned_response_id === c.canned_response_id) stopEditing();
      await load();
      page.refreshAudit();
      document.getElementById("adm-canned-title")?.focus();
      page.say.status(t("cannedDeleted", { title: c.title }));
    } catch (e) {
      page.say.alert((e as Error).message);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    [title, text].forEach((f) => f.error(null));
    showFormError(null);
    const body = { title: title.input.value.trim(), text: text.input.value } satisfies RequestBody<"createCannedResponse">;
    const empty = [body.title === "" ? title : null, body.text.trim() === "" ? text : null].filter((f) => f !== null);
    if (empty.length) {
      empty.forEach((f) => f!.error(t("required")));
      empty[0]!.input.focus();
      return;
    }
    try {
      const saved = editing
        ? await page.api<Answer<"changeCannedResponse">>("PUT", `${base}/${editing.canned_response_id}`, body)
        : await page.api<Answer<"createCannedResponse">>("POST", base, body);
      stopEditing();
      await load();
      page.refreshAudit();
      page.say.status(t("cannedSaved", { title: saved.title }));
    } catch (e) {
      const r = refusal(e);
      if (r.code === "too_many_canned_responses") {
        // The account keeps as many as it may: said at the form, nothing typed lost.
        showFormError(`${r.message} (${r.code})`);
        page.say.alert(r.message);
        save.focus();
        return;
      }
      // The API's message names the field it refuses ("title is …", "text is …").
      showRefusal(page.say, e, () =>
        r.code !== "invalid_canned_response" ? undefined : /^title\b/i.test(r.message) ? title : text,
      );
    }
  });

  void load();
  return part;
}
