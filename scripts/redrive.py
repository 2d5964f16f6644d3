"""Moves the parked callbacks of the dead-letter queue back to the callback queue, where
callback-replay stores them (exactly once: a replay goes through the same idempotent path as a
live callback, so a callback stored meanwhile comes out a duplicate).

usage: .venv/bin/python scripts/redrive.py QUEUE_URL [DLQ_URL]

DLQ_URL defaults to QUEUE_URL with "-dlq" appended (the local stack's naming). The endpoint and
credentials are the SDK's own (AWS_ENDPOINT_URL_SQS for the local stack). Deployed, SQS's own
redrive does the same: aws sqs start-message-move-task --source-arn <CallbackDeadLetterQueueArn>
(the stack's output)."""
import os
import sys

import boto3


def main(queue_url, dlq_url):
    sqs = boto3.client("sqs", region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    moved = 0
    while True:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        if not messages:
            break
        for m in messages:
            sqs.send_message(QueueUrl=queue_url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    print(f"moved {moved} parked callback(s) from {dlq_url} to {queue_url}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else sys.argv[1] + "-dlq")
