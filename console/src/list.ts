// The dashboard: the views Mine / Unassigned / All (each with its count) and Closed, a search by
// customer number, and the list, longest waiting first. Rows are patched in place, so the
// refresh never takes the keyboard focus away.

import { Answer, api } from "./api";
import { $, el, placeInOrder, setText } from "./dom";
import { formatNumber, strings } from "./i18n";
import { Counts, order, recount } from "./rules";
import { Conversation, state } from "./state";
import { since } from "./when";

const t = strings(
  {
    open: "open",
    active: "active",
    waiting: "waiting",
    closed: "closed",
    needsReply: "Needs reply",
    waitingFor: "waiting {time}",
    optedOut: "Opted out",
    unread: "New message",
    unassigned: "Unassigned",
    holder: "Assigned to {name}",
    meta: "to +{number} · {time} ago",
    none: "No conversations.",
    noneFor: "No conversations with +{number}.",
    badNumber: "Type a phone number: digits, with + and spaces if you like.",
  },
  {
    open: "otwarta",
    active: "aktywna",
    waiting: "odłożona",
    closed: "zamknięta",
    needsReply: "Czeka na odpowiedź",
    waitingFor: "czeka {time}",
    optedOut: "Wypisany",
    unread: "Nowa wiadomość",
    unassigned: "Nieprzypisana",
    holder: "Przypisana: {name}",
    meta: "do +{number} · {time} temu",
    none: "Brak rozmów.",
    noneFor: "Brak rozmów z +{number}.",
    badNumber: "Wpisz numer telefonu: cyfry, ewentualnie z + i spacjami.",
  },
);

/** What the list shows. */
export type View = "mine" | "unassigned" | "all" | "closed";
const VIEWS: View[] = ["mine", "unassigned", "all", "closed"];

/** A conversation's status in the console's language. */
export const statusWord = (s: Conversation["status"]) => t(s);

let view: View = (VIEWS as string[]).includes(localStorage.getItem("console.view") ?? "")
  ? (localStorage.getItem("console.view") as View)
  : "all";
/** The customer searched for (digits), if any. */
let customer: string | null = null;
let listed: Conversation[] = [];
let nextCursor: string | null = null;
const rows = new Map<string, HTMLLIElement>();
/** Conversations with a customer message not looked at yet. */
const unread = new Set<string>();
let counts: Counts | null = null;
let countsTimer: ReturnType<typeof setTimeout> | null = null;
let onOpen: (id: string) => void = () => {};

/** What opening a row does (the pane's open). */
export function whenOpened(open: (id: string) => void): void {
  onOpen = open;
}

function query(cursor: string | null): string {
  const q = new URLSearchParams({ account_id: state.accountId, limit: "50" });
  q.set("status", view === "closed" ? "closed" : "open,active,waiting");
  if (view === "mine") q.set("assigned", "me");
  if (view === "unassigned") q.set("assigned", "none");
  if (customer) q.set("customer", customer);
  if (cursor) q.set("cursor", cursor);
  return `/conversations?${q}`;
}

/** Whether a conversation belongs in the view as it is now. */
function belongs(c: Conversation): boolean {
  if (c.account_id !== state.accountId) return false;
  if ((view === "closed") !== (c.status === "closed")) return false;
  if (customer && c.customer_number !== customer) return false;
  if (view === "mine") return c.assigned_agent === state.me?.user_id;
  if (view === "unassigned") return c.assigned_agent === null;
  return true;
}

/** Remembers what a list or a read said of conversations. */
export function remember(c: Conversation): void {
  const { messages: _m, next_cursor: _n, ...bare } = c;
  state.seen.set(c.conversation_id, bare);
}

/** The first page of the view, again. */
export async function refreshList(): Promise<void> {
  if (!state.accountId) return;
  const asked = query(null);
  const data = await api<Answer<"listConversations">>("GET", asked);
  if (asked !== query(null)) return;
  listed = data.conversations;
  listed.forEach(remember);
  nextCursor = data.next_cursor ?? null;
  render();
}

async function more(): Promise<void> {
  if (!nextCursor) return;
  const data = await api<Answer<"listConversations">>("GET", query(nextCursor));
  const have = new Set(listed.map((c) => c.conversation_id));
  for (const c of data.conversations) {
    remember(c);
    if (!have.has(c.conversation_id)) listed.push(c);
  }
  nextCursor = data.next_cursor ?? null;
  render();
}

/** The list as `listed` says, patched in place. */
export function render(): void {
  listed.sort(order);
  const list = $("list");
  const items = listed.map((c) => {
    let li = rows.get(c.conversation_id);
    if (!li) {
      const button = el("button", { type: "button", class: "row", "data-id": c.conversation_id });
      button.addEventListener("click", () => onOpen(c.conversation_id));
      li = el("li", {}, button);
      rows.set(c.conversation_id, li);
    }
    patchRow(li.firstElementChild as HTMLButtonElement, c);
    return li;
  });
  for (const id of Array.from(rows.keys())) if (!listed.some((c) => c.conversation_id === id)) rows.delete(id);
  const empty = customer ? t("noneFor", { number: customer }) : t("none");
  placeInOrder(list, items.length ? items : [el("li", { class: "empty", text: empty })]);
  $("list-more").hidden = !nextCursor;
}

/** What each row shows now (its markup), to leave unchanged rows untouched. */
const shown = new WeakMap<HTMLElement, string>();

function patchRow(button: HTMLButtonElement, c: Conversation): void {
  const isUnread = unread.has(c.conversation_id);
  button.classList.toggle("unread", isUnread);
  button.classList.toggle("needs-reply", Boolean(c.needs_reply));
  button.setAttribute("aria-current", String(c.conversation_id === state.current?.conversation_id));
  const badges: HTMLElement[] = [];
  if (isUnread) badges.push(el("span", { class: "badge new", text: t("unread") }));
  if (c.needs_reply && c.status !== "closed") {
    badges.push(el("span", { class: "badge reply", text: t("needsReply") }));
    const from = c.waiting_since ?? c.last_customer_message_at;
    if (from) badges.push(el("span", { class: "wait", text: t("waitingFor", { time: since(from) }) }));
  }
  if (c.opted_out) badges.push(el("span", { class: "badge", text: t("optedOut") }));
  const holder = c.assigned_agent ? t("holder", { name: c.assigned_agent_name ?? c.assigned_agent }) : t("unassigned");
  const next = [
    el("span", { class: "who", text: `+${c.customer_number}` }),
    el("span", { class: `status ${c.status}`, text: statusWord(c.status) }),
    el("span", { class: "badges" }, ...badges),
    el("span", { class: "preview", text: c.last_message_preview ?? "" }),
    el("span", { class: "meta", text: `${holder} · ${t("meta", { number: c.support_number, time: since(c.last_activity_at) })}` }),
  ];
  // The same words: nothing to touch (a refresh leaves the row exactly as it was).
  const words = next.map((n) => n.outerHTML).join("");
  if (shown.get(button) !== words) {
    shown.set(button, words);
    button.replaceChildren(...next);
  }
}

/** A conversation changed (an event): the list and the counts follow. */
export function changed(c: Conversation, isNew: boolean): void {
  const before = state.seen.get(c.conversation_id);
  if (before || isNew) applyCounts(before ?? null, c);
  else countsSoon();
  remember(c);
  const at = listed.findIndex((l) => l.conversation_id === c.conversation_id);
  if (at >= 0) listed.splice(at, 1);
  if (belongs(c)) listed.push(c);
  render();
}

/** A customer wrote in a conversation not being looked at: the row reads bold until opened. */
export function markUnread(id: string): void {
  unread.add(id);
  render();
}

/** The conversation was opened: read. */
export function markRead(id: string): void {
  unread.delete(id);
  render();
}

function applyCounts(before: Conversation | null, after: Conversation): void {
  if (!counts) return;
  counts = recount(counts, before, after, state.me?.user_id);
  showCounts();
}

/** The counts of the views, asked again once a burst of unknown changes is over. */
function countsSoon(): void {
  if (countsTimer !== null) return;
  countsTimer = setTimeout(() => {
    countsTimer = null;
    void refreshCounts();
  }, 1000);
}

/** The counts of Mine, Unassigned and All, from the API. */
export async function refreshCounts(): Promise<void> {
  if (!state.accountId) return;
  const asked = state.accountId;
  try {
    const data = await api<Answer<"countConversations">>("GET", `/accounts/${asked}/conversations/counts`);
    if (asked !== state.accountId) return;
    counts = { all: data.all, mine: data.mine, unassigned: data.unassigned };
  } catch {
    counts = null;
  }
  showCounts();
}

function showCounts(): void {
  for (const v of ["mine", "unassigned", "all"] as const) setText($(`count-${v}`), counts ? formatNumber(counts[v]) : "");
}

function showView(): void {
  for (const v of VIEWS) {
    const tab = $(`view-${v}`);
    tab.setAttribute("aria-selected", String(v === view));
    tab.tabIndex = v === view ? 0 : -1;
  }
  $("list-panel").setAttribute("aria-labelledby", `view-${view}`);
}

/** Shows another view. */
export async function choose(next: View): Promise<void> {
  view = next;
  localStorage.setItem("console.view", view);
  showView();
  listed = [];
  render();
  await refreshList();
}

/** Another account: nothing of the last one stays. */
export function reset(): void {
  listed = [];
  unread.clear();
  counts = null;
  customer = null;
  $<HTMLInputElement>("search-number").value = "";
  $("search-clear").hidden = true;
  showCounts();
  render();
}

/** The conversation `step` rows away from the open one (j/k), if any. */
export function neighbour(step: 1 | -1): string | null {
  if (!listed.length) return null;
  const at = listed.findIndex((c) => c.conversation_id === state.current?.conversation_id);
  const next = at < 0 ? (step > 0 ? 0 : listed.length - 1) : at + step;
  return listed[next]?.conversation_id ?? null;
}

/** Moves the keyboard focus to a conversation's row, if it is listed. */
export function focusRow(id: string): void {
  (rows.get(id)?.firstElementChild as HTMLElement | null)?.focus();
}

/** The customer number of a listed or seen conversation. */
export function customerOf(id: string): string | null {
  return state.seen.get(id)?.customer_number ?? null;
}

async function find(event: Event): Promise<void> {
  event.preventDefault();
  const typed = $<HTMLInputElement>("search-number").value.trim();
  const digits = typed.replace(/[\s().+-]/g, "");
  if (typed && !/^\d{6,15}$/.test(digits)) throw new Error(t("badNumber"));
  customer = digits || null;
  $("search-clear").hidden = !customer;
  listed = [];
  render();
  await refreshList();
}

/** Wires the views, the search and the "Show more" button; `fail` shows an error. */
export function setUpList(fail: (e: unknown) => void): void {
  showView();
  const tabs = VIEWS.map((v) => $(`view-${v}`));
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => choose(VIEWS[i]).catch(fail));
    tab.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      e.preventDefault();
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      next.click();
    });
  });
  $("search").addEventListener("submit", (e) => find(e).catch(fail));
  $("search-clear").addEventListener("click", () => {
    $<HTMLInputElement>("search-number").value = "";
    find(new Event("submit")).catch(fail);
    $("search-number").focus();
  });
  $("list-more").addEventListener("click", () => more().catch(fail));
  // The wait times grow: the rows say so twice a minute (a row whose words stay is not touched).
  setInterval(render, 30_000);
}
