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
import sys
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


def check_patterns():
    """The patterns find what they are for (a scan that cannot match passes for nothing)."""
    jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImxvY2FsIn0.eyJzdWIiOiJ1LTEiLCJyb2xlcyI6WyJhZ2VudCJdfQ.c2lnbmF0dXJl"
    assert TOKEN.search(f'"authorization":"Bearer {jwt}"'), "a bearer JWT"
    assert TOKEN.search(jwt), "a JWT alone"
    assert TOKEN.search("TSA C0FFEE00-0000-4000-8000-000000000001:dGhlIHNpZ25hdHVyZSBvZiBhIGNhbGxiYWNr"), "a TSA header"
    assert not TOKEN.search("the Authorization header is not of the form TSA <customer_id>:<signature>")
    items = [{"sk": {"S": "MSG#1"}, "direction": {"S": "inbound"}, "text": {"S": "a text long enough"}},
             {"sk": {"S": "MSG#2"}, "direction": {"S": "system"}, "text": {"S": "Customer opted out"}}]
    assert message_texts(items) == {"a text long enough"}
    assert customer_numbers([{"customer_number": {"S": "+14255550123"}}, {"sk": {"S": "CONV"}}]) == {"14255550123"}


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
    logs = {path: open(path, encoding="utf-8", errors="replace").read() for path in glob.glob(f"{sys.argv[1]}/*.log")}
    found = []
    for key in keys:
        if key in dump:
            found.append(("an API key", "the table"))
        found.extend(("an API key", path) for path, text in logs.items() if key in text)
    for match in TOKEN.finditer(dump):
        found.append((f"a token ({match.group(0)[:12]}...)", "the table"))
    for path, text in logs.items():
        if not os.path.basename(path).startswith(OWN_LOGS):
            continue
        for match in TOKEN.finditer(text):
            found.append((f"a token ({match.group(0)[:12]}...)", path))
        for message in texts:
            # A text in a JSON log line is escaped as JSON escapes it.
            if message in text or json.dumps(message)[1:-1] in text:
                found.append((f"a message text ({message[:20]!r}...)", path))
        for number in numbers:
            if number in text:
                found.append((f"a customer's number (...{number[-4:]})", path))
    if found:
        for what, where in sorted(set(found)):
            print(f"leak scan: {what} in {where}")
        sys.exit(1)
    lines = sum(text.count("\n") for text in logs.values())
    own = sum(1 for path in logs if os.path.basename(path).startswith(OWN_LOGS))
    print(
        f"leak scan: {len(keys)} API keys, {len(texts)} message texts, {len(items)} items, "
        f"{len(numbers)} customers' numbers, {lines} log lines of {len(logs)} logs: none holds a key; none of "
        f"the {own} logs of the channel's code holds a token, a message text or a customer's number"
    )


if __name__ == "__main__":
    main()
