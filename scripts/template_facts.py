"""Prints what template.yaml declares, as JSON, for the tests that keep it and the code in step:
the routes (method, path, function binary, whether the authorizer is off), the table, the IAM
actions of each function, and the resources and parameters as declared (log groups, alarms)."""
import json
import sys

from cfnlint.decode import decode_str


def resource_name(resource):
    """The table, one of its indexes, the account secrets or the parking queue, as the request meter
    names them."""
    text = json.dumps(resource)
    if '"Table", "Arn"' in text or text.endswith('"${Table.Arn}"}'):
        return "table"
    if "${Table.Arn}/index/" in text:
        return "index/" + text.split("/index/")[1].split('"')[0]
    if ":secret:${Prefix}*" in text:
        return "secret"
    if text == '{"Ref": "OptOutKeySecret"}':
        return "opt-out-key"
    if '"CallbackQueue", "Arn"' in text or text.endswith('"${CallbackQueue.Arn}"}'):
        return "queue"
    # The worker's queue: jobs, queued by the events function.
    if '"WorkQueue", "Arn"' in text:
        return "queue"
    # The export bucket's objects (an export too large to answer).
    if "${ExportBucket.Arn}/exports/*" in text:
        return "bucket"
    # The sweeper's queue: the accounts' turns.
    if '"SweepQueue", "Arn"' in text:
        return "queue"
    # The events function's own queue: its event source mapping's on-failure destination.
    if '"EventsFailureQueue", "Arn"' in text:
        return "queue"
    if '"Table", "StreamArn"' in text:
        return "stream"
    if '"EventBus", "Arn"' in text:
        return "bus"
    if '"UserPool", "Arn"' in text:
        return "userpool"
    if "/@connections/" in text:
        return "connections"
    return text


def main(path):
    with open(path, encoding="utf-8") as f:
        template, problems = decode_str(f.read())
    if problems:
        sys.exit(f"{path} does not decode: {problems}")
    resources = template["Resources"]
    routes, actions = [], {}
    for res in resources.values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = res["Metadata"]["BuildProperties"]["Binary"]
        for event in res["Properties"].get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            p = event["Properties"]
            auth = p.get("Auth", {}).get("Authorizer")
            routes.append({"method": p["Method"], "path": p["Path"], "function": binary, "public": auth == "NONE"})
        granted = set()
        for policy in res["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                acts = statement["Action"]
                targets = statement["Resource"]
                for act in acts if isinstance(acts, list) else [acts]:
                    for r in targets if isinstance(targets, list) else [targets]:
                        granted.add(f"{act} {resource_name(r)}")
        actions[binary] = sorted(granted)
    table = next(r for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table")["Properties"]
    functions = {
        res["Metadata"]["BuildProperties"]["Binary"]: name
        for name, res in resources.items()
        if res.get("Type") == "AWS::Serverless::Function"
    }
    facts = {
        "routes": routes,
        "actions": actions,
        "table": table,
        # For the operations checks: every resource and parameter as declared, and each binary's
        # logical id.
        "functions": functions,
        "resources": resources,
        "parameters": template.get("Parameters", {}),
        "globals": template.get("Globals", {}),
    }
    print(json.dumps(facts, default=str))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
