// The session. Sign-in is OpenID Connect's authorization code flow with PKCE against the same
// issuer as the API's JWT authorizer (deployed: Cognito; locally: the gateway's stand-in), one
// path both ways. The ID token (the API's bearer) and the refresh token live in this page's
// memory only: a reload signs in again, and nothing of the session outlives the tab. The ID
// token is renewed with the refresh token before it expires (a minute before, or at 80 % of a
// short lifetime); signing out revokes the refresh token and ends the provider's session.

import { strings } from "./i18n";

const t = strings(
  {
    answered: "the sign-in provider answered {status}",
    noToken: "the sign-in provider gave no token",
    notConfigured: "no sign-in is configured",
  },
  {
    answered: "dostawca logowania odpowiedział {status}",
    noToken: "dostawca logowania nie wydał tokenu",
    notConfigured: "logowanie nie jest skonfigurowane",
  },
);

/** The page's sign-in configuration (`auth` of the console's config). */
export interface AuthConfig {
  issuer: string;
  client_id: string;
  /** Where the provider signs out (Cognito's `/logout`, which its discovery does not name). */
  logout_url?: string | null;
  /** Where a refresh token is revoked (Cognito's `/oauth2/revoke`). */
  revoke_url?: string | null;
}

/** What the issuer's discovery document says (the parts the console uses). */
interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
  revocation_endpoint?: string;
}

/** The token endpoint's answer. */
interface Tokens {
  id_token?: string;
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
}

/** A sign-in that did not complete: the provider refused or could not be reached. */
export class SignInError extends Error {}

// Kept across the provider's redirect: the PKCE verifier and the state of the sign-in under way
// (neither is a credential once the code is exchanged; both are removed then).
const VERIFIER = "sms-console-verifier";
const STATE = "sms-console-state";

/** Renewed this long before the token expires at most (a shorter lifetime: at 80 % of it). */
const RENEW_LEAD_MS = 60_000;
/** A renewal that got no answer is tried again after this long. */
const RENEW_RETRY_MS = 5_000;

let config: AuthConfig | null = null;
let endpoints: Endpoints | null = null;
let idToken: string | null = null;
let refreshToken: string | null = null;
/** When the ID token expires, by this browser's clock (ms). */
let expiresAt = 0;
/** When the next renewal is due (ms). */
let renewAt = Infinity;
let renewTimer: ReturnType<typeof setTimeout> | null = null;
let renewing: Promise<boolean> | null = null;
let freshSignIn = false;
const renewedListeners: (() => void)[] = [];

function base64url(bytes: Uint8Array): string {
  let s = "";
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The console's own address: the redirect and logout URI the app client allows. */
function consoleUrl(): string {
  return `${location.origin}/console`;
}

async function discover(): Promise<Endpoints> {
  if (endpoints) return endpoints;
  if (!config) throw new SignInError(t("notConfigured"));
  const r = await fetch(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`).catch(() => null);
  if (!r?.ok) throw new SignInError(t("answered", { status: r?.status ?? 0 }));
  endpoints = (await r.json()) as Endpoints;
  return endpoints;
}

/** The `exp` claim of a JWT (seconds), or null. */
function expiryClaim(jwt: string): number | null {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(payload)).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/**
 * Takes the tokens of an answer to a request sent at `sentAt` (ms), plans their renewal and
 * answers the bearer token. The lifetime is the answer's `expires_in` counted from when the
 * request left (this browser's clock may differ from the provider's), else the token's `exp`.
 */
function keep(tokens: Tokens, sentAt: number): string {
  const token = tokens.id_token ?? tokens.access_token;
  if (!token) throw new SignInError(t("noToken"));
  idToken = token;
  if (tokens.refresh_token) refreshToken = tokens.refresh_token;
  const exp = expiryClaim(token);
  const lifetime = tokens.expires_in ? tokens.expires_in * 1000 : exp ? exp * 1000 - sentAt : 3_600_000;
  expiresAt = sentAt + lifetime;
  planRenewal(expiresAt - Math.min(RENEW_LEAD_MS, lifetime * 0.2));
  return token;
}

function planRenewal(at: number): void {
  renewAt = at;
  if (renewTimer !== null) clearTimeout(renewTimer);
  renewTimer = null;
  if (at === Infinity || !refreshToken) return;
  renewTimer = setTimeout(() => void renewIfDue(), Math.max(0, at - Date.now()));
}

/**
 * The bearer token, signing in first when there is none: back from the provider with a code,
 * the code is exchanged; otherwise the browser goes to the provider's sign-in (and this never
 * resolves). Throws a `SignInError` when the provider refuses the code.
 */
export async function signIn(c: AuthConfig): Promise<string> {
  config = c;
  if (idToken) return idToken;
  const meta = await discover();
  const params = new URLSearchParams(location.search);
  const refusal = params.get("error");
  if (refusal) {
    // The provider sent the browser back without a code: said, not asked again in a loop.
    history.replaceState(null, "", consoleUrl());
    throw new SignInError(params.get("error_description") ?? refusal);
  }
  const code = params.get("code");
  const expected = sessionStorage.getItem(STATE);
  if (code && expected && params.get("state") === expected) {
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      client_id: c.client_id,
      code,
      redirect_uri: consoleUrl(),
      code_verifier: sessionStorage.getItem(VERIFIER) ?? "",
    });
    sessionStorage.removeItem(STATE);
    sessionStorage.removeItem(VERIFIER);
    // The code is spent either way: the address loses it (a reload signs in afresh).
    history.replaceState(null, "", consoleUrl());
    const sent = Date.now();
    const r = await fetch(meta.token_endpoint, { method: "POST", body }).catch(() => null);
    if (!r?.ok) throw new SignInError(t("answered", { status: r?.status ?? 0 }));
    const token = keep((await r.json()) as Tokens, sent);
    freshSignIn = true;
    return token;
  }
  return goSignIn();
}

/** Goes to the provider's sign-in page; the browser comes back to the console with a code. */
export async function goSignIn(): Promise<never> {
  const meta = await discover();
  if (!config) throw new SignInError(t("notConfigured"));
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: consoleUrl(),
    scope: "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  forget();
  location.assign(url.toString());
  return new Promise<never>(() => {});
}

/** The ID token every API call carries, or null. */
export function bearer(): string | null {
  return idToken;
}

/** When the ID token expires (ms, this browser's clock; 0 without one). */
export function expiry(): number {
  return idToken ? expiresAt : 0;
}

/** Whether the ID token has expired (or there is none). */
export function expired(): boolean {
  return !idToken || Date.now() >= expiresAt;
}

/** Whether the session can still be renewed (the provider has not refused its refresh token). */
export function renewable(): boolean {
  return refreshToken !== null;
}

/** Whether this page signed in with a code (its first calls prove the new token). */
export function signedInHere(): boolean {
  return freshSignIn;
}

/** `listener` runs after each renewal, with the new token in place. */
export function onRenewed(listener: () => void): void {
  renewedListeners.push(listener);
}

/** Renews when the renewal is due (a timer may have slept with the computer). */
export function renewIfDue(): Promise<boolean> {
  return Date.now() >= renewAt ? renew() : Promise.resolve(false);
}

/**
 * Renews the ID token with the refresh token (one renewal at a time: concurrent callers share
 * it). Resolves whether a new token is in place. An unanswered try is tried again shortly; a
 * refused refresh token (revoked, expired) is forgotten: the next sign-in is the provider's page.
 */
export function renew(): Promise<boolean> {
  renewing ??= (async () => {
    if (!refreshToken || !config) return false;
    const meta = await discover().catch(() => null);
    const body = new URLSearchParams({ grant_type: "refresh_token", client_id: config.client_id, refresh_token: refreshToken });
    const sent = Date.now();
    const r = meta ? await fetch(meta.token_endpoint, { method: "POST", body }).catch(() => null) : null;
    if (!r || r.status >= 500 || r.status === 429) {
      planRenewal(Date.now() + RENEW_RETRY_MS);
      return false;
    }
    const tokens = r.ok ? ((await r.json().catch(() => ({}))) as Tokens) : {};
    if (!tokens.id_token && !tokens.access_token) {
      refreshToken = null;
      planRenewal(Infinity);
      return false;
    }
    keep(tokens, sent);
    renewedListeners.forEach((l) => l());
    return true;
  })().finally(() => (renewing = null));
  return renewing;
}

/** Forgets the tokens (the page holds no session afterwards). */
export function forget(): void {
  idToken = null;
  refreshToken = null;
  expiresAt = 0;
  planRenewal(Infinity);
}

/**
 * Signs out: the refresh token revoked at the provider (the configured `revoke_url`, else the
 * discovery's `revocation_endpoint`), the tokens forgotten, then the provider's logout endpoint
 * (`logout_url`, else `end_session_endpoint`) with Cognito's `client_id` and `logout_uri`, which
 * ends the provider's own session and comes back to the console, signed out.
 */
export async function signOut(): Promise<never> {
  const refresh = refreshToken;
  forget();
  const meta = await discover().catch(() => null);
  const revoke = config?.revoke_url ?? meta?.revocation_endpoint;
  if (refresh && revoke && config) {
    const body = new URLSearchParams({ token: refresh, client_id: config.client_id });
    // Best effort: the provider's logout below ends its session either way.
    await fetch(revoke, { method: "POST", body }).catch(() => null);
  }
  const logout = config?.logout_url ?? meta?.end_session_endpoint;
  if (logout && config) {
    const url = new URL(logout);
    url.searchParams.set("client_id", config.client_id);
    url.searchParams.set("logout_uri", consoleUrl());
    location.assign(url.toString());
  } else location.assign(consoleUrl());
  return new Promise<never>(() => {});
}
