// The desk's pure rules, apart from the page so that `console/rules.test.mjs` checks them: the
// list's order, how a change moves the views' counts, and when a draft's Idempotency-Key is spent.

/** What the rules read of a conversation. */
export interface Listed {
  status: "open" | "active" | "waiting" | "closed";
  assigned_agent: string | null;
  last_activity_at: string;
  needs_reply?: boolean;
  waiting_since?: string | null;
  last_customer_message_at?: string | null;
}

/** The counts of the views Mine, Unassigned and All (live conversations only). */
export interface Counts {
  all: number;
  mine: number;
  unassigned: number;
}

/** Since when a live conversation has waited for a reply, or null when it waits for nobody. */
function waitingSince(c: Listed): string | null {
  if (!c.needs_reply || c.status === "closed") return null;
  return c.waiting_since ?? c.last_customer_message_at ?? c.last_activity_at;
}

/** Needing a reply first, the longest waiting first; then the rest, newest activity first. */
export function order(a: Listed, b: Listed): number {
  const wa = waitingSince(a);
  const wb = waitingSince(b);
  if (wa && wb) return wa.localeCompare(wb);
  if (wa || wb) return wa ? -1 : 1;
  return b.last_activity_at.localeCompare(a.last_activity_at);
}

function contribution(c: Listed | null, me: string | undefined): Counts {
  if (!c || c.status === "closed") return { all: 0, mine: 0, unassigned: 0 };
  return { all: 1, mine: c.assigned_agent === me ? 1 : 0, unassigned: c.assigned_agent === null ? 1 : 0 };
}

/** The counts after a conversation went from `before` (null: it is new) to `after`. */
export function recount(counts: Counts, before: Listed | null, after: Listed, me: string | undefined): Counts {
  const was = contribution(before, me);
  const is = contribution(after, me);
  return {
    all: counts.all + is.all - was.all,
    mine: counts.mine + is.mine - was.mine,
    unassigned: counts.unassigned + is.unassigned - was.unassigned,
  };
}

/**
 * Whether an answer of this HTTP status settles a send (0: no answer at all): a 2xx, or a 4xx
 * that is no timeout (408) or throttle (429). Otherwise the message may have gone, and sending
 * again must reuse the draft's Idempotency-Key.
 */
export function settles(status: number): boolean {
  return (status >= 200 && status < 300) || (status >= 400 && status < 500 && status !== 408 && status !== 429);
}
