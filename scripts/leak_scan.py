"""After the whole test suite, whose stack logs at the most verbose level the template allows in
production (scripts/test.sh: DEBUG): no API key the simulator ever handed out may appear in the
table's items or in any log of the stack, no token (a JWT, a bearer or TeleSign `Authorization`
header) in the table or the channel's logs, no text of a message the suite sent or received and
no customer's phone number in those logs. Exits 1, naming what
and where, if one does."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

import boto3

# A JSON web token (header.payload.signature, the first two base64url JSON objects), or an
# Authorization header's value.
TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+|Bearer [A-Za-z0-9._~+/-]{16,}|TSA [A-Za-z0-9-]+:[A-Za-z0-9+/=]{16,}")
# The logs of the channel's own code (the gateway runs every function; cargo lambda watch runs
# them as Lambda does). The simulator's log is TeleSign's side: it holds what TeleSign sees.
OWN_LOGS = ("local-gateway", "cargo-lambda")
# Texts shorter than this are words a log line may hold for other reasons ("hi", "STOP").
MIN_TEXT = 12


def message_texts(items):
    """The texts of the inbound and outbound messages in the table (not the system notices the
    channel writes itself)."""
    texts = set()
    for item in items:
        if not item.get("sk", {}).get("S", "").startswith("MSG#"):
            continue
        if item.get("direction", {}).get("S") not in ("inbound", "outbound"):
            continue
        text = item.get("text", {}).get("S", "")
        if len(text.strip()) >= MIN_TEXT:
            texts.add(text)
    return texts


def customer_numbers(items):
    """The digits of every customer's number the table holds a conversation with (a path or a
    field may write them with or without the +, URL-encoded or not)."""
    numbers = set()
    for item in items:
        number = item.get("customer_number", {}).get("S", "")
        digits = "".join(c for c in number if c.isdigit())
        if len(digits) >= 8:
            numbers.add(digits)
    return numbers


def fixed_strings_in(path, patterns):
    """Which of `patterns` (fixed strings) occur in the file: grep -F reads it once for all of
    them (its many-pattern search), where a search per pattern reads it once each. A pattern
    that occurs only overlapping another match is not named, but that match is: a file with any
    leak is never found clean."""
    if not patterns:
        return set()
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".patterns") as f:
        # An empty pattern would match every line.
        f.write("\n".join(p for p in patterns if p and "\n" not in p))
        f.flush()
        run = subprocess.run(["grep", "-aoF", "-f", f.name, path], capture_output=True, check=False)
    if run.returncode > 1:
        sys.exit(f"leak scan: grep failed on {path}: {run.stderr.decode(errors='replace')}")
    hits = set(run.stdout.decode("utf-8", errors="replace").splitlines())
    # grep -o prints the longest match at each place: a pattern inside a longer one that matched
    # there is found too.
    return {p for p in patterns if p in hits or any(p in h for h in hits)}


def tokens_in(path):
    """The tokens in the file: TOKEN's pattern is an extended regular expression as grep -E
    reads it, and grep's automaton reads a large log far faster than a search line by line."""
    run = subprocess.run(["grep", "-aoE", TOKEN.pattern, path], capture_output=True, check=False)
    if run.returncode > 1:
        sys.exit(f"leak scan: grep failed on {path}: {run.stderr.decode(errors='replace')}")
    return set(run.stdout.decode("utf-8", errors="replace").splitlines())


def check_patterns():
    """The patterns find what they are for (a scan that cannot match passes for nothing)."""
    jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImxvY2FsIn0.eyJzdWIiOiJ1LTEiLCJyb2xlcyI6WyJhZ2VudCJdfQ.c2lnbmF0dXJl"
    assert TOKEN.search(f'"authorization":"Bearer {jwt}"'), "a bearer JWT"
    assert TOKEN.search(jwt), "a JWT alone"
    assert TOKEN.search("TSA C0FFEE00-0000-4000-8000-000000000001:dGhlIHNpZ25hdHVyZSBvZiBhIGNhbGxiYWNr"), "a TSA header"
    assert not TOKEN.search("the Authorization header is not of the form TSA <customer_id>:<signature>")
    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write(f'{{"authorization":"Bearer {jwt}"}}\n')
        f.flush()
        assert tokens_in(f.name) == {f"Bearer {jwt}"}, "grep -E reads TOKEN as Python does"
    items = [{"sk": {"S": "MSG#1"}, "direction": {"S": "inbound"}, "text": {"S": "a text long enough"}},
             {"sk": {"S": "MSG#2"}, "direction": {"S": "system"}, "text": {"S": "Customer opted out"}}]
    assert message_texts(items) == {"a text long enough"}
    assert customer_numbers([{"customer_number": {"S": "+14255550123"}}, {"sk": {"S": "CONV"}}]) == {"14255550123"}
    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write('{"message":"sent to 14255550123","text":"a text \\"quoted\\" long enough"}\n')
        f.flush()
        quoted = json.dumps('a text "quoted" long enough')[1:-1]
        assert tokens_in(f.name) == set(), "no token"
        assert fixed_strings_in(f.name, {"14255550123": 1, "555": 2, quoted: 3, "absent text": 4}) == {
            "14255550123", "555", quoted}


def main():
    check_patterns()
    sim = os.environ["SIM_URL"]
    with urllib.request.urlopen(f"{sim}/_sim/customers") as r:
        keys = {c["api_key"] for c in json.load(r)}
    table = boto3.client(
        "dynamodb",
        endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )
    items, dump = [], []
    for page in table.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"]):
        items.extend(page["Items"])
        dump.append(json.dumps(page["Items"]))
    dump = "\n".join(dump)
    texts = message_texts(items)
    numbers = customer_numbers(items)
    logs = sorted(glob.glob(f"{sys.argv[1]}/*.log"))
    found = []
    for key in keys:
        if key in dump:
            found.append(("an API key", "the table"))
    for match in TOKEN.finditer(dump):
        found.append((f"a token ({match.group(0)[:12]}...)", "the table"))
    # Every log read once for every pattern at once (grep -F's many-pattern search): a text in a
    # JSON log line is escaped as JSON escapes it, so both spellings are looked for.
    what = {key: "an API key" for key in keys}
    own = {}
    for message in texts:
        for spelling in (message, json.dumps(message)[1:-1]):
            own[spelling] = f"a message text ({message[:20]!r}...)"
    for number in numbers:
        own[number] = f"a customer's number (...{number[-4:]})"
    for path in logs:
        patterns = dict(what)
        if os.path.basename(path).startswith(OWN_LOGS):
            patterns.update(own)
            found.extend((f"a token ({token[:12]}...)", path) for token in tokens_in(path))
        found.extend((patterns[hit], path) for hit in fixed_strings_in(path, patterns))
    if found:
        for what, where in sorted(set(found)):
            print(f"leak scan: {what} in {where}")
        sys.exit(1)
    lines = 0
    for path in logs:
        with open(path, "rb") as f:
            lines += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    own = sum(1 for path in logs if os.path.basename(path).startswith(OWN_LOGS))
    print(
        f"leak scan: {len(keys)} API keys, {len(texts)} message texts, {len(items)} items, "
        f"{len(numbers)} customers' numbers, {lines} log lines of {len(logs)} logs: none holds a key; none of "
        f"the {own} logs of the channel's code holds a token, a message text or a customer's number"
    )


if __name__ == "__main__":
    main()
