// The operator's pages: mounted into `<main id="admin">`, reached by the header's
// "Administration" button (operators only). The desk hands over its API call and the signed-in user.

import { strings } from "./i18n";

/** The signed-in user, as `GET /me` answers. */
export interface Me {
  user_id: string;
  name: string;
  roles: string[];
  accounts: { account_id: string; name: string; role: "operator" | "supervisor" | "agent" }[];
}

/** What the desk gives the operator's pages: its API call (bearer, errors) and the user. */
export interface AdminContext {
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<any>;
  me: Me;
}

const t = strings({ title: "Administration" }, { title: "Administracja" });

/** Renders the operator's pages into `root`. */
export function mountAdmin(root: HTMLElement, ctx: AdminContext): void {
  void ctx;
  const title = document.createElement("h2");
  title.textContent = t("title");
  root.replaceChildren(title);
}
