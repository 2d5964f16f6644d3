// An account's support numbers: the list, adding one, removing one (after a confirmation), and a
// number's settings: description, language, time zone, business hours, the idle timeouts per
// state and the six automated messages, each refusal shown at the field it concerns.

import { Field, showRefusal, button, confirmDialog, el, field, input, refusal, section, textarea } from "./admin-kit";
import { t } from "./admin-strings";
import type { Page } from "./admin";
import { Account, numberTypes } from "./admin-accounts";
import type { Answer, Schema } from "./api";

/** A support number with its settings, as the API answers it. */
export type SupportNumber = Schema<"SupportNumber">;

const KINDS = ["greeting", "away", "closing", "help", "stop", "start"] as const;
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const TIMEOUTS = ["open_after_seconds", "active_after_seconds", "waiting_after_seconds"] as const;
/** The longest idle timeout the API takes, in seconds (400 days). */
const MAX_TIMEOUT = 34_560_000;

/** The numbers of `account`, adding one, and the chosen one's settings. */
export function numbersSection(page: Page, account: Account): HTMLElement {
  const part = section(t("numbers"), "adm-numbers");
  const settingsHost = el("div");
  const showSettings = (n: SupportNumber) => {
    settingsHost.replaceChildren(settingsForm(page, account, n));
  };
  part.append(numbersTable(page, account, showSettings), addNumberForm(page, account), settingsHost);
  if (account.numbers[0]) showSettings(account.numbers[0]);
  return part;
}

function numbersTable(page: Page, account: Account, showSettings: (n: SupportNumber) => void): HTMLElement {
  if (!account.numbers.length) return el("p", { class: "adm-empty", text: t("noNumbers") });
  const head = el(
    "tr",
    {},
    ...[t("colNumber"), t("colType"), t("colDescription"), t("colLanguage"), t("colActions")].map((h) => el("th", { scope: "col", text: h })),
  );
  const rows = account.numbers.map((n) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: `+${n.number}` }),
      el("td", { text: typeName(n.type) }),
      el("td", { text: n.description }),
      el("td", { text: n.language }),
      el(
        "td",
        { class: "adm-row-actions" },
        button(t("settings"), () => {
          showSettings(n);
          document.getElementById("adm-settings-number")?.focus();
        }, { "aria-label": t("settingsOf", { number: n.number }) }),
        button(t("remove"), () => removeNumber(page, account, n.number), {
          class: "adm-danger",
          "aria-label": t("removeNumber", { number: n.number }),
        }),
      ),
    ),
  );
  return el("table", { class: "adm-table" }, el("caption", { text: t("numbersCaption") }), el("thead", {}, head), el("tbody", {}, ...rows));
}

/** A number type in the console's language (an unknown one as it is). */
function typeName(type: string): string {
  return type === "long_code" || type === "short_code" || type === "toll_free" ? t(`type_${type}`) : type;
}

async function removeNumber(page: Page, account: Account, number: string): Promise<void> {
  if (!(await confirmDialog(page.root, t("confirmRemoveNumber", { number }), t("remove")))) return;
  try {
    await page.api("DELETE", `/accounts/${account.account_id}/numbers/${number}`);
    await page.refreshAccount("adm-numbers-title");
    page.say.status(t("numberRemoved", { number }));
  } catch (e) {
    page.say.alert((e as Error).message);
  }
}

function addNumberForm(page: Page, account: Account): HTMLFormElement {
  const number = field(t("newNumber"), input({ inputmode: "tel", autocomplete: "off" }), t("firstNumberHint"));
  const type = field(t("numberType"), numberTypes());
  const description = field(t("numberDescription"), input({ maxlength: "200" }));
  const language = field(t("language"), input({ maxlength: "35", placeholder: "en-US" }), t("languageHint"));
  const form = el(
    "form",
    { novalidate: "", class: "adm-form" },
    el("fieldset", {}, el("legend", { text: t("addNumber") }), number.wrap, type.wrap, description.wrap, language.wrap),
    el("div", { class: "adm-actions" }, el("button", { type: "submit", text: t("addNumber") })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    [number, language].forEach((f) => f.error(null));
    if (number.input.value.trim() === "") {
      number.error(t("required"));
      number.input.focus();
      return;
    }
    const body: Record<string, unknown> = { number: number.input.value.trim(), type: type.input.value };
    if (description.input.value.trim()) body.description = description.input.value.trim();
    if (language.input.value.trim()) body.language = language.input.value.trim();
    try {
      const added = await page.api<Answer<"addNumber">>("POST", `/accounts/${account.account_id}/numbers`, body);
      await page.refreshAccount("adm-numbers-title");
      page.say.status(t("numberAdded", { number: added.number }));
    } catch (e) {
      showRefusal(page.say, e, (r) => ({ invalid_phone_number: number, number_in_use: number, invalid_language: language })[r.code]);
    }
  });
  return form;
}

/** Business hours as an operator types them: one day a line, `mon 09:00-12:00, 13:00-17:00`. */
export function hoursText(hours: SupportNumber["business_hours"]): string {
  if (!hours) return "";
  return DAYS.flatMap((d) => {
    const intervals = hours[d];
    return intervals ? [`${d} ${intervals.map(([a, b]) => `${a}-${b}`).join(", ")}`] : [];
  }).join("\n");
}

/** The hours typed, as the API takes them (the API judges days and times). */
export function parseHours(text: string): Record<string, [string, string][]> | null {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return null;
  const hours: Record<string, [string, string][]> = {};
  for (const line of lines) {
    const [day, ...rest] = line.split(/\s+/);
    hours[day.toLowerCase()] = rest
      .join(" ")
      .split(",")
      .map((i) => i.trim())
      .filter(Boolean)
      .map((i) => i.split("-").map((x) => x.trim()) as [string, string]);
  }
  return hours;
}

/** The settings form of one number. */
function settingsForm(page: Page, account: Account, n: SupportNumber): HTMLFormElement {
  const description = field(t("numberDescription"), input({ maxlength: "200" }));
  description.input.value = n.description;
  const language = field(t("language"), input({ maxlength: "35" }), t("languageHint"));
  language.input.value = n.language;
  const timezone = field(t("timezone"), input({ maxlength: "64" }), t("timezoneHint"));
  timezone.input.value = n.timezone;
  const hours = field(t("hours"), textarea({ rows: "3" }), t("hoursHint"));
  hours.input.value = hoursText(n.business_hours);
  const timeouts = Object.fromEntries(
    TIMEOUTS.map((k) => {
      const f = field(t(k), input({ type: "number", min: "0", step: "any" }));
      const v = n.auto_close[k];
      f.input.value = v == null ? "" : String(Math.round(v / 60));
      return [k, f];
    }),
  ) as Record<(typeof TIMEOUTS)[number], Field>;
  const messages = Object.fromEntries(
    KINDS.map((k) => {
      const f = field(t(`msg_${k}`), textarea({ maxlength: "1600" }));
      f.input.value = n.messages[k] ?? "";
      return [k, f];
    }),
  ) as Record<(typeof KINDS)[number], Field<HTMLTextAreaElement>>;
  const heading = el("h5", { id: "adm-settings-number", tabindex: "-1", text: t("settingsOf", { number: n.number }) });
  const form = el(
    "form",
    { novalidate: "", class: "adm-form adm-settings", "aria-labelledby": "adm-settings-number" },
    heading,
    description.wrap,
    language.wrap,
    timezone.wrap,
    hours.wrap,
    el("fieldset", {}, el("legend", { text: t("timeouts") }), ...TIMEOUTS.map((k) => timeouts[k].wrap)),
    el("fieldset", {}, el("legend", { text: t("automated") }), ...KINDS.map((k) => messages[k].wrap)),
    el("div", { class: "adm-actions" }, el("button", { type: "submit", text: t("saveSettings") })),
  );
  const all: Field<any>[] = [description, language, timezone, hours, ...Object.values(timeouts), ...Object.values(messages)];

  /** Which fields a refusal concerns: the API names the setting by its code. */
  function concerned(code: string): Field<any>[] {
    if (code === "invalid_timezone") return [timezone];
    if (code === "invalid_business_hours") return [hours];
    if (code === "invalid_language") return [language];
    if (code === "invalid_auto_close") {
      const wrong = TIMEOUTS.filter((k) => {
        const v = timeouts[k].input.value.trim();
        return v !== "" && !(Number(v) * 60 >= 1 && Number(v) * 60 <= MAX_TIMEOUT);
      });
      return (wrong.length ? wrong : TIMEOUTS).map((k) => timeouts[k]);
    }
    if (code === "invalid_automated_message") {
      const wrong = KINDS.filter((k) => messages[k].input.value.length > 1600);
      return wrong.map((k) => messages[k]);
    }
    return [];
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    all.forEach((f) => f.error(null));
    const change: Record<string, unknown> = {
      description: description.input.value.trim(),
      language: language.input.value.trim(),
      timezone: timezone.input.value.trim() || null,
      business_hours: parseHours(hours.input.value),
    };
    const minutes = (k: (typeof TIMEOUTS)[number]) => timeouts[k].input.value.trim();
    change.auto_close = Object.fromEntries(TIMEOUTS.map((k) => [k, minutes(k) === "" ? null : Math.round(Number(minutes(k)) * 60)]));
    const changed: Record<string, string | null> = {};
    for (const k of KINDS) {
      const text = messages[k].input.value;
      // Untouched texts stay as they are (a default keeps following the number's language).
      if (text !== (n.messages[k] ?? "")) changed[k] = text.trim() === "" ? null : text;
    }
    change.messages = changed;
    try {
      const saved = await page.api<Answer<"changeNumber">>("PATCH", `/accounts/${account.account_id}/numbers/${n.number}`, change);
      Object.assign(n, saved);
      page.say.status(t("settingsSaved", { number: saved.number }));
      page.refreshAudit();
    } catch (e) {
      const r = refusal(e);
      const at = concerned(r.code);
      at.forEach((f) => f.error(`${r.message} (${r.code})`));
      at[0]?.input.focus();
      page.say.alert(at.length ? t("fixField") : (e as Error).message);
    }
  });
  return form;
}
