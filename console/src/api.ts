// The channel's API from the console: same origin, the bearer token, errors as `ApiError`.

import { forget } from "./auth";
import { strings } from "./i18n";
import { settles } from "./rules";

const t = strings({ answered: "the channel answered {status}" }, { answered: "kanał odpowiedział {status}" });

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

let bearer: string | null = null;

/** The token every call carries from now on. */
export function useToken(token: string | null): void {
  bearer = token;
}

/** The token, for the socket's query. */
export function currentToken(): string {
  return bearer ?? "";
}

/** One call: JSON in and out; a 401 signs in again; anything not 2xx throws an `ApiError`. */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const h: Record<string, string> = { ...headers };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  if (body !== undefined) h["content-type"] = "application/json";
  let r: Response;
  try {
    r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError((e as Error).message, 0, null);
  }
  if (r.status === 401) {
    // Expired or revoked: sign in again.
    forget();
    location.reload();
  }
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = data?.error;
    throw new ApiError(e?.message ? `${e.message} (${e.code})` : t("answered", { status: r.status }), r.status, e?.code ?? null);
  }
  return data;
}
