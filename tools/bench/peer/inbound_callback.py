"""The Python peer of inbound-callback, for the cold-start comparison of `channel-bench cold`.

The same work as the Rust function's first invocation, written as a Python Lambda function would
be: boto3 clients made at import (init), TeleSign's official SDK (`telesign`) imported, then per callback: read the account item, read its
secret, verify TeleSign's signature, store the message and its reference in one transaction.
A minimal custom-runtime loop polls the Lambda runtime API named by AWS_LAMBDA_RUNTIME_API.
"""

import base64
import json
import os
import time
import urllib.request
import uuid

import boto3
from telesign.messaging import MessagingClient  # noqa: F401  (the outbound side of a Python channel)
from telesign.util import verify_telesign_callback_signature

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")


def verify(authorization, customer_id, api_key, body):
    """`TSA <customer_id>:<signature>`, the signature checked by TeleSign's SDK."""
    scheme, _, credentials = authorization.partition(" ")
    claimed_customer, _, signature = credentials.partition(":")
    if scheme != "TSA" or claimed_customer != customer_id:
        return False
    return verify_telesign_callback_signature(api_key, signature, body.decode("utf-8"))


def handle(event):
    account_id = event["pathParameters"]["account_id"]
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "ACCOUNT"}}, ConsistentRead=True
    ).get("Item")
    if item is None:
        return 404, {"error": {"code": "account_not_found", "message": "no such account"}}
    secret = json.loads(secrets.get_secret_value(SecretId=item["secret_name"]["S"])["SecretString"])
    if not verify(headers.get("authorization", ""), item["customer_id"]["S"], secret["api_key"], body):
        return 401, {"error": {"code": "invalid_signature", "message": "signature does not match"}}
    callback = json.loads(body)
    reference = callback["reference_id"]
    message_id = uuid.uuid4().hex
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {
                        "pk": {"S": f"INREF#{account_id}#{reference}"},
                        "sk": {"S": "INREF"},
                        "expires_at": {"N": str(int(time.time()) + 30 * 86400)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {
                        "pk": {"S": f"CONV#peer-{account_id}"},
                        "sk": {"S": f"MSG#{message_id}"},
                        "direction": {"S": "inbound"},
                        "text": {"S": callback["user_response"]["mo_message"]},
                        "from": {"S": callback["user_response"]["phone_number"]},
                        "reference_id": {"S": reference},
                        "created_at": {"S": now},
                    },
                }
            },
        ]
    )
    return 200, {"status": "received", "message_id": message_id}


def main():
    api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{api}/next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        status, answer = handle(event)
        response = json.dumps({"statusCode": status, "body": json.dumps(answer)}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{api}/{request_id}/response", data=response)).read()


if __name__ == "__main__":
    main()
