// The conversation pane: the customer, the moves the state machine allows, the transfer, the
// customer's earlier conversations, and the transcript with notes set apart. The transcript is
// patched in place (new messages appended, changed ones updated), so a refresh keeps the
// keyboard focus and any text selected in it.

import { Answer, api, RequestBody } from "./api";
import { showComposer } from "./composer";
import { $, el, setText } from "./dom";
import { formatTime, strings } from "./i18n";
import { changed, markRead, remember, statusWord } from "./list";
import { Conversation, heldByOther, holderName, Message, runsDesk, state } from "./state";

const t = strings(
  {
    meta: "to +{number} · {status}",
    heldBy: "assigned to {name}",
    received: "received",
    unconfirmed: "not confirmed: TeleSign never said whether it was delivered",
    sendAgain: "Send again",
    sentAgain: "Sent again.",
    automated: "Automated · {kind}",
    noteBy: "Note by {name}",
    sentBy: "{name}",
    noHistory: "None.",
    olderHistory: "Older conversations",
    historyRow: "{status} · started {time}",
    accepted: "Conversation accepted.",
    closedForLater: "Conversation set aside (waiting).",
    ended: "Conversation ended.",
    transferred: "Transferred to {name}.",
    unassigned: "Unassigned.",
    noteAdded: "Note added.",
    letGo: "Let go",
    unassign: "Unassign",
    queued: "queued",
    sent: "sent",
    delivered: "delivered",
    failed: "failed",
    unknown: "unknown",
    choose: "Choose a member",
  },
  {
    meta: "do +{number} · {status}",
    heldBy: "przypisana: {name}",
    received: "odebrana",
    unconfirmed: "niepotwierdzona: TeleSign nie podał, czy doręczono",
    sendAgain: "Wyślij ponownie",
    sentAgain: "Wysłano ponownie.",
    automated: "Automatyczna · {kind}",
    noteBy: "Notatka: {name}",
    sentBy: "{name}",
    noHistory: "Brak.",
    olderHistory: "Starsze rozmowy",
    historyRow: "{status} · rozpoczęta {time}",
    accepted: "Rozmowa przyjęta.",
    closedForLater: "Rozmowa odłożona (oczekuje).",
    ended: "Rozmowa zakończona.",
    transferred: "Przekazano: {name}.",
    unassigned: "Bez przypisania.",
    noteAdded: "Notatka dodana.",
    letGo: "Zwolnij",
    unassign: "Usuń przypisanie",
    queued: "w kolejce",
    sent: "wysłana",
    delivered: "doręczona",
    failed: "nieudana",
    unknown: "nieznany",
    choose: "Wybierz osobę",
  },
);

/** Status words the API uses, translated when known. */
function stateWord(s: string): string {
  return ["queued", "sent", "delivered", "failed", "unknown"].includes(s) ? t(s as "sent") : s;
}

/** The transcript's items by message id (cleared when another conversation opens). */
const items = new Map<string, HTMLLIElement>();
let shownId: string | null = null;
let opening: string | null = null;
let say: (text: string, error?: boolean) => void = () => {};

/** Where the pane writes what happened. */
export function reportTo(report: (text: string, error?: boolean) => void): void {
  say = report;
}

/** Opens a conversation: its newest page of messages (shown oldest first). */
export async function open(id: string): Promise<void> {
  opening = id;
  const c = await api<Answer<"getConversation">>("GET", `/conversations/${id}?order=desc&limit=100`);
  // Another conversation was opened meanwhile: that one shows.
  if (opening !== id) return;
  c.messages = (c.messages ?? []).reverse();
  remember(c);
  state.current = c;
  markRead(id);
  renderPane(c);
  void loadHistory(c);
}

/** The open conversation again: its newest messages merged in, its fields updated. */
export async function refreshOpen(): Promise<void> {
  const id = state.current?.conversation_id;
  if (!id) return;
  const c = await api<Answer<"getConversation">>("GET", `/conversations/${id}?order=desc&limit=50`);
  if (state.current?.conversation_id !== id) return;
  const fresh = c.messages ?? [];
  delete c.messages;
  delete c.next_cursor;
  remember(c);
  state.current = { ...state.current, ...c };
  mergeMessages(fresh);
}

/**
 * Messages (new or changed) of the open conversation. `added`: a send's own answer, which adds
 * a message but never overwrites it (its events may already have said it was delivered).
 */
export function mergeMessages(messages: Message[], added = false): void {
  const c = state.current;
  if (!c) return;
  const byId = new Map((c.messages ?? []).map((m) => [m.message_id, m]));
  for (const m of messages) if (!(added && byId.has(m.message_id))) byId.set(m.message_id, m);
  c.messages = Array.from(byId.values()).sort((a, b) => a.message_id.localeCompare(b.message_id));
  renderPane(c);
}

/** The open conversation changed (an event or a move's answer). */
export function conversationChanged(c: Conversation): void {
  if (state.current?.conversation_id !== c.conversation_id) return;
  state.current = { ...state.current, ...c, messages: state.current.messages, next_cursor: state.current.next_cursor };
  renderPane(state.current);
}

async function earlier(): Promise<void> {
  const c = state.current;
  if (!c?.next_cursor) return;
  const page = await api<Answer<"getConversation">>(
    "GET",
    `/conversations/${c.conversation_id}?order=desc&limit=100&cursor=${encodeURIComponent(c.next_cursor)}`,
  );
  if (state.current !== c) return;
  // Absent on the transcript's last page.
  c.next_cursor = page.next_cursor;
  mergeMessages(page.messages ?? []);
}

function renderPane(c: Conversation): void {
  $("pane").hidden = false;
  setText($("pane-title"), `+${c.customer_number}`);
  const held = c.assigned_agent ? ` · ${t("heldBy", { name: holderName(c) })}` : "";
  setText($("pane-meta"), t("meta", { number: c.support_number, status: statusWord(c.status) }) + held);
  $("opted-out").hidden = !c.opted_out;
  const other = heldByOther(c);
  $<HTMLButtonElement>("accept").disabled = other || !(c.status === "open" || c.status === "waiting");
  $<HTMLButtonElement>("close").disabled = other || !(c.status === "open" || c.status === "active");
  $<HTMLButtonElement>("end").disabled = other || c.status === "closed";
  const mine = c.assigned_agent === state.me?.user_id;
  $("release").hidden = c.status === "closed" || !c.assigned_agent || !(mine || runsDesk());
  setText($("release"), mine ? t("letGo") : t("unassign"));
  $("transfer").hidden = c.status === "closed" || !(runsDesk() || mine);
  $("note-form").hidden = c.status === "closed" || other;
  $("transcript-more").hidden = !c.next_cursor;
  showMembers();
  renderTranscript(c);
  showComposer(c);
}

function renderTranscript(c: Conversation): void {
  const transcript = $("transcript");
  if (shownId !== c.conversation_id) {
    shownId = c.conversation_id;
    items.clear();
    transcript.replaceChildren();
  }
  const atBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 4;
  let previous: HTMLLIElement | null = null;
  for (const m of c.messages ?? []) {
    let li = items.get(m.message_id);
    if (!li) {
      li = messageItem(m);
      items.set(m.message_id, li);
      if (previous) previous.after(li);
      else transcript.prepend(li);
    } else {
      patchMessage(li, m);
    }
    previous = li;
  }
  if (atBottom) transcript.scrollTop = transcript.scrollHeight;
}

function messageItem(m: Message): HTMLLIElement {
  const note = m.direction === "note";
  const head = note
    ? [el("p", { class: "kind", text: t("noteBy", { name: m.author?.name ?? m.author?.user_id ?? "" }) })]
    : m.automated
      ? [el("p", { class: "kind", text: t("automated", { kind: m.kind ?? "" }) })]
      : [];
  const sender = m.agent_name ?? memberName(m.agent_id);
  const by = m.direction === "outbound" && !m.automated && sender ? `${sender} · ` : "";
  return el(
    "li",
    { class: `message ${m.direction}${m.automated ? " automated" : ""}`, "data-id": m.message_id },
    ...head,
    el("p", { class: "text", text: m.text }),
    el("p", { class: "meta" }, `${by}${formatTime(m.created_at)} `, deliveryOf(m)),
  );
}

/** A member's name by their user id, when the account's members are known. */
function memberName(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return state.members.find((m) => m.user_id === id)?.display_name ?? id;
}

function deliveryOf(m: Message): HTMLElement {
  const span = el("span", { class: `delivery ${m.unconfirmed ? "unconfirmed" : m.status}` });
  span.append(statusText(m));
  if (m.unconfirmed) span.append(" ", resendButton(m));
  return span;
}

/** A known message again: only its delivery changes (its text never does). */
function patchMessage(li: HTMLLIElement, m: Message): void {
  const old = li.querySelector(".delivery");
  const next = deliveryOf(m);
  if (old && (old.className !== next.className || old.textContent !== next.textContent)) old.replaceWith(next);
}

function statusText(m: Message): string {
  if (m.direction === "inbound") return t("received");
  if (m.direction === "system" || m.direction === "note") return "";
  if (m.unconfirmed) return t("unconfirmed");
  const why = m.status === "failed" && m.status_description ? `: ${m.status_description}` : "";
  return `${stateWord(m.status)}${why}`;
}

/** Sends the text of an unconfirmed message again, as a new message (the agent's choice). */
function resendButton(m: Message): HTMLButtonElement {
  const button = el("button", { type: "button", class: "resend", text: t("sendAgain") });
  button.addEventListener("click", async () => {
    const c = state.current;
    if (!c) return;
    try {
      const sent = await api<Answer<"reply">>(
        "POST",
        `/conversations/${c.conversation_id}/messages`,
        { text: m.text } satisfies RequestBody<"reply">,
        { "idempotency-key": crypto.randomUUID() },
      );
      mergeMessages([sent], true);
      say(t("sentAgain"));
    } catch (e) {
      say((e as Error).message, true);
    }
  });
  return button;
}

/** The customer's earlier conversations with the account, each openable, 20 at a time
 *  ("Older conversations" reads the next page after the ones shown). */
async function loadHistory(c: Conversation, cursor?: string): Promise<void> {
  const list = $("history-list");
  if (!cursor) {
    if (list.dataset.for !== c.conversation_id) list.replaceChildren();
    list.dataset.for = c.conversation_id;
  }
  let found: Conversation[];
  let next: string | null = null;
  try {
    const page = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const data = await api<Answer<"customerHistory">>("GET", `/accounts/${c.account_id}/customers/${c.customer_number}/conversations?limit=20${page}`);
    found = data.conversations.filter((h) => h.conversation_id !== c.conversation_id);
    next = data.next_cursor ?? null;
  } catch {
    found = [];
  }
  if (state.current?.conversation_id !== c.conversation_id) return;
  found.forEach(remember);
  const rows = found.map(historyRow);
  if (next) {
    const more = el("button", { type: "button", class: "link", text: t("olderHistory") });
    const item = el("li", {}, more);
    more.addEventListener("click", async () => {
      const before = list.children.length - 1;
      item.remove();
      await loadHistory(c, next ?? undefined);
      // The keyboard goes on where the new rows begin (the button it was on is gone).
      (list.children[before]?.querySelector("button") as HTMLButtonElement | null)?.focus();
    });
    rows.push(item);
  }
  if (cursor) list.append(...rows);
  else list.replaceChildren(...(rows.length ? rows : [el("li", { class: "empty", text: t("noHistory") })]));
}

/** One earlier conversation: its status, when it started, its last words; a click opens it. */
function historyRow(h: Conversation): HTMLLIElement {
  const button = el(
    "button",
    { type: "button", class: "link" },
    el("span", { text: t("historyRow", { status: statusWord(h.status), time: formatTime(h.created_at) }) }),
    ...(h.last_message_preview ? [el("span", { class: "preview", text: ` · ${h.last_message_preview}` })] : []),
  );
  button.addEventListener("click", () => open(h.conversation_id).catch((e) => say((e as Error).message, true)));
  return el("li", {}, button);
}

/** Accept, close for later or end the open conversation. */
export async function move(action: "accept" | "close" | "end"): Promise<void> {
  const c = state.current;
  if (!c) return;
  try {
    const after = await api<Answer<"acceptConversation" | "closeConversation" | "endConversation">>(
      "POST",
      `/conversations/${c.conversation_id}/${action}`,
      {} satisfies RequestBody<"acceptConversation">,
    );
    changed(after, false);
    conversationChanged(after);
    say(action === "accept" ? t("accepted") : action === "close" ? t("closedForLater") : t("ended"));
  } catch (e) {
    say((e as Error).message, true);
  }
}

/** Assigns the open conversation to a member, or to nobody. */
export async function assign(agent: string | null): Promise<boolean> {
  const c = state.current;
  if (!c) return false;
  try {
    const after = await api<Answer<"assignConversation">>(
      "POST",
      `/conversations/${c.conversation_id}/assign`,
      { agent_id: agent } satisfies RequestBody<"assignConversation">,
    );
    changed(after, false);
    conversationChanged(after);
    say(agent ? t("transferred", { name: holderName(after) || agent }) : t("unassigned"));
    return true;
  } catch (e) {
    say((e as Error).message, true);
    return false;
  }
}

async function addNote(event: Event): Promise<void> {
  event.preventDefault();
  const c = state.current;
  const field = $<HTMLTextAreaElement>("note");
  if (!c || !field.value.trim()) return;
  try {
    const note = await api<Answer<"writeNote">>(
      "POST",
      `/conversations/${c.conversation_id}/notes`,
      { text: field.value } satisfies RequestBody<"writeNote">,
    );
    field.value = "";
    if (state.current?.conversation_id === c.conversation_id) mergeMessages([note], true);
    say(t("noteAdded"));
  } catch (e) {
    say((e as Error).message, true);
  }
}

/** The members a transfer of the open conversation offers: everyone but its holder. */
export function showMembers(): void {
  const select = $<HTMLSelectElement>("assignee");
  const holder = state.current?.assigned_agent ?? null;
  const offered = state.members.filter((m) => m.user_id !== holder);
  const key = offered.map((m) => m.user_id).join("\n");
  if (select.dataset.offered === key) return;
  select.dataset.offered = key;
  select.replaceChildren(
    el("option", { value: "", text: t("choose") }),
    ...offered.map((m) => el("option", { value: m.user_id, text: `${m.display_name ?? m.user_id} (${m.user_id})` })),
  );
}

/** Wires the pane's buttons and forms. */
export function setUpPane(): void {
  $("accept").addEventListener("click", () => move("accept"));
  $("close").addEventListener("click", () => move("close"));
  $("end").addEventListener("click", () => move("end"));
  $("release").addEventListener("click", () => assign(null));
  $("transfer").addEventListener("submit", (e) => {
    e.preventDefault();
    const to = $<HTMLSelectElement>("assignee");
    void assign(to.value.trim() || null).then((done) => done && (to.value = ""));
  });
  $("transcript-more").addEventListener("click", () => earlier().catch((e) => say((e as Error).message, true)));
  $("note-form").addEventListener("submit", addNote);
  $("note").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $<HTMLFormElement>("note-form").requestSubmit();
    }
  });
}
