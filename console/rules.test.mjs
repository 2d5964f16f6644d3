// The desk's pure rules (console/src/rules.ts), without a browser: the list's order, the views'
// counts as conversations change, and when a send's answer spends the draft's Idempotency-Key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";

const bundle = await build({
  entryPoints: [new URL("./src/rules.ts", import.meta.url).pathname],
  bundle: true, format: "esm", write: false, logLevel: "warning",
});
const { order, recount, settles } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

const conversation = (name, fields) => ({
  name, status: "open", assigned_agent: null, last_activity_at: "2026-01-01T10:00:00Z", needs_reply: false, ...fields,
});

test("the longest waiting customer comes first, then the others by their last activity", () => {
  const given = [
    conversation("answered long ago", { last_activity_at: "2026-01-01T08:00:00Z" }),
    conversation("waiting 5 min", { needs_reply: true, waiting_since: "2026-01-01T09:55:00Z", last_activity_at: "2026-01-01T09:58:00Z" }),
    conversation("answered just now", { last_activity_at: "2026-01-01T09:59:00Z" }),
    conversation("waiting 30 min", { needs_reply: true, waiting_since: "2026-01-01T09:30:00Z", last_activity_at: "2026-01-01T09:31:00Z" }),
    conversation("closed, customer wrote last", { status: "closed", needs_reply: true, waiting_since: "2026-01-01T07:00:00Z", last_activity_at: "2026-01-01T07:00:00Z" }),
  ];
  assert.deepEqual(given.sort(order).map((c) => c.name), [
    "waiting 30 min", "waiting 5 min", "answered just now", "answered long ago", "closed, customer wrote last",
  ]);
});

test("a conversation's change moves the counts of Mine, Unassigned and All", () => {
  const counts = { all: 3, mine: 1, unassigned: 1 };
  const open = conversation("new", {});
  assert.deepEqual(recount(counts, null, open, "ada"), { all: 4, mine: 1, unassigned: 2 }, "a new one is unassigned");
  const taken = { ...open, status: "active", assigned_agent: "ada" };
  assert.deepEqual(recount(counts, open, taken, "ada"), { all: 3, mine: 2, unassigned: 0 }, "taken by me");
  const transferred = { ...taken, assigned_agent: "bob" };
  assert.deepEqual(recount(counts, taken, transferred, "ada"), { all: 3, mine: 0, unassigned: 1 }, "given to a colleague");
  const ended = { ...transferred, status: "closed" };
  assert.deepEqual(recount(counts, transferred, ended, "ada"), { all: 2, mine: 1, unassigned: 1 }, "ended: out of every view");
  assert.deepEqual(recount(counts, ended, ended, "ada"), counts, "a closed one counts nowhere");
});

test("only a success or a client refusal that is no timeout spends the draft's key", () => {
  for (const status of [200, 202, 400, 404, 409, 422]) assert.equal(settles(status), true, `${status}`);
  for (const status of [0, 408, 429, 500, 502, 503, 504]) assert.equal(settles(status), false, `${status}`);
});
