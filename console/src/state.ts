// What the console knows: the signed-in user, the chosen account, the conversations it has seen,
// the open one. One object, shared by the desk's modules. The wire's shapes are the contract's
// (docs/openapi.yaml, generated into api-types.ts).

import type { Schema } from "./api";

/** The signed-in user, as `GET /me` answers. */
export type Me = Schema<"Me">;

/**
 * A conversation as the API answers it (`messages` and `next_cursor` only on the single read).
 * The open one keeps its transcript here, merged from reads, sends and events.
 */
export type Conversation = Schema<"Conversation">;

/** A message of a transcript, a note among them (`direction: "note"`, with its `author`);
 *  `unconfirmed`: sent, and no delivery report came within the wait (the agent chooses whether
 *  to send again); `automated`: sent by the channel itself (its `kind`). */
export type Message = Schema<"Message">;

/** A member of the account (every member reads them: a transfer names one). */
export type Member = Schema<"Member">;

/** A canned response of the account. */
export type Canned = Schema<"CannedResponse">;

export type Role = Schema<"Role">;

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
