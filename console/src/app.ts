// The agent console: the dashboard of SMS conversations and the conversation pane, over the
// channel's own API (same origin). Served by functions/console at GET /console.

import { analyse, MAX_CHARACTERS } from "./sms";
import { AuthConfig, forget, token } from "./auth";
import { mountAdmin } from "./admin";

interface Config {
  auth: AuthConfig | null;
  /** The WebSocket API (deployed: the stack's WebSocketUrl); else this origin's `/ws`. */
  socket?: string | null;
}

/** An event of the channel (the contract's "Events and live updates"). */
interface ChannelEvent {
  event_id: string;
  type: string;
  at: string;
  account_id: string;
  conversation_id: string;
  message_id?: string;
  data: any;
}

interface Conversation {
  conversation_id: string;
  account_id: string;
  support_number: string;
  customer_number: string;
  status: "open" | "active" | "waiting" | "closed";
  last_activity_at: string;
  assigned_agent: string | null;
  opted_out: boolean;
  last_message_preview?: string;
  messages?: Message[];
}

interface Message {
  message_id: string;
  direction: "inbound" | "outbound" | "system";
  text: string;
  created_at: string;
  status: string;
  status_code: number | null;
  status_description: string | null;
  segments: number;
  encoding: string;
  /** Sent, and no delivery report came within the wait: the agent chooses whether to send again. */
  unconfirmed?: boolean;
  /** Sent by the channel itself (greeting, away, closing, help, stop, start). */
  automated?: boolean;
  kind?: string;
}

/** A support number with its settings, as the API answers it. */
interface SupportNumber {
  number: string;
  description: string;
  language: string;
  timezone: string;
  business_hours: Record<string, [string, string][]> | null;
  auto_close: Record<string, number | null>;
  messages: Record<string, string | null>;
}

const KINDS = ["greeting", "away", "closing", "help", "stop", "start"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TIMEOUTS = ["open_after_seconds", "active_after_seconds", "waiting_after_seconds"];
let numbers: SupportNumber[] = [];

interface Me {
  user_id: string;
  name: string;
  roles: string[];
  accounts: { account_id: string; name: string; role: "operator" | "supervisor" | "agent" }[];
}

const config: Config = JSON.parse(document.getElementById("console-config")?.textContent ?? '{"auth":null}');
let bearer: string | null = null;
let me: Me | null = null;
let accountId = "";
let openId: string | null = null;
let current: Conversation | null = null;
/** The dashboard's conversations, as last fetched and updated by events since. */
let listed: Conversation[] = [];

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const h: Record<string, string> = { ...headers };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    // Expired or revoked: sign in again.
    forget();
    location.reload();
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = data?.error;
    throw new Error(e?.message ? `${e.message} (${e.code})` : `the channel answered ${r.status}`);
  }
  return data;
}

function ago(time: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(time)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function say(text: string, where = "notice"): void {
  $(where).textContent = text;
}

/** The caller's role in the chosen account: what the page shows follows it. */
function role(): "operator" | "supervisor" | "agent" | null {
  return me?.accounts.find((a) => a.account_id === accountId)?.role ?? null;
}

const runsDesk = () => role() === "operator" || role() === "supervisor";

async function loadAccounts(): Promise<void> {
  me = (await api("GET", "/me")) as Me;
  $("whoami").textContent = `Signed in as ${me.name} (${me.roles.join(", ") || "no role"})`;
  $("signout").hidden = false;
  const select = $<HTMLSelectElement>("account");
  select.replaceChildren(...me.accounts.map((a) => el("option", { value: a.account_id, text: a.name })));
  accountId = me.accounts[0]?.account_id ?? "";
  if (!accountId) say("You are not a member of any messaging account yet: ask an operator.");
  await loadAccountTools();
  wireAdmin(me);
  // Shown, and the account chosen, once the role has decided what the page holds.
  $("desk").hidden = false;
  select.disabled = false;
}

/** Operators switch between the desk and the administration (mounted when first opened). */
function wireAdmin(who: Me): void {
  if (!who.roles.includes("operator")) return;
  const toggle = $<HTMLButtonElement>("admin-toggle");
  let mounted = false;
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const opening = $("admin").hidden;
    if (opening && !mounted) {
      mountAdmin($("admin"), { api, me: who });
      mounted = true;
    }
    $("admin").hidden = !opening;
    $("desk").hidden = opening;
    toggle.setAttribute("aria-pressed", String(opening));
  });
}

/** What the role allows besides the conversations: texting a customer first, the team. */
async function loadAccountTools(): Promise<void> {
  $("outreach-box").hidden = !runsDesk();
  $("team").hidden = !runsDesk();
  $("member-form").hidden = role() !== "operator";
  $("numbers-box").hidden = role() !== "operator";
  if (!accountId || !runsDesk()) return;
  const asked = accountId;
  const account = await api("GET", `/accounts/${asked}`);
  // Another account was chosen meanwhile: its own load shows it.
  if (asked !== accountId) return;
  numbers = account.numbers as SupportNumber[];
  const options = () => numbers.map((n) => el("option", { value: n.number, text: `+${n.number}` }));
  $("outreach-from").replaceChildren(...options());
  $("settings-number").replaceChildren(...options());
  showSettings();
  await loadTeam();
}

/** Business hours as an operator types them: one day a line, `mon 09:00-12:00, 13:00-17:00`. */
function hoursText(hours: SupportNumber["business_hours"]): string {
  if (!hours) return "";
  return DAYS.filter((d) => hours[d])
    .map((d) => `${d} ${hours[d].map(([a, b]) => `${a}-${b}`).join(", ")}`)
    .join("\n");
}

function parseHours(text: string): Record<string, [string, string][]> | null {
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
      .map((i) => i.split("-").map((t) => t.trim()) as [string, string]);
  }
  return hours;
}

/** The chosen number's settings in the form. */
function showSettings(): void {
  const n = numbers.find((x) => x.number === $<HTMLSelectElement>("settings-number").value) ?? numbers[0];
  if (!n) return;
  $<HTMLInputElement>("settings-timezone").value = n.timezone;
  $<HTMLInputElement>("settings-language").value = n.language;
  $<HTMLTextAreaElement>("settings-hours").value = hoursText(n.business_hours);
  for (const t of TIMEOUTS) {
    const v = n.auto_close[t];
    $<HTMLInputElement>(`settings-${t}`).value = v === null ? "" : String(Math.round(v / 60));
  }
  for (const k of KINDS) $<HTMLTextAreaElement>(`settings-${k}`).value = n.messages[k] ?? "";
}

/** Saves what changed: an empty message turns it off; an empty timeout never ends. */
async function saveSettings(event: Event): Promise<void> {
  event.preventDefault();
  const n = numbers.find((x) => x.number === $<HTMLSelectElement>("settings-number").value);
  if (!n) return;
  const change: Record<string, unknown> = {
    timezone: $<HTMLInputElement>("settings-timezone").value.trim() || null,
    language: $<HTMLInputElement>("settings-language").value.trim(),
    business_hours: parseHours($<HTMLTextAreaElement>("settings-hours").value),
  };
  const minutes = (t: string) => $<HTMLInputElement>(`settings-${t}`).value.trim();
  change.auto_close = Object.fromEntries(TIMEOUTS.map((t) => [t, minutes(t) === "" ? null : Math.round(Number(minutes(t)) * 60)]));
  const messages: Record<string, string | null> = {};
  for (const k of KINDS) {
    const text = $<HTMLTextAreaElement>(`settings-${k}`).value;
    // Untouched texts stay as they are (a default keeps following the number's language).
    if (text !== (n.messages[k] ?? "")) messages[k] = text.trim() === "" ? null : text;
  }
  change.messages = messages;
  try {
    const saved = (await api("PATCH", `/accounts/${accountId}/numbers/${n.number}`, change)) as SupportNumber;
    numbers = numbers.map((x) => (x.number === saved.number ? saved : x));
    showSettings();
    say(`Settings of +${saved.number} saved.`);
  } catch (e) {
    say((e as Error).message, "error");
  }
}

async function loadTeam(): Promise<void> {
  const asked = accountId;
  const { members } = await api("GET", `/accounts/${asked}/members`);
  if (asked !== accountId) return;
  const name = (m: { user_id: string; display_name: string | null }) => m.display_name ?? m.user_id;
  $("members").replaceChildren(
    ...members.map((m: { user_id: string; role: string; display_name: string | null }) =>
      el("li", { text: `${name(m)} (${m.user_id}) · ${m.role}` }),
    ),
  );
  $("assignee").replaceChildren(
    el("option", { value: "", text: "Nobody" }),
    ...members.map((m: { user_id: string; display_name: string | null }) => el("option", { value: m.user_id, text: name(m) })),
  );
}

async function refreshList(): Promise<void> {
  if (!accountId) return;
  const statuses = shownStatuses();
  if (statuses.length === 0) {
    $("list").replaceChildren(el("li", { class: "empty", text: "Choose at least one status." }));
    return;
  }
  const asked = accountId;
  const data = await api("GET", `/conversations?account_id=${asked}&status=${statuses.join(",")}&limit=100`);
  if (asked !== accountId) return;
  listed = data.conversations as Conversation[];
  renderList();
}

/** The statuses the dashboard shows. */
function shownStatuses(): string[] {
  return Array.from(document.querySelectorAll<HTMLInputElement>("input[name=status]:checked")).map((i) => i.value);
}

function renderList(): void {
  const list = $("list");
  const items = listed.map((c) => {
    const button = el(
      "button",
      { type: "button", class: "row", "data-id": c.conversation_id, "aria-current": String(c.conversation_id === openId) },
      el("span", { class: "who", text: `+${c.customer_number}` }),
      el("span", { class: `status ${c.status}`, text: c.status }),
      ...(c.opted_out ? [el("span", { class: "badge", text: "Opted out" })] : []),
      el("span", { class: "preview", text: c.last_message_preview ?? "" }),
      el("span", { class: "meta", text: `to +${c.support_number} · ${ago(c.last_activity_at)}` }),
    );
    button.addEventListener("click", () => open(c.conversation_id));
    return el("li", {}, button);
  });
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty", text: "No conversations." })]));
}

function statusText(m: Message): string {
  if (m.direction === "inbound") return "received";
  if (m.direction === "system") return "";
  if (m.unconfirmed) return "not confirmed: TeleSign never said whether it was delivered";
  const why = m.status === "failed" && m.status_description ? `: ${m.status_description}` : "";
  return `${m.status}${why}`;
}

function renderConversation(c: Conversation): void {
  current = c;
  $("pane").hidden = false;
  $("pane-title").textContent = `+${c.customer_number}`;
  $("pane-meta").textContent = `to +${c.support_number} · ${c.status}${c.assigned_agent ? ` · ${c.assigned_agent}` : ""}`;
  $("opted-out").hidden = !c.opted_out;
  const held = heldByOther(c);
  $<HTMLButtonElement>("accept").disabled = held || !(c.status === "open" || c.status === "waiting");
  $<HTMLButtonElement>("close").disabled = held || !(c.status === "open" || c.status === "active");
  $<HTMLButtonElement>("end").disabled = held || c.status === "closed";
  $("release").hidden = c.assigned_agent !== me?.user_id || c.status === "closed";
  $("assign-box").hidden = !runsDesk() || c.status === "closed";
  const transcript = $("transcript");
  const atBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 4;
  transcript.replaceChildren(
    ...(c.messages ?? []).map((m) =>
      el(
        "li",
        { class: `message ${m.direction}${m.automated ? " automated" : ""}`, "data-id": m.message_id },
        ...(m.automated ? [el("p", { class: "kind", text: `Automated · ${m.kind ?? "message"}` })] : []),
        el("p", { class: "text", text: m.text }),
        el(
          "p",
          { class: "meta" },
          `${new Date(m.created_at).toLocaleTimeString()} `,
          el("span", { class: `delivery ${m.unconfirmed ? "unconfirmed" : m.status}`, text: statusText(m) }),
          ...(m.unconfirmed ? [resendButton(m)] : []),
        ),
      ),
    ),
  );
  if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  updateComposer();
}

/** Sends the text of an unconfirmed message again, as a new message (the agent's choice). */
function resendButton(m: Message): HTMLButtonElement {
  const button = el("button", { type: "button", class: "resend", text: "Send again" });
  button.addEventListener("click", async () => {
    if (!current) return;
    try {
      await api("POST", `/conversations/${current.conversation_id}/messages`, { text: m.text }, { "idempotency-key": crypto.randomUUID() });
      say("Sent again.");
    } catch (e) {
      say((e as Error).message, "error");
    }
    await open(current.conversation_id);
  });
  return button;
}

/** An agent works only what is unassigned or theirs. */
function heldByOther(c: Conversation): boolean {
  return role() === "agent" && c.assigned_agent !== null && c.assigned_agent !== me?.user_id;
}

function updateComposer(): void {
  const reply = $<HTMLTextAreaElement>("reply");
  const send = $<HTMLButtonElement>("send");
  const info = analyse(reply.value);
  $("counter").textContent =
    `${info.characters} / ${MAX_CHARACTERS} characters · ${info.segments} segment${info.segments === 1 ? "" : "s"} · ` +
    (info.encoding === "gsm7" ? "GSM-7" : "UCS-2");
  $("counter").classList.toggle("over", info.characters > MAX_CHARACTERS);
  $("ucs2").textContent = info.ucs2Characters.length
    ? `UCS-2 because of: ${info.ucs2Characters.map((c) => `“${c}”`).join(" ")}`
    : "";
  const blocked = !current || current.status === "closed" || current.opted_out || heldByOther(current);
  reply.disabled = blocked;
  send.disabled = blocked || reply.value.trim() === "" || info.characters > MAX_CHARACTERS;
  $("composer-note").textContent = !current
    ? ""
    : current.opted_out
      ? "The customer opted out (STOP): nothing can be sent until they text START."
      : current.status === "closed"
        ? "This conversation is closed: it is read-only."
        : heldByOther(current)
          ? `Assigned to ${current.assigned_agent}: ask them or a supervisor to transfer it.`
          : "";
}

async function open(id: string): Promise<void> {
  openId = id;
  const c = await api("GET", `/conversations/${id}?limit=500`);
  renderConversation(c);
  await refreshList();
}

async function move(action: "accept" | "close" | "end"): Promise<void> {
  if (!current) return;
  try {
    renderConversation({ ...(await api("POST", `/conversations/${current.conversation_id}/${action}`, {})), messages: current.messages });
    await open(current.conversation_id);
    say(`Conversation ${action === "accept" ? "accepted" : action === "close" ? "set aside (waiting)" : "ended"}.`);
  } catch (e) {
    say((e as Error).message, "error");
  }
}

async function sendReply(event: Event): Promise<void> {
  event.preventDefault();
  if (!current) return;
  const reply = $<HTMLTextAreaElement>("reply");
  const text = reply.value;
  $<HTMLButtonElement>("send").disabled = true;
  say("", "error");
  try {
    await api("POST", `/conversations/${current.conversation_id}/messages`, { text }, { "idempotency-key": crypto.randomUUID() });
    reply.value = "";
    say("Reply sent.");
  } catch (e) {
    say((e as Error).message, "error");
  }
  await open(current.conversation_id);
}

async function assign(agent: string | null): Promise<void> {
  if (!current) return;
  try {
    await api("POST", `/conversations/${current.conversation_id}/assign`, { agent_id: agent });
    say(agent ? `Assigned to ${agent}.` : "Unassigned.");
  } catch (e) {
    say((e as Error).message, "error");
  }
  await open(current.conversation_id);
}

async function textCustomer(event: Event): Promise<void> {
  event.preventDefault();
  const value = (id: string) => $<HTMLInputElement>(id).value;
  try {
    const sent = await api(
      "POST",
      "/messages",
      { account_id: accountId, from: value("outreach-from"), to: value("outreach-to"), text: value("outreach-text") },
      { "idempotency-key": crypto.randomUUID() },
    );
    $<HTMLTextAreaElement>("outreach-text").value = "";
    say("Message sent.");
    await open(sent.conversation_id);
  } catch (e) {
    say((e as Error).message, "error");
  }
}

async function addMember(event: Event): Promise<void> {
  event.preventDefault();
  const user = $<HTMLInputElement>("member-user").value.trim();
  try {
    await api("PUT", `/accounts/${accountId}/members/${encodeURIComponent(user)}`, { role: $<HTMLSelectElement>("member-role").value });
    say(`${user} is a member.`);
    await loadTeam();
  } catch (e) {
    say((e as Error).message, "error");
  }
}

// Live updates: one socket; polling only while it is down; one fetch to catch up when it opens.
let socketUp = false;
let retryIn = 1000;
let polling: ReturnType<typeof setInterval> | null = null;
const seen = new Set<string>();
let unseen = 0;
const baseTitle = document.title;

function socketUrl(): string {
  const base = config.socket ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  return `${base}?token=${encodeURIComponent(bearer ?? "")}`;
}

function setLive(up: boolean): void {
  socketUp = up;
  $("live").dataset.state = up ? "up" : "down";
  $("live").textContent = up ? "Live" : "Reconnecting… (refreshing every 2 s)";
  if (up && polling !== null) {
    clearInterval(polling);
    polling = null;
  } else if (!up && polling === null) {
    polling = setInterval(tick, 2000);
  }
}

function connect(): void {
  const ws = new WebSocket(socketUrl());
  ws.addEventListener("open", () => {
    retryIn = 1000;
    setLive(true);
    // What happened while the socket was down (or before it opened): one fetch.
    $("live").dataset.state = "catching-up";
    void tick().finally(() => {
      if (socketUp) $("live").dataset.state = "up";
    });
  });
  ws.addEventListener("message", (m) => {
    try {
      onEvent(JSON.parse(String(m.data)) as ChannelEvent);
    } catch (e) {
      say((e as Error).message, "error");
    }
  });
  ws.addEventListener("close", () => {
    setLive(false);
    // Backoff with jitter, at most 30 s between tries.
    setTimeout(connect, retryIn * (0.5 + Math.random() / 2));
    retryIn = Math.min(retryIn * 2, 30_000);
  });
}

function onEvent(e: ChannelEvent): void {
  if (seen.has(e.event_id) || e.account_id !== accountId) return;
  seen.add(e.event_id);
  if (seen.size > 5000) seen.clear();
  if (e.type.startsWith("conversation.")) {
    onConversation(e.data as Conversation);
  } else {
    onMessage(e.conversation_id, e.data as Message);
  }
  if (e.type === "message.received" && e.data.direction === "inbound") notify(e);
}

function onConversation(c: Conversation): void {
  listed = listed.filter((l) => l.conversation_id !== c.conversation_id);
  if (shownStatuses().includes(c.status)) listed.push(c);
  listed.sort((a, b) => b.last_activity_at.localeCompare(a.last_activity_at));
  renderList();
  if (current && c.conversation_id === openId) renderConversation({ ...c, messages: current.messages });
}

function onMessage(conversationId: string, m: Message): void {
  if (!current || conversationId !== openId) return;
  const messages = (current.messages ?? []).filter((x) => x.message_id !== m.message_id);
  messages.push(m);
  messages.sort((a, b) => a.message_id.localeCompare(b.message_id));
  renderConversation({ ...current, messages });
}

/** A customer wrote: the title counts it until the page is looked at; a sound and the
 *  browser's notification when the agent asked for them. */
function notify(e: ChannelEvent): void {
  if (document.hasFocus() && e.conversation_id === openId) return;
  unseen += 1;
  document.title = `(${unseen}) ${baseTitle}`;
  if ($<HTMLInputElement>("sound").checked) beep();
  if ("Notification" in window && Notification.permission === "granted") {
    const who = listed.find((c) => c.conversation_id === e.conversation_id)?.customer_number;
    new Notification("New customer message", { body: who ? `From +${who}` : "", tag: e.conversation_id });
  }
}

function beep(): void {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  tone.frequency.value = 880;
  tone.connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.15);
}

function seenAll(): void {
  unseen = 0;
  document.title = baseTitle;
}

async function tick(): Promise<void> {
  try {
    await refreshList();
    if (openId) renderConversation(await api("GET", `/conversations/${openId}?limit=500`));
  } catch (e) {
    say((e as Error).message, "error");
  }
}

async function main(): Promise<void> {
  bearer = await token(config.auth);
  $("account").addEventListener("change", async (e) => {
    accountId = (e.target as HTMLSelectElement).value;
    openId = null;
    current = null;
    $("pane").hidden = true;
    await loadAccountTools();
    await refreshList();
  });
  $("signout").addEventListener("click", () => {
    forget();
    location.reload();
  });
  $("release").addEventListener("click", () => assign(null));
  $("assign").addEventListener("click", () => assign($<HTMLSelectElement>("assignee").value || null));
  $("outreach").addEventListener("submit", textCustomer);
  $("member-form").addEventListener("submit", addMember);
  $("settings-number").addEventListener("change", showSettings);
  $("settings").addEventListener("submit", saveSettings);
  document.querySelectorAll("input[name=status]").forEach((i) => i.addEventListener("change", () => refreshList()));
  $("reply").addEventListener("input", updateComposer);
  $("composer").addEventListener("submit", sendReply);
  $("accept").addEventListener("click", () => move("accept"));
  $("close").addEventListener("click", () => move("close"));
  $("end").addEventListener("click", () => move("end"));
  $<HTMLInputElement>("sound").checked = localStorage.getItem("console.sound") === "on";
  $("sound").addEventListener("change", (e) =>
    localStorage.setItem("console.sound", (e.target as HTMLInputElement).checked ? "on" : "off"),
  );
  if ("Notification" in window && Notification.permission === "default") {
    $("notify").hidden = false;
    $("notify").addEventListener("click", async () => {
      await Notification.requestPermission();
      $("notify").hidden = true;
    });
  }
  window.addEventListener("focus", seenAll);
  document.addEventListener("visibilitychange", () => document.hidden || seenAll());
  await loadAccounts();
  await refreshList();
  setLive(false);
  connect();
}

main().catch((e) => say((e as Error).message, "error"));
