"""docs/openapi.yaml fuzzed against a running local stack by schemathesis: fails on any failure.

schemathesis generates requests from the contract (valid ones, which the stack must take, and
invalid ones, which it must refuse) and checks every answer against it (status, content type,
body schema, headers, server errors). Before it runs, this makes what the requests need to reach
past a 404, through the API and the TeleSign simulator as the test suite does
(tests/support/mod.rs): two TeleSign customers, an account with support numbers, members, canned
responses and conversations (customers texting through the simulator), a second account to be
deleted, and a real `next_cursor` of every list. Their ids go to schemathesis's configuration
(path and query parameters drawn from them most of the time) and, for the custom formats of
tests/contract_fuzz_hooks.py, to a fixture file (SMS_FUZZ_FIXTURE).

The run is reproducible: a fixed seed, a bounded number of examples per operation, no example
database. It takes about a minute and a half on two cores.

    .venv/bin/python tests/contract_fuzz.py --api http://127.0.0.1:9000 --sim http://127.0.0.1:8787 \\
        --token-file .local/dev-9000/operator.token

Prints schemathesis's report; exits with its status (non-zero on any failure). Standard library
only, besides the `st` of .venv (schemathesis, requirements-dev.txt).
"""

import argparse
import base64
import json
import os
import pathlib
import random
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "openapi.yaml"
HOOKS = ROOT / "tests" / "contract_fuzz_hooks.py"
ST = ROOT / ".venv" / "bin" / "st"

# US area codes whose numbers the server's numbering-plan check takes (as tests/support/mod.rs).
AREA_CODES = [201, 206, 212, 213, 303, 305, 312, 404, 415, 425, 503, 512, 617, 702, 718]


class Stack:
    """The stack's API (as the operator) and its TeleSign simulator."""

    def __init__(self, api: str, sim: str, token: str):
        self.api = api.rstrip("/")
        self.sim_url = sim.rstrip("/")
        self.token = token

    def _call(self, method, url, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                text = answer.read()
                return answer.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text.decode(errors="replace")

    def call(self, method, path, body=None, expect=(200,)):
        status, answer = self._call(method, self.api + path, body, self.token)
        if status not in expect:
            raise SystemExit(f"{method} {path}: {status} {answer}")
        return answer

    def sim(self, method, path, body=None):
        status, answer = self._call(method, f"{self.sim_url}/_sim/{path}", body)
        if status != 200:
            raise SystemExit(f"simulator {method} {path}: {status} {answer}")
        return answer


def random_number(rng: random.Random) -> str:
    """A valid US number no one else uses, as TeleSign writes numbers."""
    return f"1{rng.choice(AREA_CODES)}{rng.randrange(2_000_000, 10_000_000)}"


def customer(stack: Stack, run: str, name: str):
    """A TeleSign customer of the simulator: its id and a fresh key (32 random bytes, base64)."""
    customer_id = f"FUZZ-{run}-{name}".upper()
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    stack.sim("POST", "customers", {"customer_id": customer_id, "api_key": key})
    return customer_id, key


def account(stack: Stack, rng: random.Random, name: str, creds, numbers: list):
    """An account with `numbers` (fresh ones drawn again when one is already some account's)."""
    for _ in range(10):
        body = {"name": name, "customer_id": creds[0], "api_key": creds[1], "numbers": numbers}
        status, answer = stack._call("POST", stack.api + "/accounts", body, stack.token)
        if status == 201:
            return answer
        if status == 409 and answer.get("error", {}).get("code") == "number_in_use":
            numbers = [
                {**n, "number": random_number(rng)} if n["type"] != "short_code" else {**n, "number": str(rng.randrange(100000, 99999999))}
                for n in numbers
            ]
            continue
        raise SystemExit(f"POST /accounts: {status} {answer}")
    raise SystemExit("POST /accounts: every number drawn was in use")


def text(stack: Stack, acct: dict, creds, support: str, customer_number: str, words: str):
    """The simulator texts `support` as a customer; the channel must store it."""
    answer = stack.sim("POST", "inbound", {
        "callback_url": acct["callback_url"], "customer_id": creds[0],
        "from": customer_number, "to": support, "text": words,
    })
    if answer.get("status") != 200:
        raise SystemExit(f"the channel refused a customer's text: {answer}")


def conversation_of(stack: Stack, account_id: str, customer_number: str) -> str:
    for _ in range(100):
        listed = stack.call("GET", f"/conversations?account_id={account_id}&limit=100")
        for c in listed["conversations"]:
            if c["customer_number"] == customer_number:
                return c["conversation_id"]
        time.sleep(0.1)
    raise SystemExit(f"no conversation of {customer_number} appeared")


def next_cursor(stack: Stack, path: str) -> str:
    answer = stack.call("GET", path)
    cursor = answer.get("next_cursor")
    if not cursor:
        raise SystemExit(f"GET {path} gave no next_cursor: the fixture needs a second page")
    return cursor


def make_fixture(stack: Stack) -> dict:
    """Everything the fuzzed requests name, made through the API and the simulator."""
    run = secrets.token_hex(4)
    rng = random.Random(run)
    main_creds = customer(stack, run, "main")
    doomed_creds = customer(stack, run, "doomed")
    support, spare = random_number(rng), random_number(rng)
    short_code = str(rng.randrange(100000, 99999999))
    main = account(stack, rng, f"Fuzzed line {run}", main_creds, [
        {"number": support, "type": "long_code", "description": "fuzzed"},
        {"number": spare, "type": "long_code", "description": "removed by the fuzzer"},
        {"number": short_code, "type": "short_code"},
    ])
    stored = [n["number"] for n in main["numbers"]]
    support, spare, short_code = stored[0], stored[1], stored[2]
    doomed = account(stack, rng, f"Deleted by the fuzzer {run}", doomed_creds, [])
    # Where valid additions of numbers go, in turn: an account takes at most 50.
    sinks = [
        account(stack, rng, f"Numbers added by the fuzzer {run} {i}", customer(stack, run, f"sink{i}"), [])["account_id"]
        for i in range(6)
    ]
    account_id = main["account_id"]

    members = ["fuzz-agent-1", "fuzz-agent-2"]
    for user, role in [("fuzz-agent-1", "agent"), ("fuzz-agent-2", "supervisor"), ("fuzz-leaver", "agent")]:
        stack.call("PUT", f"/accounts/{account_id}/members/{user}", {"role": role, "display_name": user})
    canned = [
        stack.call("POST", f"/accounts/{account_id}/canned-responses", {"title": title, "text": f"{title}: we are on it."},
                   expect=(201,))["canned_response_id"]
        for title in ("Greeting", "Late order", "Refund")
    ]

    customers = {name: random_number(rng) for name in ("talker", "ender", "erased")}
    for name, number in customers.items():
        text(stack, main, main_creds, support, number, f"Hello, this is the {name}")
    talker = conversation_of(stack, account_id, customers["talker"])
    ender = conversation_of(stack, account_id, customers["ender"])
    conversation_of(stack, account_id, customers["erased"])
    stack.call("POST", f"/conversations/{talker}/notes", {"text": "A note, so that the transcript has two pages"}, expect=(201,))

    cursors = {
        "accounts-cursor": [next_cursor(stack, "/accounts?limit=1")],
        "canned-responses-cursor": [next_cursor(stack, f"/accounts/{account_id}/canned-responses?limit=1")],
        "members-cursor": [next_cursor(stack, f"/accounts/{account_id}/members?limit=1")],
        "conversations-cursor": [
            next_cursor(stack, f"/conversations?account_id={account_id}&limit=1"),
            next_cursor(stack, f"/conversations?account_id={account_id}&status=open&limit=2"),
        ],
        "messages-cursor": [
            next_cursor(stack, f"/conversations/{talker}?limit=1"),
            next_cursor(stack, f"/conversations/{talker}?limit=1&order=desc"),
        ],
        "audit-cursor": [next_cursor(stack, f"/audit?account_id={account_id}&limit=1")],
    }
    return {
        "account_id": account_id,
        "doomed_account_id": doomed["account_id"],
        "support": support,
        "spare": spare,
        "short_code": short_code,
        "customers": customers,
        "talker": talker,
        "ender": ender,
        "canned": canned,
        # The custom formats of tests/contract_fuzz_hooks.py.
        "telesign-customer-id": [main_creds[0]],
        "telesign-api-key": [main_creds[1]],
        "support-number": [support, short_code],
        "member-id": members,
        "number-sinks": sinks,
        **cursors,
    }


def toml_string(value: str) -> str:
    return json.dumps(value)


def config(f: dict, seed: int, max_examples: int) -> str:
    """schemathesis.toml: the seed, the volume, and the parameters drawn from the fixture."""

    def fixed(key, value):
        return f"{toml_string(key)} = {toml_string(value)}"

    def operation(operation_id, *parameters):
        return (
            f"[[operations]]\ninclude-operation-id = {toml_string(operation_id)}\n"
            f"parameters = {{{', '.join(parameters)}}}\n"
        )

    return "\n".join([
        f"seed = {seed}",
        'headers = {Authorization = "Bearer ${SMS_FUZZ_TOKEN}"}',
        "",
        "[generation]",
        f"max-examples = {max_examples}",
        # No example database: a run replays nothing of an earlier one.
        'database = "none"',
        "",
        # schemathesis may also reuse what one request sent or got back as a resource of the
        # others: it took the `customer_id` of a `POST /accounts/validate` (answered 200 with
        # `valid: false`) for an existing TeleSign customer of `POST /accounts` (422). The fixture
        # supplies the resources instead.
        "[phases.examples.extra-data-sources]",
        "responses = false",
        "[phases.coverage.extra-data-sources]",
        "responses = false",
        "[phases.fuzzing.extra-data-sources]",
        "responses = false",
        "",
        # Path parameters (and the account of a query or of `POST /messages`) name what the
        # fixture made, so that every phase reaches past the 404 of an id that names nothing.
        "[parameters]",
        fixed("path.account_id", f["account_id"]),
        fixed("query.account_id", f["account_id"]),
        fixed("path.conversation_id", f["talker"]),
        fixed("path.canned_response_id", f["canned"][0]),
        fixed("path.user_id", "fuzz-agent-1"),
        fixed("path.number", f["support"]),
        "",
        # What a request destroys is one made for it, so that the others still find theirs.
        operation("deleteAccount", fixed("path.account_id", f["doomed_account_id"])),
        operation("removeNumber", fixed("path.number", f["spare"])),
        operation("exportCustomer", fixed("path.number", f["customers"]["talker"])),
        operation("customerHistory", fixed("path.number", f["customers"]["talker"])),
        operation("eraseCustomer", fixed("path.number", f["customers"]["erased"])),
        operation("endConversation", fixed("path.conversation_id", f["ender"])),
        operation("removeMember", fixed("path.user_id", "fuzz-leaver")),
        operation("deleteCannedResponse", fixed("path.canned_response_id", f["canned"][1])),
        operation("outreach", fixed("body.account_id", f["account_id"])),
        "",
    ])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", required=True, help="the stack's API, e.g. http://127.0.0.1:9000")
    p.add_argument("--sim", required=True, help="its TeleSign simulator, e.g. http://127.0.0.1:8787")
    token = p.add_mutually_exclusive_group(required=True)
    token.add_argument("--token", help="an operator's token")
    token.add_argument("--token-file", help="a file holding an operator's token")
    p.add_argument("--seed", type=int, default=20240601, help="schemathesis's seed (default: the fixed one)")
    p.add_argument("--max-examples", type=int, default=25, help="examples per operation and phase")
    a = p.parse_args()
    operator = a.token or pathlib.Path(a.token_file).read_text().strip()

    stack = Stack(a.api, a.sim, operator)
    started = time.monotonic()
    fixture = make_fixture(stack)
    print(f"fixture: account {fixture['account_id']}, conversation {fixture['talker']} "
          f"({time.monotonic() - started:.1f} s)", flush=True)

    with tempfile.TemporaryDirectory(prefix="contract-fuzz-") as work:
        work = pathlib.Path(work)
        (work / "fixture.json").write_text(json.dumps(fixture))
        (work / "schemathesis.toml").write_text(config(fixture, a.seed, a.max_examples))
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            "SMS_FUZZ_FIXTURE": str(work / "fixture.json"),
            "SMS_FUZZ_TOKEN": operator,
        }
        command = [
            str(ST), "--config-file", str(work / "schemathesis.toml"), "run", str(CONTRACT),
            "--url", stack.api, "--phases", "examples,coverage,fuzzing", "--checks", "all",
            # The deployed API is an API Gateway HTTP API: a method that no route has on a path
            # answers API Gateway's own `404 {"message":"Not Found"}`, never 405 with `Allow` (the
            # local gateway answers the same). Nothing the functions or the contract can change;
            # every other check runs.
            "--exclude-checks", "unsupported_method",
        ]
        # Run in the temporary folder: schemathesis's own files (.schemathesis/) stay out of the tree.
        result = subprocess.run(command, cwd=work, env=env)
    print(f"contract fuzz: {'passed' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
