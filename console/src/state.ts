// What the console knows: the signed-in user, the chosen account, the conversations it has seen,
// the open one. One object, shared by the desk's modules.

/** The signed-in user, as `GET /me` answers. */
export interface Me {
  user_id: string;
  name: string;
  roles: string[];
  accounts: { account_id: string; name: string; role: Role }[];
}

/** A conversation as the API answers it (`messages` only on the single read). */
export interface Conversation {
  conversation_id: string;
  account_id: string;
  support_number: string;
  customer_number: string;
  status: "open" | "active" | "waiting" | "closed";
  created_at: string;
  last_activity_at: string;
  assigned_agent: string | null;
  assigned_agent_name?: string | null;
  last_customer_message_at?: string | null;
  needs_reply?: boolean;
  waiting_since?: string | null;
  opted_out: boolean;
  last_message_preview?: string;
  messages?: Message[];
  next_cursor?: string | null;
}

/** A message of a transcript, a note among them (`direction: "note"`, with its author). */
export interface Message {
  message_id: string;
  direction: "inbound" | "outbound" | "system" | "note";
  text: string;
  created_at: string;
  status: string;
  status_code: number | null;
  status_description: string | null;
  segments: number;
  encoding: string;
  agent_id?: string;
  agent_name?: string;
  /** Sent, and no delivery report came within the wait: the agent chooses whether to send again. */
  unconfirmed?: boolean;
  /** Sent by the channel itself (greeting, away, closing, help, stop, start). */
  automated?: boolean;
  kind?: string;
  author?: { user_id: string; name: string };
}

/** A member of the account (supervisors and operators read them). */
export interface Member {
  user_id: string;
  role: string;
  display_name: string | null;
}

/** A canned response of the account. */
export interface Canned {
  canned_response_id: string;
  title: string;
  text: string;
}

export type Role = "operator" | "supervisor" | "agent";

export const state = {
  me: null as Me | null,
  accountId: "",
  /** Every conversation seen (lists, reads, events), by id: the counts follow its changes. */
  seen: new Map<string, Conversation>(),
  /** The open conversation, its transcript oldest first. */
  current: null as Conversation | null,
  members: [] as Member[],
  canned: [] as Canned[],
};

/** The caller's role in the chosen account: what the page shows follows it. */
export function role(): Role | null {
  return state.me?.accounts.find((a) => a.account_id === state.accountId)?.role ?? null;
}

/** Supervisors and operators run the desk: they assign any conversation and text customers first. */
export const runsDesk = () => role() === "operator" || role() === "supervisor";

/** An agent works only what is unassigned or theirs. */
export function heldByOther(c: Conversation): boolean {
  return role() === "agent" && c.assigned_agent !== null && c.assigned_agent !== state.me?.user_id;
}

/** Who holds a conversation, by name when known. */
export function holderName(c: Conversation): string {
  return c.assigned_agent_name ?? c.assigned_agent ?? "";
}
