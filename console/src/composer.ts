// The reply composer: one draft per conversation, each with one Idempotency-Key from its first
// character until a definitive answer (2xx, or a 4xx that is no timeout), so a retry after a
// timeout, a 5xx or a lost connection never sends twice. The counter is described to the
// textarea (aria-describedby), never announced on each keystroke. Canned responses are picked
// from a list filtered as you type (`/` at the start of an empty reply, or Alt+R).

import { Answer, api, ApiError, RequestBody } from "./api";
import { $, el } from "./dom";
import { strings } from "./i18n";
import { mergeMessages } from "./pane";
import { analyse, MAX_CHARACTERS } from "./sms";
import { Conversation, heldByOther, holderName, state } from "./state";

const t = strings(
  {
    counter: "{n} / {max} characters · {segments} segment(s) · {encoding}",
    ucs2: "UCS-2 because of: {chars}",
    optedOut: "The customer opted out (STOP): nothing can be sent until they text START.",
    closed: "This conversation is closed: it is read-only.",
    held: "Assigned to {name}: ask them or a supervisor to transfer it.",
    sent: "Reply sent.",
    retry: "Not sent for sure ({why}): Send again is safe, it cannot send twice.",
    noCanned: "No canned response matches.",
  },
  {
    counter: "{n} / {max} znaków · {segments} segment(y) · {encoding}",
    ucs2: "UCS-2 z powodu: {chars}",
    optedOut: "Klient się wypisał (STOP): nic nie można wysłać, dopóki nie napisze START.",
    closed: "Ta rozmowa jest zamknięta: tylko do odczytu.",
    held: "Przypisana do: {name}. Poproś tę osobę lub kierownika o przekazanie.",
    sent: "Odpowiedź wysłana.",
    retry: "Nie wiadomo, czy wysłano ({why}): ponowne wysłanie jest bezpieczne, nie wyśle dwa razy.",
    noCanned: "Żadna gotowa odpowiedź nie pasuje.",
  },
);

export interface Draft {
  text: string;
  /** The Idempotency-Key of this draft's send, kept until a definitive answer. */
  key: string | null;
}

const drafts = new Map<string, Draft>();
let draftFor: string | null = null;
let say: (text: string, error?: boolean) => void = () => {};

function draft(): Draft | null {
  if (!draftFor) return null;
  let d = drafts.get(draftFor);
  if (!d) drafts.set(draftFor, (d = { text: "", key: null }));
  return d;
}

/** The composer for the open conversation: its own draft back in the field. */
export function showComposer(c: Conversation): void {
  const reply = $<HTMLTextAreaElement>("reply");
  if (draftFor !== c.conversation_id) {
    closeCanned(false);
    draftFor = c.conversation_id;
    reply.value = draft()?.text ?? "";
  }
  updateComposer();
}

/** The counter, the UCS-2 note and what blocks sending, as the field stands. */
export function updateComposer(): void {
  const reply = $<HTMLTextAreaElement>("reply");
  const send = $<HTMLButtonElement>("send");
  const info = analyse(reply.value);
  $("counter").textContent = t("counter", {
    n: info.characters,
    max: MAX_CHARACTERS,
    segments: info.segments,
    encoding: info.encoding === "gsm7" ? "GSM-7" : "UCS-2",
  });
  $("counter").classList.toggle("over", info.characters > MAX_CHARACTERS);
  $("ucs2").textContent = info.ucs2Characters.length ? t("ucs2", { chars: info.ucs2Characters.map((c) => `“${c}”`).join(" ") }) : "";
  const c = state.current;
  const blocked = !c || c.status === "closed" || c.opted_out || heldByOther(c);
  reply.disabled = blocked;
  $<HTMLButtonElement>("canned-open").disabled = blocked;
  send.disabled = blocked || reply.value.trim() === "" || info.characters > MAX_CHARACTERS;
  $("composer-note").textContent = !c
    ? ""
    : c.opted_out
      ? t("optedOut")
      : c.status === "closed"
        ? t("closed")
        : heldByOther(c)
          ? t("held", { name: holderName(c) })
          : "";
}

function typed(): void {
  const d = draft();
  if (!d) return;
  d.text = $<HTMLTextAreaElement>("reply").value;
  // The draft's key is made when it starts, and kept however it is edited.
  if (d.key === null && d.text.trim() !== "") d.key = crypto.randomUUID();
  updateComposer();
}

async function send(event: Event): Promise<void> {
  event.preventDefault();
  const c = state.current;
  const d = draft();
  const reply = $<HTMLTextAreaElement>("reply");
  if (!c || !d || $<HTMLButtonElement>("send").disabled) return;
  d.key ??= crypto.randomUUID();
  const key = d.key;
  $<HTMLButtonElement>("send").disabled = true;
  say("", true);
  try {
    const sent = await api<Answer<"reply">>(
      "POST",
      `/conversations/${c.conversation_id}/messages`,
      { text: reply.value } satisfies RequestBody<"reply">,
      { "idempotency-key": key },
    );
    drafts.delete(c.conversation_id);
    if (draftFor === c.conversation_id) reply.value = "";
    if (state.current?.conversation_id === c.conversation_id) mergeMessages([sent], true);
    say(t("sent"));
  } catch (e) {
    // Refused for good: the next try is a new request. Otherwise it may have gone: same key.
    if (e instanceof ApiError && e.definitive) d.key = null;
    say(e instanceof ApiError && !e.definitive ? t("retry", { why: e.message }) : (e as Error).message, true);
  }
  updateComposer();
}

/** The Idempotency-Key the open conversation's draft would send with (tests read it). */
export function draftKey(): string | null {
  return draft()?.key ?? null;
}

/** Every reply being written, by conversation id, each with its Idempotency-Key. */
export function everyDraft(): [string, Draft][] {
  return Array.from(drafts.entries()).filter(([, d]) => d.text !== "" || d.key !== null);
}

/** Drafts kept across a sign-in, back in place (the open conversation's in the field). */
export function restoreDrafts(kept: [string, Draft][]): void {
  for (const [id, d] of kept) drafts.set(id, { text: String(d.text ?? ""), key: typeof d.key === "string" ? d.key : null });
  if (draftFor) {
    $<HTMLTextAreaElement>("reply").value = draft()?.text ?? "";
    updateComposer();
  }
}

// Canned responses: a combobox over a listbox, filtered as you type.
let active = 0;
let matches: typeof state.canned = [];

/** Opens the canned responses' picker over the composer (nothing when it is locked). */
export function openCanned(): void {
  if ($<HTMLTextAreaElement>("reply").disabled || $("pane").hidden) return;
  $("canned").hidden = false;
  $("canned-open").setAttribute("aria-expanded", "true");
  const filter = $<HTMLInputElement>("canned-filter");
  filter.value = "";
  filter.setAttribute("aria-expanded", "true");
  filterCanned();
  filter.focus();
}

function closeCanned(backToReply: boolean): void {
  $("canned").hidden = true;
  $("canned-open").setAttribute("aria-expanded", "false");
  $("canned-filter").setAttribute("aria-expanded", "false");
  if (backToReply) $("reply").focus();
}

function filterCanned(): void {
  const words = $<HTMLInputElement>("canned-filter").value.trim().toLowerCase();
  matches = state.canned.filter((c) => `${c.title}\n${c.text}`.toLowerCase().includes(words));
  active = 0;
  const list = $("canned-list");
  list.replaceChildren(
    ...(matches.length
      ? matches.map((c, i) => {
          const option = el(
            "li",
            { role: "option", id: `canned-${i}`, "aria-selected": "false" },
            el("span", { class: "title", text: c.title }),
            el("span", { class: "preview", text: c.text }),
          );
          option.addEventListener("mousedown", (e) => e.preventDefault());
          option.addEventListener("click", () => insertCanned(i));
          return option;
        })
      : [el("li", { class: "empty", role: "option", "aria-disabled": "true", "aria-selected": "false", text: t("noCanned") })]),
  );
  highlight();
}

function highlight(): void {
  const filter = $("canned-filter");
  $("canned-list")
    .querySelectorAll("[role=option]")
    .forEach((o, i) => o.setAttribute("aria-selected", String(i === active && matches.length > 0)));
  if (matches.length) {
    filter.setAttribute("aria-activedescendant", `canned-${active}`);
    document.getElementById(`canned-${active}`)?.scrollIntoView({ block: "nearest" });
  } else filter.removeAttribute("aria-activedescendant");
}

function insertCanned(i: number): void {
  const chosen = matches[i];
  if (!chosen) return;
  const reply = $<HTMLTextAreaElement>("reply");
  closeCanned(true);
  reply.setRangeText(chosen.text, reply.selectionStart, reply.selectionEnd, "end");
  typed();
}

function cannedKeys(e: KeyboardEvent): void {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    if (!matches.length) return;
    active = (active + (e.key === "ArrowDown" ? 1 : -1) + matches.length) % matches.length;
    highlight();
  } else if (e.key === "Enter") {
    e.preventDefault();
    insertCanned(active);
  } else if (e.key === "Escape") {
    e.preventDefault();
    e.stopPropagation();
    closeCanned(true);
  }
}

/** Wires the composer; `report` shows what happened. */
export function setUpComposer(report: (text: string, error?: boolean) => void): void {
  say = report;
  const reply = $<HTMLTextAreaElement>("reply");
  reply.addEventListener("input", typed);
  reply.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $<HTMLFormElement>("composer").requestSubmit();
    } else if (e.key === "/" && reply.value === "" && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      openCanned();
    }
  });
  $("composer").addEventListener("submit", send);
  $("canned-open").addEventListener("click", () => ($("canned").hidden ? openCanned() : closeCanned(true)));
  $("canned-filter").addEventListener("input", filterCanned);
  $("canned-filter").addEventListener("keydown", cannedKeys);
  $("canned-filter").addEventListener("blur", () => setTimeout(() => {
    if (!$("canned").contains(document.activeElement)) closeCanned(false);
  }, 0));
}
