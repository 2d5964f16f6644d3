// What the agent was writing, kept across a sign-in that a refused token forces: every reply
// draft with its Idempotency-Key (a send that may have gone cannot go twice after it), the note
// being written, the outreach form's fields, the chosen account and the open conversation. Kept
// in sessionStorage (this tab only) for the user who wrote them: someone else signing in at the
// same desk gets none of it, and signing out forgets it.

import { Draft, everyDraft } from "./composer";
import { $ } from "./dom";
import { state } from "./state";

const KEY = "sms-console-kept";

/** What is kept, and for whom. */
export interface Kept {
  user_id: string;
  account_id: string;
  /** The open conversation. */
  open: string | null;
  replies: [string, Draft][];
  note: string;
  outreach: { from: string; to: string; text: string };
}

const value = (id: string) => $<HTMLInputElement>(id).value;

/** Keeps what is being written, before the page leaves to sign in again. */
export function keepDrafts(): void {
  if (!state.me) return;
  const kept: Kept = {
    user_id: state.me.user_id,
    account_id: state.accountId,
    open: state.current?.conversation_id ?? null,
    replies: everyDraft(),
    note: value("note"),
    outreach: { from: value("outreach-from"), to: value("outreach-to"), text: value("outreach-text") },
  };
  sessionStorage.setItem(KEY, JSON.stringify(kept));
}

/** What was kept for `userId`, taken out of the storage (what another user kept is dropped). */
export function takeKept(userId: string): Kept | null {
  const text = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  if (!text) return null;
  try {
    const kept = JSON.parse(text) as Kept;
    return kept.user_id === userId && Array.isArray(kept.replies) ? kept : null;
  } catch {
    return null;
  }
}

/** Forgets anything kept (signing out). */
export function forgetKept(): void {
  sessionStorage.removeItem(KEY);
}
