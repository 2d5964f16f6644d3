// Sign-in. Deployed: OpenID Connect authorization code with PKCE against the same issuer as the
// API's JWT authorizer. Without an issuer (the local stack), the local gateway mints the token
// (`POST /_local/tokens`) for the user and role picked in the sign-in form.

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

/** The local sign-in: the form's user and role, a token from the local gateway. */
function localSignIn(): Promise<string> {
  const form = document.getElementById("signin-form") as HTMLFormElement;
  (document.getElementById("signin") as HTMLElement).hidden = false;
  return new Promise((resolve, reject) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
      const request = { sub: value("signin-user"), name: value("signin-name") || undefined, roles: [value("signin-role")] };
      const r = await fetch("/_local/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
      if (!r.ok) return reject(new Error(`the local sign-in answered ${r.status}`));
      const { token } = await r.json();
      sessionStorage.setItem(TOKEN, token);
      (document.getElementById("signin") as HTMLElement).hidden = true;
      resolve(token);
    });
  });
}

/** The bearer token, signing in first when needed. */
export async function token(config: AuthConfig | null): Promise<string | null> {
  const stored = sessionStorage.getItem(TOKEN);
  if (stored) return stored;
  if (!config) return localSignIn();
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
