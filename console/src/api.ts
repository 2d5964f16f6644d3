// The channel's API from the console: same origin, the session's bearer token, errors as
// `ApiError`. A 401 renews the token once and asks again; refused still, the console signs in
// again (what `whenRefused` was given keeps the drafts first), and the call never settles.
// What the channel answers is typed from the contract: `api-types.ts` is generated from
// docs/openapi.yaml (`npm run gen:api`), and `Answer<"operationId">` names a route's success body.

import type { components, operations } from "./api-types";
import { bearer, renew, signedInHere } from "./auth";
import { strings } from "./i18n";
import { settles } from "./rules";

const t = strings(
  {
    answered: "the channel answered {status}",
    refusedNew: "The channel refused the new sign-in (401): reload the page to try again.",
  },
  {
    answered: "kanał odpowiedział {status}",
    refusedNew: "Kanał odrzucił nowe logowanie (401): wczytaj stronę ponownie, aby spróbować jeszcze raz.",
  },
);

/** A schema of the contract, by name (`Schema<"Conversation">`). */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

/** The JSON body of a response; `undefined` for one without (a 204). */
type Body<R> = R extends { content: { "application/json": infer B } } ? B : undefined;
type Success = 200 | 201 | 202 | 204;

/** What an operation of the contract answers when it succeeds (`Answer<"getConversation">`). */
export type Answer<Op extends keyof operations> = Body<operations[Op]["responses"][Extract<keyof operations[Op]["responses"], Success>]>;

/** The JSON body an operation takes (`RequestBody<"createAccount">`), for `satisfies` at a call. */
export type RequestBody<Op extends keyof operations> =
  NonNullable<operations[Op]["requestBody"]> extends { content: { "application/json": infer B } } ? B : never;

/** The code and sentence of the contract's error body (`{"error": {code, message, ...}}`), if it is one. */
function errorOf(data: unknown): Pick<Schema<"ErrorDetail">, "code" | "message"> | null {
  if (typeof data !== "object" || data === null || !("error" in data)) return null;
  const e: unknown = data.error;
  if (typeof e !== "object" || e === null || !("code" in e) || !("message" in e)) return null;
  return typeof e.code === "string" && typeof e.message === "string" ? { code: e.code, message: e.message } : null;
}

/** A refusal or failure: the HTTP status (0: no answer) and the contract's error code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }

  /** Whether the answer is final for this request: a 2xx, or a 4xx that is no timeout or
   *  throttle (asking again with the same idempotency key could still send it otherwise). */
  get definitive(): boolean {
    return settles(this.status);
  }
}

let refused: () => Promise<never> = () => new Promise<never>(() => {});
let signingInAgain: Promise<never> | null = null;
/** Whether the channel has taken this page's token once (a refusal before that is no expiry). */
let accepted = false;

/** What a refusal that renewing did not cure does: keep the drafts and sign in again. Once. */
export function whenRefused(handler: () => Promise<never>): void {
  refused = handler;
}

async function attempt(method: string, path: string, body: unknown, headers: Record<string, string>, token: string | null): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  try {
    return await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError((e as Error).message, 0, null);
  }
}

/**
 * One call: JSON in and out; a 401 renews and asks once more; anything not 2xx throws an `ApiError`.
 * `T` is what the route answers, named from the contract (`api<Answer<"getMe">>("GET", "/me")`):
 * the body is not checked at run time (the contract test holds the stack to the schema).
 */
export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  let token = bearer();
  let r = await attempt(method, path, body, headers, token);
  if (r.status === 401) {
    // Expired or revoked: renewed (unless another call renewed it meanwhile), then asked again
    // with the same headers (a send keeps its Idempotency-Key).
    if (bearer() !== token || (await renew())) {
      token = bearer();
      r = await attempt(method, path, body, headers, token);
    }
  }
  if (r.status === 401) {
    // A token fresh from the provider refused: signing in again would only come back here.
    if (!accepted && signedInHere()) throw new ApiError(t("refusedNew"), 401, "unauthorized");
    signingInAgain ??= refused();
    return signingInAgain;
  }
  accepted = true;
  const data: unknown = r.status === 204 ? undefined : await r.json().catch(() => undefined);
  if (!r.ok) {
    const e = errorOf(data);
    throw new ApiError(e?.message ? `${e.message} (${e.code})` : t("answered", { status: r.status }), r.status, e?.code ?? null);
  }
  // The one place the wire becomes a type: the route's answer as the contract states it.
  return data as T;
}

/** How `everyPage` asks for one page (`api`, or the operator's pages' own). */
export type Call = <T>(method: string, path: string) => Promise<T>;

/** A page of a list: one field of items and the cursor of the next page (null on the last one). */
type Page<T> = { [field: string]: T[] | Schema<"Cursor"> | undefined; next_cursor?: Schema<"Cursor"> };

/**
 * Every item of a list the API answers a page at a time: `field`'s items of each page,
 * following `next_cursor` (`limit` a page). `call` is the API (the operator's pages hand theirs).
 */
export async function everyPage<T>(path: string, field: string, limit = 100, call: Call = api): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const q: string = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) }).toString();
    const page = await call<Page<T>>("GET", `${path}${path.includes("?") ? "&" : "?"}${q}`);
    const found = page[field];
    if (Array.isArray(found)) items.push(...found);
    cursor = page.next_cursor ?? null;
  } while (cursor);
  return items;
}
