// Sign-in for the deployed console: OpenID Connect authorization code with PKCE against the same
// issuer as the API's JWT authorizer. Locally (no issuer configured) there is no sign-in.

export interface AuthConfig {
  issuer: string;
  client_id: string;
}

const TOKEN = "sms-console-token";

function base64url(bytes: Uint8Array): string {
  let s = "";
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const r = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!r.ok) throw new Error(`the sign-in provider answered ${r.status}`);
  return r.json();
}

/** The bearer token, signing in first when needed; null when the console needs no sign-in. */
export async function token(config: AuthConfig | null): Promise<string | null> {
  if (!config) return null;
  const stored = sessionStorage.getItem(TOKEN);
  if (stored) return stored;
  const meta = await discover(config.issuer);
  const redirect = `${location.origin}${location.pathname}`;
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (code && params.get("state") === sessionStorage.getItem("sms-console-state")) {
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.client_id,
      code,
      redirect_uri: redirect,
      code_verifier: sessionStorage.getItem("sms-console-verifier") ?? "",
    });
    const r = await fetch(meta.token_endpoint, { method: "POST", body });
    if (!r.ok) throw new Error(`sign-in failed: ${r.status}`);
    const tokens = await r.json();
    const t = tokens.id_token ?? tokens.access_token;
    sessionStorage.setItem(TOKEN, t);
    history.replaceState(null, "", redirect);
    return t;
  }
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem("sms-console-verifier", verifier);
  sessionStorage.setItem("sms-console-state", state);
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirect,
    scope: "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
  return new Promise(() => {});
}

/** Forgets the token (it expired: the next call signs in again). */
export function forget(): void {
  sessionStorage.removeItem(TOKEN);
}
