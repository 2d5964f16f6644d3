// The agent console: the desk (views of the conversations, the conversation pane, the composer)
// over the channel's own API (same origin), live from one WebSocket, and the operator's pages
// (admin.ts). Served by functions/console at GET /console. The session (auth.ts) is renewed in
// place; a sign-in it forces keeps what was being written (kept.ts) and puts it back after.

import { ACCOUNTS_CHANGED, mountAdmin } from "./admin";
import { Answer, api, everyPage, RequestBody, whenRefused } from "./api";
import { AuthConfig, bearer, expired, expiry, goSignIn, onRenewed, renew, renewable, renewIfDue, signIn, signOut } from "./auth";
import { restoreDrafts, setUpComposer } from "./composer";
import { $, el, setText } from "./dom";
import { strings } from "./i18n";
import { forgetKept, keepDrafts, Kept, takeKept } from "./kept";
import { changed, customerOf, markUnread, refreshCounts, refreshList, reset, setUpList, whenOpened } from "./list";
import { conversationChanged, mergeMessages, open, refreshOpen, reportTo, setUpPane, showMembers } from "./pane";
import { setUpShortcuts } from "./shortcuts";
import { Canned, Conversation, Me, Member, Message, runsDesk, state } from "./state";

interface Config {
  auth: AuthConfig | null;
  /** The WebSocket API (deployed: the stack's WebSocketUrl); else this origin's `/ws`. */
  socket?: string | null;
}

/** An event of the channel (docs/architecture.md, "Events and live updates"): `data` is the
 *  conversation or the message as `GET /conversations/{id}` answers it. */
interface EventOf<Type extends string, Data> {
  event_id: string;
  type: Type;
  at: string;
  account_id: string;
  conversation_id: string;
  message_id?: string;
  data: Data;
}
type ConversationEvent = EventOf<`conversation.${string}`, Conversation>;
type MessageEvent = EventOf<"message.received" | "message.sent" | "message.status" | "note.added", Message>;
type ChannelEvent = ConversationEvent | MessageEvent;

const aboutConversation = (e: ChannelEvent): e is ConversationEvent => e.type.startsWith("conversation.");

// The page's own words (elements with `data-t`, `data-t-aria-label`).
const page = strings(
  {
    appTitle: "SMS conversations",
    account: "Account",
    connecting: "Connecting…",
    sound: "Sound on new messages",
    notify: "Notify me of new messages",
    shortcuts: "Keyboard shortcuts",
    administration: "Administration",
    signOut: "Sign out",
    signInAgain: "Sign in again",
    agent: "Agent",
    supervisor: "Supervisor",
    operator: "Operator",
    conversations: "Conversations",
    views: "Views",
    mine: "Mine",
    unassigned: "Unassigned",
    all: "All",
    closed: "Closed",
    customerNumber: "Customer number",
    find: "Find",
    clear: "Clear",
    listLabel: "Conversations, longest waiting first",
    more: "Show more",
    optedOut: "Opted out",
    accept: "Accept",
    closeForLater: "Close for later",
    end: "End",
    letGo: "Let go",
    transferTo: "Transfer to",
    transfer: "Transfer",
    earlier: "Earlier conversations with this customer",
    earlierMessages: "Earlier messages",
    transcript: "Transcript, oldest first",
    reply: "Reply",
    composerHelp: "Ctrl+Enter sends; / at the start or Alt+R inserts a canned response.",
    cannedFilter: "Canned response",
    cannedResponses: "Canned responses",
    send: "Send",
    addNoteLabel: "Note for colleagues (never sent)",
    addNote: "Add note",
    textCustomer: "Text a customer",
    from: "From",
    to: "To",
    message: "Message",
    team: "Team",
    membersLabel: "Members of the account",
    close: "Close",
  },
  {
    appTitle: "Rozmowy SMS",
    account: "Konto",
    connecting: "Łączenie…",
    sound: "Dźwięk przy nowych wiadomościach",
    notify: "Powiadamiaj o nowych wiadomościach",
    shortcuts: "Skróty klawiszowe",
    administration: "Administracja",
    signOut: "Wyloguj",
    signInAgain: "Zaloguj ponownie",
    agent: "Konsultant",
    supervisor: "Kierownik",
    operator: "Operator",
    conversations: "Rozmowy",
    views: "Widoki",
    mine: "Moje",
    unassigned: "Nieprzypisane",
    all: "Wszystkie",
    closed: "Zamknięte",
    customerNumber: "Numer klienta",
    find: "Szukaj",
    clear: "Wyczyść",
    listLabel: "Rozmowy, najdłużej czekające najpierw",
    more: "Pokaż więcej",
    optedOut: "Wypisany",
    accept: "Przyjmij",
    closeForLater: "Odłóż na później",
    end: "Zakończ",
    letGo: "Zwolnij",
    transferTo: "Przekaż do",
    transfer: "Przekaż",
    earlier: "Wcześniejsze rozmowy z tym klientem",
    earlierMessages: "Wcześniejsze wiadomości",
    transcript: "Przebieg rozmowy, od najstarszych",
    reply: "Odpowiedź",
    composerHelp: "Ctrl+Enter wysyła; / na początku lub Alt+R wstawia gotową odpowiedź.",
    cannedFilter: "Gotowa odpowiedź",
    cannedResponses: "Gotowe odpowiedzi",
    send: "Wyślij",
    addNoteLabel: "Notatka dla zespołu (nigdy niewysyłana)",
    addNote: "Dodaj notatkę",
    textCustomer: "Napisz do klienta",
    from: "Od",
    to: "Do",
    message: "Wiadomość",
    team: "Zespół",
    membersLabel: "Członkowie konta",
    close: "Zamknij",
  },
);

const t = strings(
  {
    signedIn: "Signed in as {name} ({roles})",
    noRole: "no role",
    noAccount: "You are not a member of any messaging account yet: ask an operator.",
    live: "Live",
    reconnecting: "Reconnecting… (refreshing every 2 s)",
    expired: "Not live: the session expired and could not be renewed",
    signingInAgain: "The session ended: signing in again. What you were writing is kept.",
    restored: "Signed in again: what you were writing is back.",
    signInFailed: "Sign-in did not complete ({why}).",
    noSignIn: "This console has no sign-in configured.",
    newMessage: "New message from +{number}: {text}",
    newMessageTitle: "New customer message",
    from: "From +{number}",
    messageSent: "Message sent.",
    memberRow: "{name} ({user}) · {role}",
  },
  {
    signedIn: "Zalogowano jako {name} ({roles})",
    noRole: "bez roli",
    noAccount: "Nie należysz jeszcze do żadnego konta: poproś operatora.",
    live: "Na żywo",
    reconnecting: "Ponowne łączenie… (odświeżanie co 2 s)",
    expired: "Nie na żywo: sesja wygasła i nie udało się jej odnowić",
    signingInAgain: "Sesja się skończyła: ponowne logowanie. To, co pisano, zostaje zachowane.",
    restored: "Zalogowano ponownie: to, co pisano, wróciło na miejsce.",
    signInFailed: "Logowanie nie powiodło się ({why}).",
    noSignIn: "Ta konsola nie ma skonfigurowanego logowania.",
    newMessage: "Nowa wiadomość od +{number}: {text}",
    newMessageTitle: "Nowa wiadomość od klienta",
    from: "Od +{number}",
    messageSent: "Wiadomość wysłana.",
    memberRow: "{name} ({user}) · {role}",
  },
);

type PageKey = Parameters<typeof page>[0];

/** Puts the page's own words in the console's language. */
function translatePage(): void {
  document.title = page("appTitle");
  document.querySelectorAll<HTMLElement>("[data-t]").forEach((e) => (e.textContent = page(e.dataset.t as PageKey)));
  document.querySelectorAll<HTMLElement>("[data-t-aria-label]").forEach((e) => e.setAttribute("aria-label", page(e.dataset.tAriaLabel as PageKey)));
}

const config: Config = JSON.parse(document.getElementById("console-config")?.textContent ?? '{"auth":null}');

function say(text: string, error = false): void {
  $(error ? "error" : "notice").textContent = text;
  if (!error && text) $("error").textContent = "";
}

function fail(e: unknown): void {
  say((e as Error).message, true);
}

/** Reads who is signed in and their accounts; answers what they kept before signing in again. */
async function loadAccounts(): Promise<Kept | null> {
  const me = await api<Answer<"getMe">>("GET", "/me");
  state.me = me;
  const kept = takeKept(me.user_id);
  $("whoami").textContent = t("signedIn", { name: me.name, roles: me.roles.join(", ") || t("noRole") });
  $("signout").hidden = false;
  const select = $<HTMLSelectElement>("account");
  select.replaceChildren(...me.accounts.map((a) => el("option", { value: a.account_id, text: a.name })));
  const keptAccount = me.accounts.some((a) => a.account_id === kept?.account_id) ? kept?.account_id : undefined;
  state.accountId = keptAccount ?? me.accounts[0]?.account_id ?? "";
  select.value = state.accountId;
  if (!state.accountId) say(t("noAccount"));
  setUpAdmin(me);
  await loadAccountTools();
  // Shown, and the account chosen, once the role has decided what the page holds.
  $("desk").hidden = false;
  select.disabled = false;
  return kept;
}

/** What was being written before the sign-in, back where it was: the open conversation with
 *  its reply draft (and that draft's key), the other drafts, the note, the outreach form. */
async function restore(kept: Kept): Promise<void> {
  restoreDrafts(kept.replies);
  const field = (id: string, text: string) => {
    if (text) $<HTMLInputElement>(id).value = text;
  };
  field("note", kept.note);
  field("outreach-to", kept.outreach?.to ?? "");
  field("outreach-text", kept.outreach?.text ?? "");
  const from = $<HTMLSelectElement>("outreach-from");
  if (Array.from(from.options).some((o) => o.value === kept.outreach?.from)) from.value = kept.outreach.from;
  if (kept.open && kept.account_id === state.accountId) await open(kept.open);
  say(t("restored"));
}

/** The operator's pages: the header's button swaps them with the desk; they are built (and
 *  read what they show) when first opened. An account they create, rename or delete is read
 *  again into the desk's account menu. */
function setUpAdmin(me: Me): void {
  const toggle = $<HTMLButtonElement>("admin-toggle");
  if (!me.roles.includes("operator")) return;
  let mounted = false;
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const showAdmin = $("admin").hidden;
    if (showAdmin && !mounted) {
      mountAdmin($("admin"), { api, me });
      mounted = true;
    }
    $("admin").hidden = !showAdmin;
    $("desk").hidden = showAdmin;
    toggle.setAttribute("aria-pressed", String(showAdmin));
  });
  $("admin").addEventListener(ACCOUNTS_CHANGED, () => {
    rereadAccounts().catch(fail);
  });
}

/** The account menu read again from `/me`, keeping the chosen account while it exists. */
async function rereadAccounts(): Promise<void> {
  const me = await api<Answer<"getMe">>("GET", "/me");
  state.me = me;
  const select = $<HTMLSelectElement>("account");
  select.replaceChildren(...me.accounts.map((a) => el("option", { value: a.account_id, text: a.name })));
  if (me.accounts.some((a) => a.account_id === state.accountId)) {
    select.value = state.accountId;
    return;
  }
  select.value = me.accounts[0]?.account_id ?? "";
  select.dispatchEvent(new Event("change"));
}

/** What the account holds besides the conversations: its canned responses and members for
 *  everyone; its numbers for texting a customer first to supervisors and operators. */
async function loadAccountTools(): Promise<void> {
  $("outreach-box").hidden = !runsDesk();
  $("team").hidden = !runsDesk();
  state.members = [];
  state.canned = [];
  showMembers();
  if (!state.accountId) return;
  const asked = state.accountId;
  // Every page of them (at most 200 an account, 100 a page).
  const canned = everyPage<Canned>(`/accounts/${asked}/canned-responses`, "canned_responses").catch(() => [] as Canned[]);
  const account = runsDesk() ? api<Answer<"getAccount">>("GET", `/accounts/${asked}`) : null;
  // Every member reads the others (a transfer names one).
  const members = everyPage<Member>(`/accounts/${asked}/members`, "members")
    .then((members) => ({ members }))
    .catch(() => null);
  const [c, a, m] = await Promise.all([canned, account, members]);
  // Another account was chosen meanwhile: its own load shows it.
  if (asked !== state.accountId) return;
  state.canned = c;
  if (a) $("outreach-from").replaceChildren(...a.numbers.map((n) => el("option", { value: n.number, text: `+${n.number}` })));
  if (m) {
    state.members = m.members;
    showMembers();
    $("members").replaceChildren(
      ...state.members.map((x) => el("li", { text: t("memberRow", { name: x.display_name ?? x.user_id, user: x.user_id, role: page(x.role) }) })),
    );
  }
}

async function textCustomer(event: Event): Promise<void> {
  event.preventDefault();
  const value = (id: string) => $<HTMLInputElement>(id).value;
  try {
    const sent = await api<Answer<"outreach">>(
      "POST",
      "/messages",
      { account_id: state.accountId, from: value("outreach-from"), to: value("outreach-to"), text: value("outreach-text") } satisfies RequestBody<"outreach">,
      { "idempotency-key": crypto.randomUUID() },
    );
    $<HTMLTextAreaElement>("outreach-text").value = "";
    say(t("messageSent"));
    await open(sent.conversation_id);
  } catch (e) {
    fail(e);
  }
}

// Live updates: one socket, opened with the session's token and opened again with each renewed
// one (the new socket opens before the old one closes, so no event falls between them; one that
// comes on both is dropped the second time by its id); polling only while no socket is live; one
// fetch to catch up whenever one opens. Live means a socket is open and the token it opened with
// has not expired: after that the channel may have stopped sending to it (its listing lives as
// long as the token).
let socket: WebSocket | null = null;
/** When the token the socket opened with expires (ms). */
let socketExpires = 0;
/** Sockets closed on purpose (replaced, or their token expired): their close changes nothing. */
const retired = new WeakSet<WebSocket>();
let live: boolean | null = null;
let retryIn = 1000;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let polling: ReturnType<typeof setInterval> | null = null;
const seenEvents = new Set<string>();
let unseen = 0;

function socketUrl(token: string): string {
  const base = config.socket ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  return `${base}?token=${encodeURIComponent(token)}`;
}

function isLive(): boolean {
  return socket !== null && socket.readyState === WebSocket.OPEN && Date.now() < socketExpires;
}

/** The indicator says what is true now, and the page polls while it is not live. */
function showLive(): void {
  const up = isLive();
  setText($("live"), up ? t("live") : expired() && !renewable() ? t("expired") : t("reconnecting"));
  if (up === live) return;
  live = up;
  $("live").dataset.state = up ? "up" : "down";
  if (up && polling !== null) {
    clearInterval(polling);
    polling = null;
  } else if (!up && polling === null) {
    polling = setInterval(tick, 2000);
  }
}

/** Opens a socket with the current token (renewed first when it has expired). */
function connect(): void {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
  const token = bearer();
  if (!token || expired()) {
    // A renewal connects again (onRenewed); without one the page is not live.
    void renew().then((renewed) => {
      if (renewed) return;
      showLive();
      retry();
    });
    return;
  }
  const expires = expiry();
  const ws = new WebSocket(socketUrl(token));
  ws.addEventListener("open", () => {
    const old = socket;
    socket = ws;
    socketExpires = expires;
    if (old && old !== ws) {
      retired.add(old);
      old.close();
    }
    retryIn = 1000;
    showLive();
    // The moment its token expires, the indicator (and the socket) are seen to.
    setTimeout(checkSession, Math.max(0, expires - Date.now()) + 100);
    // What happened while no socket was live (or before this one opened): one fetch.
    $("live").dataset.state = "catching-up";
    void tick().finally(() => {
      if (isLive()) $("live").dataset.state = "up";
    });
  });
  ws.addEventListener("message", (m) => {
    try {
      onEvent(JSON.parse(String(m.data)) as ChannelEvent);
    } catch (e) {
      fail(e);
    }
  });
  ws.addEventListener("close", () => {
    if (retired.has(ws)) return;
    if (socket === ws) socket = null;
    showLive();
    retry();
  });
}

/** Connects again later: backoff with jitter, at most 30 s between tries. */
function retry(): void {
  if (retryTimer !== null) return;
  retryTimer = setTimeout(connect, retryIn * (0.5 + Math.random() / 2));
  retryIn = Math.min(retryIn * 2, 30_000);
}

/**
 * The periodic check (and on waking, coming online, coming back to the tab): a renewal a timer
 * slept through is made now; a socket whose token has expired is closed and opened again with
 * the current token; the indicator is set from what is true.
 */
function checkSession(): void {
  void renewIfDue();
  if (socket && Date.now() >= socketExpires) {
    retired.add(socket);
    socket.close();
    socket = null;
    connect();
  }
  showLive();
}

function onEvent(e: ChannelEvent): void {
  if (seenEvents.has(e.event_id) || e.account_id !== state.accountId) return;
  seenEvents.add(e.event_id);
  if (seenEvents.size > 5000) seenEvents.clear();
  if (aboutConversation(e)) {
    changed(e.data, e.type === "conversation.opened");
    conversationChanged(e.data);
    return;
  }
  if (state.current?.conversation_id === e.conversation_id) mergeMessages([e.data]);
  if (e.type === "message.received" && e.data.direction === "inbound") notify(e);
}

/** A customer wrote: announced politely; the row bold and the title counting it until looked at;
 *  a sound and the browser's notification when the agent asked for them. */
function notify(e: MessageEvent): void {
  const number = customerOf(e.conversation_id) ?? "";
  $("announcer").textContent = t("newMessage", { number, text: e.data.text.slice(0, 140) });
  if (document.hasFocus() && e.conversation_id === state.current?.conversation_id) return;
  if (e.conversation_id !== state.current?.conversation_id) markUnread(e.conversation_id);
  unseen += 1;
  document.title = `(${unseen}) ${page("appTitle")}`;
  if ($<HTMLInputElement>("sound").checked) beep();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(t("newMessageTitle"), { body: number ? t("from", { number }) : "", tag: e.conversation_id });
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
  document.title = page("appTitle");
}

/** One catch-up: the list, the counts and the open conversation, each patched in place. */
async function tick(): Promise<void> {
  try {
    await Promise.all([refreshList(), refreshCounts(), refreshOpen()]);
  } catch (e) {
    fail(e);
  }
}

function wire(): void {
  reportTo(say);
  whenOpened((id) => open(id).catch(fail));
  setUpList(fail);
  setUpPane();
  setUpComposer(say);
  setUpShortcuts(fail);
  $("account").addEventListener("change", async (e) => {
    state.accountId = (e.target as HTMLSelectElement).value;
    state.current = null;
    $("pane").hidden = true;
    reset();
    await loadAccountTools();
    await Promise.all([refreshList(), refreshCounts()]);
  });
  $("signout").addEventListener("click", () => {
    // Nothing of this session stays for the next person at the desk.
    forgetKept();
    $<HTMLButtonElement>("signout").disabled = true;
    void signOut();
  });
  $("outreach").addEventListener("submit", textCustomer);
  $<HTMLInputElement>("sound").checked = localStorage.getItem("console.sound") === "on";
  $("sound").addEventListener("change", (e) => localStorage.setItem("console.sound", (e.target as HTMLInputElement).checked ? "on" : "off"));
  if ("Notification" in window && Notification.permission === "default") {
    $("notify").hidden = false;
    $("notify").addEventListener("click", async () => {
      await Notification.requestPermission();
      $("notify").hidden = true;
    });
  }
  window.addEventListener("focus", seenAll);
  document.addEventListener("visibilitychange", () => document.hidden || seenAll());
  // A refusal that renewing did not cure: what is being written is kept, then the provider's
  // sign-in, which comes back here.
  whenRefused(() => {
    keepDrafts();
    say(t("signingInAgain"));
    return goSignIn();
  });
  onRenewed(connect);
  setInterval(checkSession, 5000);
  window.addEventListener("online", checkSession);
  document.addEventListener("visibilitychange", () => document.hidden || checkSession());
}

/** Signs in; a sign-in that did not complete is said, with a button to try again. */
async function session(): Promise<boolean> {
  if (!config.auth) {
    say(t("noSignIn"), true);
    return false;
  }
  try {
    await signIn(config.auth);
    return true;
  } catch (e) {
    say(t("signInFailed", { why: (e as Error).message }), true);
    const again = $<HTMLButtonElement>("signin-again");
    again.hidden = false;
    again.addEventListener("click", () => void goSignIn().catch(fail));
    again.focus();
    return false;
  }
}

async function main(): Promise<void> {
  translatePage();
  if (!(await session())) return;
  wire();
  const kept = await loadAccounts();
  await Promise.all([refreshList(), refreshCounts()]);
  if (kept) await restore(kept).catch(fail);
  showLive();
  connect();
}

main().catch(fail);
