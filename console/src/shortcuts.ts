// Keyboard shortcuts for the common moves, listed in a dialog opened with `?`. None fires while
// typing in a field (but Ctrl+Enter sends and Alt+R opens the canned responses from the reply).

import { openCanned } from "./composer";
import { $, el, typing } from "./dom";
import { strings } from "./i18n";
import { focusRow, neighbour } from "./list";
import { move, open } from "./pane";
import { state } from "./state";

const t = strings(
  {
    next: "Next conversation",
    previous: "Previous conversation",
    accept: "Accept the conversation",
    end: "End the conversation",
    reply: "Write a reply",
    note: "Write a note",
    transfer: "Transfer the conversation",
    canned: "Insert a canned response",
    send: "Send the reply (in the reply field)",
    help: "This list",
    escape: "Close a dialog or the canned responses",
  },
  {
    next: "Następna rozmowa",
    previous: "Poprzednia rozmowa",
    accept: "Przyjmij rozmowę",
    end: "Zakończ rozmowę",
    reply: "Napisz odpowiedź",
    note: "Napisz notatkę",
    transfer: "Przekaż rozmowę",
    canned: "Wstaw gotową odpowiedź",
    send: "Wyślij odpowiedź (w polu odpowiedzi)",
    help: "Ta lista",
    escape: "Zamknij okno lub gotowe odpowiedzi",
  },
);

const KEYS: [string, Parameters<typeof t>[0]][] = [
  ["j", "next"],
  ["k", "previous"],
  ["a", "accept"],
  ["e", "end"],
  ["r", "reply"],
  ["n", "note"],
  ["t", "transfer"],
  ["/", "canned"],
  ["Alt+R", "canned"],
  ["Ctrl+Enter", "send"],
  ["?", "help"],
  ["Esc", "escape"],
];

function focusIfShown(id: string): void {
  const e = $(id);
  if (e.offsetParent !== null && !(e as HTMLInputElement).disabled) e.focus();
}

async function step(by: 1 | -1, fail: (e: unknown) => void): Promise<void> {
  const id = neighbour(by);
  if (!id) return;
  await open(id).catch(fail);
  focusRow(id);
}

/** Wires the shortcuts and their dialog; `fail` shows an error. */
export function setUpShortcuts(fail: (e: unknown) => void): void {
  const dialog = $<HTMLDialogElement>("shortcuts-dialog");
  $("shortcuts-list").replaceChildren(...KEYS.flatMap(([key, what]) => [el("dt", {}, el("kbd", { text: key })), el("dd", { text: t(what) })]));
  $("shortcuts-open").hidden = false;
  $("shortcuts-open").addEventListener("click", () => dialog.showModal());
  document.addEventListener("keydown", (e) => {
    if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyR") {
      e.preventDefault();
      openCanned();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || dialog.open || $("desk").hidden) return;
    const inPane = state.current !== null && !$("pane").hidden;
    const act: Record<string, () => void> = {
      "?": () => dialog.showModal(),
      j: () => void step(1, fail),
      k: () => void step(-1, fail),
      a: () => inPane && !$<HTMLButtonElement>("accept").disabled && void move("accept"),
      e: () => inPane && !$<HTMLButtonElement>("end").disabled && void move("end"),
      r: () => focusIfShown("reply"),
      n: () => focusIfShown("note"),
      t: () => focusIfShown("assignee"),
      "/": () => openCanned(),
    };
    const action = act[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  });
}
