#!/usr/bin/env python3
"""The smoke test of a deployed stack: what a fresh deploy must answer, checked from outside as an
operator would, changing nothing in the stack (reads, a callback refused before anything is
stored, a socket opened and closed). Prints each check, and for a failure what to do.

    make smoke API=https://abc123.execute-api.eu-west-1.amazonaws.com TOKEN=<operator ID token> [STACK=sms-channel]

API is the stack's ApiUrl output; TOKEN an operator's ID token (from the console: sign in, then
copy it from the browser's session storage, or `aws cognito-idp initiate-auth`); STACK the stack's
name, to check its alarms and dashboard with the AWS credentials of the shell (left out when
unset). The WebSocket URL is read from the console page (the stack's WebSocketUrl output).

Exit status: 0 when every check passed, 1 otherwise.
"""

import argparse
import base64
import json
import os
import re
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

TIMEOUT = 15


class Failed(Exception):
    """A check failed; the text says what an operator does about it."""


def call(method, url, token=None, body=None, headers=None):
    """(status, headers, body bytes) of one HTTP request; raises Failed when nothing answers."""
    h = dict(headers or {})
    if token:
        h["authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("content-type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, OSError) as e:
        raise Failed(f"nothing answers at {url} ({getattr(e, 'reason', e)}): is the stack deployed, and is API "
                     "its ApiUrl output (https://<id>.execute-api.<region>.amazonaws.com, no path)?") from None


def as_json(body):
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def check_unauthorized(api, _ctx):
    status, _, body = call("GET", f"{api}/me")
    if status != 401 or as_json(body) != {"message": "Unauthorized"}:
        raise Failed(f"GET /me without a token answered {status} {body[:200]!r}, not API Gateway's 401: "
                     "the API's JWT authorizer is not in front of the routes; check the HttpApi's Auth in the template")
    return "GET /me without a token: 401 Unauthorized"


def check_me(api, ctx):
    status, _, body = call("GET", f"{api}/me", ctx["token"])
    me = as_json(body)
    if status == 401:
        raise Failed("the token was refused (401): give an operator's ID token of the stack's user pool (or of "
                     "the JwtIssuer given at deploy), not expired, for the app client the API names (JwtAudience)")
    if status != 200 or not isinstance(me, dict):
        raise Failed(f"GET /me answered {status} {body[:200]!r}: read the accounts function's log group")
    if "operator" not in (me.get("roles") or []):
        raise Failed(f"the token's roles are {me.get('roles')}: the smoke test needs an operator (add the user to "
                     "the operator group, sign in again, and take the new token)")
    ctx["me"] = me
    return f"GET /me: {me.get('user_id')}, roles {', '.join(me['roles'])}"


def check_accounts(api, ctx):
    status, _, body = call("GET", f"{api}/accounts", ctx["token"])
    found = as_json(body)
    if status != 200 or not isinstance(found, dict) or not isinstance(found.get("accounts"), list):
        raise Failed(f"GET /accounts answered {status} {body[:200]!r}: the accounts function or the table is "
                     "not working; read the accounts function's log group and the table's alarms")
    ctx["accounts"] = found["accounts"]
    return f"GET /accounts: {len(found['accounts'])} account(s)"


def check_bad_signature(api, ctx):
    """A callback signed with a key nobody has: refused, and nothing stored."""
    accounts = ctx.get("accounts") or []
    account = accounts[0]["account_id"] if accounts else uuid.uuid4().hex
    body = json.dumps({"reference_id": uuid.uuid4().hex.upper(), "sub_resource": "mo_sms",
                       "status": {"code": 1500},
                       "user_response": {"phone_number": "15555550100", "sender_id": "15555550199",
                                         "mo_message": "smoke test: must be refused"}}).encode()
    forged = "TSA SMOKE-TEST:" + base64.b64encode(b"not a signature").decode()
    status, _, answer = call("POST", f"{api}/telesign/{account}/callback", body=body,
                             headers={"authorization": forged, "content-type": "application/json"})
    code = ((as_json(answer) or {}).get("error") or {}).get("code")
    if 200 <= status < 300:
        raise Failed(f"SECURITY: a callback with a bad signature was accepted ({status} {answer[:200]!r}): anyone "
                     "can write into the desk as a customer. Roll back to the previous version now "
                     "(the inbound callback function's alias 'live'), then find why verification is off")
    if accounts and (status, code) != (401, "invalid_signature"):
        raise Failed(f"a callback with a bad signature for account {account} answered {status} {code}, "
                     "not 401 invalid_signature: read the inbound-callback log group")
    if not accounts and status not in (401, 404):
        raise Failed(f"a callback for no account answered {status} {code}, not 404: read the inbound-callback log group")
    what = "401 invalid_signature" if accounts else f"{status} {code} (no account yet: the signature check itself is tried once one exists)"
    return f"POST /telesign/{{account}}/callback with a bad signature: {what}"


def check_console(api, ctx):
    status, headers, body = call("GET", f"{api}/console")
    headers = {k.lower(): v for k, v in headers.items()}
    policy = headers.get("content-security-policy", "")
    if status != 200 or "text/html" not in headers.get("content-type", ""):
        raise Failed(f"GET /console answered {status} {headers.get('content-type')}: the console function is not "
                     "deployed behind the API; read its log group")
    for wanted in ("default-src 'none'", "script-src 'sha256-", "frame-ancestors 'none'"):
        if wanted not in policy:
            raise Failed(f"the console's Content-Security-Policy lacks {wanted!r} ({policy!r}): a proxy in front "
                         "of the API may strip it; the page must be served as the function answers it")
    page = body.decode("utf-8", "replace")
    config = re.search(r'<script type="application/json" id="console-config">(.*?)</script>', page, re.S)
    ctx["console_config"] = json.loads(config.group(1)) if config else {}
    return "GET /console: the page, with its Content-Security-Policy"


def websocket_status(url, token):
    """The HTTP status of a WebSocket opening handshake to `url` with `token` (101: accepted); the
    socket is closed at once."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + ("?" + parts.query + "&" if parts.query else "?") + "token=" + urllib.parse.quote(token)
    raw = socket.create_connection((parts.hostname, port), timeout=TIMEOUT)
    sock = ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname) if secure else raw
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        sock.sendall(request.encode())
        line = b""
        while not line.endswith(b"\r\n"):
            chunk = sock.recv(1)
            if not chunk:
                break
            line += chunk
        fields = line.decode("latin-1").split()
        return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    finally:
        sock.close()


def check_socket(api, ctx):
    url = (ctx.get("console_config") or {}).get("socket")
    if not url:
        url = re.sub(r"^http", "ws", api) + "/ws"
    try:
        good = websocket_status(url, ctx["token"])
        bad = websocket_status(url, "not-a-token")
    except OSError as e:
        raise Failed(f"the WebSocket API at {url} does not answer ({e}): check the WebSocketUrl output and its stage") from None
    if good != 101:
        raise Failed(f"the WebSocket API refused the operator's token ({good}): the socket authorizer's JWT_ISSUER and "
                     "JWT_AUDIENCE must be the API's; read the socket-authorizer log group")
    if good == 101 and bad == 101:
        raise Failed("SECURITY: the WebSocket API accepted a bad token: anyone can listen to every conversation. "
                     "Check the $connect route's authorizer")
    return f"WebSocket {url}: the token accepted (101), a bad one refused ({bad})"


def check_alarms(_api, ctx):
    stack = ctx.get("stack")
    if not stack:
        return None
    try:
        import boto3
    except ImportError:
        raise Failed("STACK is set but boto3 is missing: run make smoke (it installs the tools) or pip install boto3") from None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH"), region_name=region)
    try:
        found = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=f"{stack}-", AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            found += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        cloudwatch.get_dashboard(DashboardName=f"{stack}-operations")
    except Exception as e:  # the SDK's errors: no credentials, no permission, not found
        raise Failed(f"the alarms or the dashboard of {stack} could not be read ({type(e).__name__}: {e}): "
                     "run with AWS credentials of the stack's account and region, and STACK the stack's name") from None
    names = {a["AlarmName"] for a in found}
    wanted = {f"{stack}-{n}" for n in ctx["expected_alarms"]}
    missing = sorted(wanted - names)
    if missing:
        raise Failed(f"alarms missing: {', '.join(missing)}: the stack is not the template's; deploy it again")
    firing = sorted(a["AlarmName"] for a in found if a.get("StateValue") == "ALARM")
    if firing:
        raise Failed(f"in alarm now: {', '.join(firing)}: each alarm's runbook is in docs/operations.md")
    return f"alarms: {len(names)} present, none in alarm; dashboard {stack}-operations present"


CHECKS = [check_unauthorized, check_me, check_accounts, check_bad_signature, check_console, check_socket, check_alarms]


def expected_alarms(template):
    """The alarm names the template gives (`${AWS::StackName}-<name>`), without the stack."""
    text = open(template, encoding="utf-8").read()
    return sorted(set(re.findall(r"AlarmName: !Sub \$\{AWS::StackName\}-([a-z0-9-]+)", text)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default=os.environ.get("API"), help="the stack's ApiUrl output")
    parser.add_argument("--token", default=os.environ.get("TOKEN"), help="an operator's ID token")
    parser.add_argument("--stack", default=os.environ.get("STACK"), help="the stack's name (its alarms and dashboard)")
    parser.add_argument("--template", default=os.path.join(os.path.dirname(__file__), "..", "template.yaml"))
    args = parser.parse_args()
    if not args.api or not args.token:
        print("make smoke API=<the stack's ApiUrl output> TOKEN=<an operator's ID token> [STACK=<stack name>]", file=sys.stderr)
        return 2
    api = args.api.rstrip("/")
    ctx = {"token": args.token, "stack": args.stack, "expected_alarms": expected_alarms(args.template)}
    failures = 0
    for check in CHECKS:
        try:
            said = check(api, ctx)
        except Failed as e:
            failures += 1
            print(f"FAIL  {e}")
            # Nothing else can pass without an API that answers, or without the operator's token.
            if check in (check_unauthorized, check_me):
                break
            continue
        if said:
            print(f"ok    {said}")
    print(f"smoke test of {api}: " + ("passed" if not failures else f"{failures} check(s) failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
