"""After the whole test suite: no API key the simulator ever handed out, and no bearer token (a
JWT: three base64url parts, the first two JSON objects), may appear in the table's items or in any
log of the stack. Exits 1, naming where, if one does."""
import glob
import json
import os
import re
import sys
import urllib.request

import boto3


def main():
    sim = os.environ["SIM_URL"]
    with urllib.request.urlopen(f"{sim}/_sim/customers") as r:
        keys = {c["api_key"] for c in json.load(r)}
    table = boto3.client(
        "dynamodb",
        endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )
    items, dump = 0, []
    for page in table.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"]):
        items += len(page["Items"])
        dump.append(json.dumps(page["Items"]))
    dump = "\n".join(dump)
    logs = {path: open(path, encoding="utf-8", errors="replace").read() for path in glob.glob(f"{sys.argv[1]}/*.log")}
    found = []
    for key in keys:
        if key in dump:
            found.append("the table")
        found.extend(path for path, text in logs.items() if key in text)
    if found:
        print(f"leak scan: an API key was found in {sorted(set(found))}")
        sys.exit(1)
    jwt = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
    tokens = ["the table"] if jwt.search(dump) else []
    tokens.extend(path for path, text in logs.items() if jwt.search(text))
    if tokens:
        print(f"leak scan: a bearer token was found in {sorted(set(tokens))}")
        sys.exit(1)
    lines = sum(text.count("\n") for text in logs.values())
    print(f"leak scan: {len(keys)} API keys, {items} items, {lines} log lines of {len(logs)} logs: none holds a key or a token")


if __name__ == "__main__":
    main()
