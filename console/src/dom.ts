// Small DOM helpers of the console: building elements, finding them, and putting a list's nodes
// in order without moving the one that holds keyboard focus (moving it would drop the focus).

/** An element with attributes (`text` sets its text) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
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

/** The element with this id. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Sets an element's text only when it changed (a selection inside it survives otherwise). */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/**
 * Makes `parent`'s children exactly `nodes`, in that order, moving as few as it can and never
 * the node that holds the keyboard focus (the others are placed around it).
 */
export function placeInOrder(parent: Element, nodes: Element[]): void {
  const wanted = new Set(nodes);
  for (const child of Array.from(parent.children)) if (!wanted.has(child)) child.remove();
  const focused = nodes.findIndex((n) => n.parentNode === parent && n.contains(document.activeElement));
  const anchor = focused >= 0 ? focused : 0;
  if (focused < 0 && nodes.length && parent.firstElementChild !== nodes[0]) parent.prepend(nodes[0]);
  let ref = nodes[anchor];
  for (let i = anchor - 1; i >= 0; i--) {
    if (nodes[i].nextElementSibling !== ref) parent.insertBefore(nodes[i], ref);
    ref = nodes[i];
  }
  ref = nodes[anchor];
  for (let i = anchor + 1; i < nodes.length; i++) {
    if (ref.nextElementSibling !== nodes[i]) ref.after(nodes[i]);
    ref = nodes[i];
  }
}

/** Whether keyboard input goes to a field (shortcuts stay quiet then). */
export function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}
