#!/usr/bin/env python3
"""The sample events of events/ with the ids of a running local stack.

The events name a sample account and conversation that exist in no stack. This makes a conversation
for the given account (the simulator texts its support number as a customer), then writes each
event to --out with the sample ids replaced by the account's and the conversation's, so that
`cargo lambda invoke --data-file <out>/reply.json outbound-send` finds what it names. Prints the
two ids as JSON. Standard library only.
"""

import argparse
import json
import os
import pathlib
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The ids the committed events use.
SAMPLE_ACCOUNT = "8fbda7795ee743d29bffdab01af4c448"
SAMPLE_CONVERSATION = "c61d565d4ab646c88f5871ae52528f89"
# The customer of the sample events (callbacks, outreach).
SAMPLE_CUSTOMER = "14255550123"


TOKEN = os.environ.get("SMS_TOKEN", "")


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if TOKEN:
        headers["authorization"] = f"Bearer {TOKEN}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.load(answer)


def conversation_of(api, account, customer):
    for _ in range(100):
        listed = call("GET", f"{api}/conversations?account_id={account}&limit=100")
        for c in listed.get("conversations", []):
            if c.get("customer_number") == customer:
                return c["conversation_id"]
        time.sleep(0.1)
    raise SystemExit(f"no conversation of {customer} appeared in account {account}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", required=True, help="the stack's API, e.g. http://127.0.0.1:9000")
    p.add_argument("--sim", required=True, help="its TeleSign simulator, e.g. http://127.0.0.1:8787")
    p.add_argument("--account", required=True, help="an account of the stack")
    p.add_argument("--customer-id", required=True, help="the account's TeleSign customer id")
    p.add_argument("--support", required=True, help="one of the account's support numbers")
    p.add_argument("--out", required=True, help="the folder to write the events to")
    a = p.parse_args()

    answer = call("POST", f"{a.sim}/_sim/inbound", {
        "callback_url": f"{a.api}/telesign/{a.account}/callback", "customer_id": a.customer_id,
        "from": SAMPLE_CUSTOMER, "to": a.support, "text": "Hello, my order is late",
    })
    if answer.get("status") != 200:
        raise SystemExit(f"the channel refused the customer's text: {answer}")
    conversation = conversation_of(a.api, a.account, SAMPLE_CUSTOMER)

    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for event in sorted((ROOT / "events").glob("*.json")):
        text = event.read_text().replace(SAMPLE_ACCOUNT, a.account).replace(SAMPLE_CONVERSATION, conversation)
        (out / event.name).write_text(text)
    print(json.dumps({"account_id": a.account, "conversation_id": conversation, "events": str(out)}))


if __name__ == "__main__":
    main()
