"""docs/openapi.yaml is the contract the stack keeps: fails when they drift.

1. The document is valid OpenAPI 3.1.
2. Its paths and methods are exactly the route table's (tools/local-gateway/src/routes.rs, which
   tests/template.rs keeps equal to template.yaml).
3. Against the running local stack (SMS_BASE_URL, SIM_URL, as scripts/test.sh starts it), every
   route answers a success and an error (the two routes that have no client error excepted), and
   each answer's status is documented for its route and its body matches the documented schema.

Prints one line per failure and `openapi contract: N passed, M failed`.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import random
import re
import sys
import urllib.error
import urllib.request
import uuid

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
API = os.environ["SMS_BASE_URL"]
SIM = os.environ["SIM_URL"]
NOBODY = "0" * 32
# Routes with no client error to provoke: their only errors are 5xx of the infrastructure.
NO_CLIENT_ERROR = {("GET", "/accounts"), ("GET", "/console")}

REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOC, default_specification=DRAFT202012))
passed = 0
failed = 0
answered = {}  # (method, template) -> set of statuses validated


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}", file=sys.stderr)


def pointer(*parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(node, path):
    """Follows a `$ref` of the document (a response); answers the node and its JSON pointer."""
    while "$ref" in node:
        path = node["$ref"][1:]
        node = DOC
        for part in path.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, path


def routes_of_table():
    text = (ROOT / "tools/local-gateway/src/routes.rs").read_text()
    return set(re.findall(r'route\(\s*"([A-Z]+)",\s*"([^"]+)"', text))


def routes_of_document():
    return {(m.upper(), p) for p, item in DOC["paths"].items() for m in item if m in {"get", "post", "put", "delete", "patch"}}


TOKEN = {}


def mint(sub, roles, **extra):
    """A token the local gateway mints (it stands in for the identity provider)."""
    req = urllib.request.Request(f"{API}/_local/tokens", method="POST",
                                 data=json.dumps({"sub": sub, "roles": roles, **extra}).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["token"]


def call(method, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = dict(headers or {})
    if "authorization" not in {k.lower() for k in headers} and "current" in TOKEN:
        headers["authorization"] = f"Bearer {TOKEN['current']}"
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    if data is not None and "content-type" not in {k.lower() for k in (headers or {})}:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def answer(method, template, path, expect, body=None, headers=None, raw=None):
    """Calls the route, checks the status against `expect` and the body against the document."""
    status, ctype, data = call(method, path, body, headers, raw)
    what = f"{method} {path} → {status}"
    check(status == expect, f"{what}: expected {expect}: {data[:300]!r}")
    operation = DOC["paths"].get(template, {}).get(method.lower())
    if operation is None:
        check(False, f"{what}: {method} {template} is not in docs/openapi.yaml")
        return None
    base = pointer("paths", template, method.lower(), "responses", str(status))
    response = operation["responses"].get(str(status))
    if response is None:
        check(False, f"{what}: status {status} is not documented for {method} {template}")
        return None
    response, base = resolve(response, base)
    if status == 204:
        check(not data and "content" not in response, f"{what}: a 204 has no body")
        if status == expect:
            answered.setdefault((method, template), set()).add(status)
        return None
    media = ctype.split(";")[0].strip()
    content = response.get("content", {})
    if media not in content:
        check(False, f"{what}: content type {media!r} is not documented ({list(content)})")
        return None
    parsed = json.loads(data) if media == "application/json" else data.decode()
    schema = {"$ref": "urn:openapi#" + base + pointer("content", media, "schema")}
    errors = sorted(Draft202012Validator(schema, registry=REGISTRY).iter_errors(parsed), key=lambda e: list(e.path))
    check(not errors, f"{what}: the body does not match the document: "
          + "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]))
    if not errors and status == expect:
        answered.setdefault((method, template), set()).add(status)
    return parsed


def sim(path, body):
    req = urllib.request.Request(f"{SIM}/_sim/{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def us_number():
    return f"1425{random.randrange(2_000_000, 10_000_000)}"


def signed_inbound(customer, key, support, from_number, text):
    # TeleSign's time of the message: now (one older than the deduplication window is ignored).
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({
        "reference_id": uuid.uuid4().hex.upper(), "sub_resource": "mo_sms",
        "status": {"code": 1500, "description": "Message received", "updated_on": now},
        "submit_timestamp": now, "errors": [],
        "user_response": {"phone_number": from_number, "sender_id": support, "mo_message": text},
    }).encode()
    mac = hmac.new(base64.b64decode(key), body, hashlib.sha256).digest()
    return body, {"authorization": f"TSA {customer}:{base64.b64encode(mac).decode()}", "content-type": "application/json"}


def scenario():
    TOKEN["current"] = mint("contract-operator", ["operator"], name="Contract operator")
    customer = "CONTRACT-" + uuid.uuid4().hex[:12].upper()
    key = base64.b64encode(os.urandom(32)).decode()
    sim("customers", {"customer_id": customer, "api_key": key})
    support, extra, person = us_number(), us_number(), us_number()
    creds = {"customer_id": customer, "api_key": key}

    answer("POST", "/accounts/validate", "/accounts/validate", 200, creds)
    answer("POST", "/accounts/validate", "/accounts/validate", 400, {"customer_id": customer})

    new = {"name": "Contract", **creds, "numbers": [{"number": "+" + support, "type": "long_code"}]}
    account = answer("POST", "/accounts", "/accounts", 201, new)
    account_id = account["account_id"]
    answer("POST", "/accounts", "/accounts", 409, new)
    answer("POST", "/accounts", "/accounts", 400,
           {"name": "Contract", **creds, "numbers": [{"number": "425-555-0100", "type": "long_code"}]})
    answer("GET", "/accounts", "/accounts", 200)
    answer("GET", "/accounts/{account_id}", f"/accounts/{account_id}", 200)
    answer("GET", "/accounts/{account_id}", f"/accounts/{NOBODY}", 404)
    answer("POST", "/accounts/{account_id}/validate", f"/accounts/{account_id}/validate", 200)
    answer("POST", "/accounts/{account_id}/validate", f"/accounts/{NOBODY}/validate", 404)
    answer("PUT", "/accounts/{account_id}/api-key", f"/accounts/{account_id}/api-key", 200, {"api_key": key})
    answer("PUT", "/accounts/{account_id}/api-key", f"/accounts/{account_id}/api-key", 400, {"api_key": "not base64!"})
    answer("POST", "/accounts/{account_id}/numbers", f"/accounts/{account_id}/numbers", 201,
           {"number": "+1 " + extra[1:], "type": "long_code"})
    answer("POST", "/accounts/{account_id}/numbers", f"/accounts/{account_id}/numbers", 400,
           {"number": "call-me", "type": "long_code"})
    number_path = "/accounts/{account_id}/numbers/{number}"
    answer("PATCH", number_path, f"/accounts/{account_id}/numbers/{extra}", 200,
           {"timezone": "Europe/Warsaw", "business_hours": {"mon": [["09:00", "17:00"]]},
            "auto_close": {"waiting_after_seconds": 86400}, "messages": {"greeting": "Hello", "help": None}})
    answer("PATCH", number_path, f"/accounts/{account_id}/numbers/{extra}", 400, {"timezone": "Nowhere/Else"})
    answer("PATCH", number_path, f"/accounts/{account_id}/numbers/{us_number()}", 404, {"description": "x"})
    answer("DELETE", "/accounts/{account_id}/numbers/{number}", f"/accounts/{account_id}/numbers/{extra}", 200)
    answer("DELETE", "/accounts/{account_id}/numbers/{number}", f"/accounts/{account_id}/numbers/{extra}", 404)

    callback = f"/telesign/{account_id}/callback"
    raw, headers = signed_inbound(customer, key, support, person, "Hello, my order is late")
    answer("POST", "/telesign/{account_id}/callback", callback, 200, raw=raw, headers=headers)
    headers["authorization"] = f"TSA {customer}:{base64.b64encode(b'x' * 32).decode()}"
    answer("POST", "/telesign/{account_id}/callback", callback, 401, raw=raw, headers=headers)

    listed = answer("GET", "/conversations", f"/conversations?account_id={account_id}", 200)
    answer("GET", "/conversations", "/conversations", 400)
    answer("GET", "/conversations", f"/conversations?account_id={account_id}&assigned=none&customer=%2B{person}", 200)
    answer("GET", "/conversations", f"/conversations?account_id={account_id}&assigned=me&status=closed", 400)
    answer("GET", "/conversations", f"/conversations?account_id={account_id}&customer=12", 400)
    history = f"/accounts/{account_id}/customers/{person}/conversations"
    answer("GET", "/accounts/{account_id}/customers/{number}/conversations", history + "?limit=5", 200)
    answer("GET", "/accounts/{account_id}/customers/{number}/conversations", history + "?cursor=nope", 400)
    answer("GET", "/accounts/{account_id}/customers/{number}/conversations",
           f"/accounts/{NOBODY}/customers/{person}/conversations", 404)
    counts = answer("GET", "/accounts/{account_id}/conversations/counts", f"/accounts/{account_id}/conversations/counts", 200)
    check(counts is not None and counts["all"] >= 1, f"the counts hold the new conversation: {counts}")
    answer("GET", "/accounts/{account_id}/conversations/counts", f"/accounts/{NOBODY}/conversations/counts", 404)
    canned = f"/accounts/{account_id}/canned-responses"
    made = answer("POST", "/accounts/{account_id}/canned-responses", canned, 201, {"title": "Hours", "text": "9 to 5"})
    answer("POST", "/accounts/{account_id}/canned-responses", canned, 400, {"title": " ", "text": "x"})
    answer("GET", "/accounts/{account_id}/canned-responses", canned, 200)
    answer("GET", "/accounts/{account_id}/canned-responses", f"/accounts/{NOBODY}/canned-responses", 404)
    one = f"{canned}/{made['canned_response_id']}"
    answer("PUT", "/accounts/{account_id}/canned-responses/{canned_response_id}", one, 200, {"title": "Hours", "text": "9 to 6"})
    answer("PUT", "/accounts/{account_id}/canned-responses/{canned_response_id}", one, 400, {"title": "Hours", "text": ""})
    answer("DELETE", "/accounts/{account_id}/canned-responses/{canned_response_id}", one, 204)
    answer("DELETE", "/accounts/{account_id}/canned-responses/{canned_response_id}", one, 404)
    conversation = listed["conversations"][0]["conversation_id"]
    c = f"/conversations/{conversation}"
    answer("GET", "/conversations/{conversation_id}", c, 200)
    answer("GET", "/conversations/{conversation_id}", f"/conversations/{NOBODY}", 404)
    answer("GET", "/conversations/{conversation_id}", c + "?order=desc&limit=1", 200)
    answer("GET", "/conversations/{conversation_id}", c + "?order=sideways", 400)
    answer("POST", "/conversations/{conversation_id}/accept", c + "/accept", 200, {"agent_id": "agent-7"})
    answer("POST", "/conversations/{conversation_id}/accept", f"/conversations/{NOBODY}/accept", 404)
    answer("POST", "/conversations/{conversation_id}/messages", c + "/messages", 202, {"text": "Checking now"})
    answer("POST", "/conversations/{conversation_id}/messages", c + "/messages", 400, {"text": "  "})
    answer("POST", "/conversations/{conversation_id}/messages", c + "/messages", 422, {"text": "a" * 1601})
    answer("POST", "/conversations/{conversation_id}/notes", c + "/notes", 201, {"text": "Wants a refund"})
    answer("POST", "/conversations/{conversation_id}/notes", c + "/notes", 400, {"text": " "})
    answer("POST", "/conversations/{conversation_id}/notes", c + "/notes", 422, {"text": "a" * 2001})
    answer("POST", "/conversations/{conversation_id}/notes", f"/conversations/{NOBODY}/notes", 404, {"text": "x"})
    answer("POST", "/conversations/{conversation_id}/close", c + "/close", 200)
    answer("POST", "/conversations/{conversation_id}/close", f"/conversations/{NOBODY}/close", 404)
    answer("POST", "/conversations/{conversation_id}/end", c + "/end", 200)
    answer("POST", "/conversations/{conversation_id}/end", c + "/end", 409)
    answer("POST", "/conversations/{conversation_id}/messages", c + "/messages", 409, {"text": "after the end"})

    outreach = {"account_id": account_id, "from": support, "text": "Your order has shipped."}
    started = answer("POST", "/messages", "/messages", 202, {**outreach, "to": f"+1 ({us_number()[1:4]}) 555-0123"})
    answer("POST", "/messages", "/messages", 400, {**outreach, "to": "425-555"})
    answer("POST", "/messages", "/messages", 404, {**outreach, "account_id": NOBODY, "to": person})

    answer("GET", "/console", "/console", 200)
    team(account_id, conversation, started["conversation_id"])


def team(account_id, conversation, live):
    """The caller, members, assignment, the audit trail, and the authorizer's and policy's refusals."""
    answer("GET", "/me", "/me", 200)
    answer("GET", "/me", "/me", 401, headers={"authorization": "Bearer not-a-token"})
    expired = mint("contract-operator", ["operator"], ttl_seconds=-60)
    answer("GET", "/accounts", "/accounts", 401, headers={"authorization": f"Bearer {expired}"})
    members = f"/accounts/{account_id}/members"
    answer("PUT", "/accounts/{account_id}/members/{user_id}", members + "/contract-agent", 200,
           {"role": "agent", "display_name": "Contract agent"})
    answer("PUT", "/accounts/{account_id}/members/{user_id}", members + "/contract-agent", 400, {"role": "operator"})
    answer("GET", "/accounts/{account_id}/members", members, 200)
    assign = f"/conversations/{live}/assign"
    answer("POST", "/conversations/{conversation_id}/assign", assign, 200, {"agent_id": "contract-agent"})
    answer("POST", "/conversations/{conversation_id}/assign", assign, 422, {"agent_id": "not-a-member"})
    answer("GET", "/accounts/{account_id}/members", f"/accounts/{NOBODY}/members", 404)
    agent = mint("contract-agent", ["agent"])
    answer("GET", "/accounts/{account_id}/members", members, 200, headers={"authorization": f"Bearer {agent}"})
    answer("POST", "/accounts", "/accounts", 403, {"name": "x"}, headers={"authorization": f"Bearer {agent}"})
    answer("GET", "/audit", f"/audit?account_id={account_id}&limit=5", 200)
    answer("GET", "/audit", "/audit?account_id=nobody", 404)
    answer("GET", "/audit", "/audit", 400)
    answer("GET", "/audit", f"/audit?account_id={account_id}", 403, headers={"authorization": f"Bearer {agent}"})
    answer("DELETE", "/accounts/{account_id}/members/{user_id}", members + "/contract-agent", 204)
    answer("DELETE", "/accounts/{account_id}/members/{user_id}", f"/accounts/{NOBODY}/members/contract-agent", 404)
    c = f"/conversations/{conversation}/assign"
    answer("POST", "/conversations/{conversation_id}/assign", c, 409, {"agent_id": None})
    answer("POST", "/conversations/{conversation_id}/assign", f"/conversations/{NOBODY}/assign", 404, {"agent_id": None})


def lifecycle():
    """An account renamed, given a retention, then deleted."""
    customer = "CONTRACT-" + uuid.uuid4().hex[:12].upper()
    key = base64.b64encode(os.urandom(32)).decode()
    sim("customers", {"customer_id": customer, "api_key": key})
    new = {"name": "Short lived", "customer_id": customer, "api_key": key,
           "numbers": [{"number": us_number(), "type": "long_code"}]}
    account_id = answer("POST", "/accounts", "/accounts", 201, new)["account_id"]
    answer("POST", "/accounts", "/accounts", 409, {**new, "numbers": []})
    path = f"/accounts/{account_id}"
    answer("PATCH", "/accounts/{account_id}", path, 200, {"name": "Renamed", "retention_days": 30})
    answer("PATCH", "/accounts/{account_id}", path, 200, {"retention_days": None})
    answer("PATCH", "/accounts/{account_id}", path, 400, {"retention_days": 0})
    answer("PATCH", "/accounts/{account_id}", f"/accounts/{NOBODY}", 404, {"name": "x"})
    person = us_number()
    raw, headers = signed_inbound(customer, key, new["numbers"][0]["number"], person, "Please forget me")
    answer("POST", "/telesign/{account_id}/callback", f"/telesign/{account_id}/callback", 200, raw=raw, headers=headers)
    answer("GET", "/accounts/{account_id}/customers/{number}/export", f"{path}/customers/{person}/export", 200)
    answer("GET", "/accounts/{account_id}/customers/{number}/export", f"{path}/customers/call-me/export", 400)
    answer("DELETE", "/accounts/{account_id}/customers/{number}", f"{path}/customers/{person}", 200)
    answer("DELETE", "/accounts/{account_id}/customers/{number}", f"/accounts/{NOBODY}/customers/{person}", 404)
    answer("DELETE", "/accounts/{account_id}", path, 204)
    answer("DELETE", "/accounts/{account_id}", path, 404)


def main():
    try:
        validate_openapi(DOC)
        check(DOC["openapi"].startswith("3.1"), "docs/openapi.yaml is OpenAPI 3.1")
    except Exception as e:  # the validator's own exception types vary by version
        check(False, f"docs/openapi.yaml is not valid OpenAPI: {e}")
    table, document = routes_of_table(), routes_of_document()
    check(len(table) > 10, f"the route table was read ({len(table)} routes)")
    for route in sorted(table - document):
        check(False, f"{route[0]} {route[1]} is in the route table but not in docs/openapi.yaml")
    for route in sorted(document - table):
        check(False, f"{route[0]} {route[1]} is in docs/openapi.yaml but not in the route table")

    scenario()
    lifecycle()

    for route in sorted(document):
        statuses = answered.get(route, set())
        check(any(200 <= s < 300 for s in statuses), f"{route[0]} {route[1]}: no success answer was checked")
        if route not in NO_CLIENT_ERROR:
            check(any(400 <= s < 500 for s in statuses), f"{route[0]} {route[1]}: no error answer was checked")
    print(f"openapi contract: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
