// What the operator's pages share: building elements, labelled fields whose errors are tied to
// them, the page's polite status and its alert, a confirmation dialog, copying a value, and
// reading the API's error code out of the error the console's `api` throws.

import { t } from "./admin-strings";
import type { api } from "./api";

/** The console's call to the API (see `AdminContext.api`): `api<Answer<"operationId">>(…)`. */
export type Api = typeof api;

/** An element with attributes (`text` sets its text) and children: the desk's own. */
export { el } from "./dom";
import { el } from "./dom";

/** A button of type button that runs `action` on a click. */
export function button(text: string, action: () => unknown, props: Record<string, string> = {}): HTMLButtonElement {
  const b = el("button", { type: "button", ...props, text });
  b.addEventListener("click", () => void action());
  return b;
}

/** The API's refusal: its code and sentence, read from `Error("<message> (<code>)")`. */
export interface Refusal {
  code: string;
  message: string;
}

export function refusal(e: unknown): Refusal {
  const text = e instanceof Error ? e.message : String(e);
  const m = /^([\s\S]*) \(([a-z][a-z_]*)\)$/.exec(text);
  return m ? { code: m[2], message: m[1] } : { code: "", message: text };
}

/**
 * Shows a refused request: at the field `at` picks for its refusal (the error tied to it, the
 * focus there, "fix the field" in the alert), else the whole message in the alert.
 */
export function showRefusal(say: Say, e: unknown, at: (r: Refusal) => Field<HTMLElement> | undefined): void {
  const r = refusal(e);
  const f = at(r);
  if (f) {
    f.error(`${r.message} (${r.code})`);
    f.input.focus();
    say.alert(t("fixField"));
  } else say.alert((e as Error).message);
}

let fieldCount = 0;

/** A labelled control with its own error line, tied to it by aria-describedby. */
export interface Field<E extends HTMLElement = HTMLInputElement> {
  /** The label, the control, its hint and its error line, to put in a form. */
  wrap: HTMLDivElement;
  input: E;
  /** Shows `message` as this field's error (aria-invalid), or clears it with null. */
  error: (message: string | null) => void;
}

/**
 * A field: `input` (an input, a select or a textarea) with a visible label, an optional hint and
 * an error line that the control names in aria-describedby while it holds an error.
 */
export function field<E extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  input: E,
  hint?: string,
): Field<E> {
  const id = `adm-f${++fieldCount}`;
  input.id = id;
  const hintLine = hint ? el("p", { id: `${id}-hint`, class: "adm-hint", text: hint }) : null;
  const errorLine = el("p", { id: `${id}-error`, class: "adm-field-error", hidden: "" });
  const describe = (withError: boolean) => {
    const ids = [hintLine ? `${id}-hint` : "", withError ? `${id}-error` : ""].filter(Boolean).join(" ");
    if (ids) input.setAttribute("aria-describedby", ids);
    else input.removeAttribute("aria-describedby");
  };
  describe(false);
  const error = (message: string | null) => {
    errorLine.textContent = message ?? "";
    errorLine.hidden = message === null;
    if (message === null) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", "true");
    describe(message !== null);
  };
  // What the operator types next may fix it: the error goes with the next change.
  input.addEventListener("input", () => error(null));
  const wrap = el("div", { class: "adm-field" }, el("label", { for: id, text: label }), input);
  if (hintLine) wrap.append(hintLine);
  wrap.append(errorLine);
  return { wrap, input, error };
}

/** A text input with attributes. */
export function input(props: Record<string, string> = {}): HTMLInputElement {
  return el("input", { type: "text", ...props });
}

/** A select of `[value, text]` options. */
export function select(options: [string, string][], props: Record<string, string> = {}): HTMLSelectElement {
  return el("select", props, ...options.map(([value, text]) => el("option", { value, text })));
}

/** A textarea with attributes. */
export function textarea(props: Record<string, string> = {}): HTMLTextAreaElement {
  return el("textarea", { rows: "2", ...props });
}

/** The page's two live regions: a polite status and an alert. */
export interface Say {
  status: (text: string) => void;
  alert: (text: string) => void;
}

/** A section with its heading (h3 at the top, h4 inside an account), labelled by it. */
export function section(title: string, id: string, level: "h3" | "h4" = "h4"): HTMLElement {
  // The heading takes the focus when what the section showed was redrawn.
  return el("section", { class: "adm-section", "aria-labelledby": `${id}-title`, id }, el(level, { id: `${id}-title`, tabindex: "-1", text: title }));
}

/**
 * Asks before something that cannot be undone, in a modal dialog (focus stays inside it; Escape
 * cancels). Resolves true when the operator confirms.
 */
export function confirmDialog(host: HTMLElement, question: string, yes: string): Promise<boolean> {
  const dialog = el("dialog", { class: "adm-confirm", "aria-labelledby": "adm-confirm-title", "aria-describedby": "adm-confirm-text" });
  dialog.append(
    el("h3", { id: "adm-confirm-title", text: t("confirmTitle") }),
    el("p", { id: "adm-confirm-text", text: question }),
  );
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const cancel = button(t("cancel"), () => done(false));
    const confirm = button(yes, () => done(true), { class: "adm-danger" });
    dialog.append(el("div", { class: "adm-actions" }, cancel, confirm));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    host.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * Copies `from`'s value: the clipboard when the browser allows it (the focus stays where it
 * is), else the text selected in the field and the browser's copy command, the value left
 * selected for Ctrl+C when even that fails.
 */
export async function copy(from: HTMLInputElement, say: Say): Promise<void> {
  try {
    await navigator.clipboard.writeText(from.value);
    say.status(t("copied"));
  } catch {
    from.focus();
    from.select();
    const copied = document.execCommand?.("copy") ?? false;
    say.status(copied ? t("copied") : t("copySelected"));
  }
}

/** A read-only value with a Copy button (`copyText` names what it copies). */
export function copyable(label: string, copyText: string, value: string, say: Say): HTMLDivElement {
  const f = field(label, input({ readonly: "", class: "adm-copy-value" }));
  f.input.value = value;
  const b = button(copyText, () => copy(f.input, say));
  return el("div", { class: "adm-copyable" }, f.wrap, b);
}
