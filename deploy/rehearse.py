#!/usr/bin/env python3
"""The deploy rehearsal: template.yaml translated as `sam deploy` hands it to CloudFormation
(samtranslator, with the parameters' values), then held to what AWS enforces and the linters do
not (deploy/rules/aws_limits.py: alarm metrics, reservations, retention, the canary, queues,
throttles, environment size, template quotas, one index per update, stream readers, API
timeouts). Prints each refusal with the AWS page it comes from; exits 1 when there is any.

    .venv/bin/python deploy/rehearse.py [--template template.yaml] [--parameter Name=Value ...]
        [--released deploy/released.json] [--account-concurrency 10]

`--released` is the release record the index rule compares with: the table indexes of the last
release (give another one, or `--released ''` for a first deploy).
"""

import argparse
import copy
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "rules"

# What a deploy is rehearsed in: any region and account id (ARNs are only text here).
REGION = "us-east-1"
ACCOUNT = "123456789012"


def packaged(template):
    """The template as `sam package` leaves it: each function's code uploaded to S3."""
    template = copy.deepcopy(template)
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    if "CodeUri" in globals_:
        globals_["CodeUri"] = "s3://rehearsal-artifacts/code.zip"
    for name, res in (template.get("Resources") or {}).items():
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = f"s3://rehearsal-artifacts/{name}.zip"
    return template


def translate(template, parameter_values):
    """The template as CloudFormation receives it from `sam deploy`."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        """The template names no SAM policy template: nothing to load."""

        def load(self):
            return {}

    values = dict(parameter_values)
    values.setdefault("AWS::Region", REGION)
    values.setdefault("AWS::AccountId", ACCOUNT)
    values.setdefault("AWS::Partition", "aws")
    values.setdefault("AWS::StackName", "rehearsal")
    return transform(packaged(template), values, NoManagedPolicies())


def load(path):
    from cfnlint.decode import decode_str

    template, errors = decode_str(Path(path).read_text(encoding="utf-8"))
    if errors:
        raise SystemExit(f"{path} could not be read: {errors}")
    return template


def parameter_values(template, overrides):
    """The parameters as a deploy gives them: samconfig's overrides, then the command line's."""
    values = {}
    for text in overrides:
        name, _, value = text.partition("=")
        values[name] = value.strip('"')
    known = template.get("Parameters") or {}
    unknown = [n for n in values if n not in known]
    if unknown:
        raise SystemExit(f"no such parameter: {', '.join(unknown)}")
    return values


def lint(translated, parameters, released):
    """The rehearsal's rules over the translated template: [(rule id, message, path, source)]."""
    from cfnlint.api import lint as cfn_lint
    from cfnlint.rules import RulesCollection

    os.environ["REHEARSAL_PARAMETERS"] = json.dumps(parameters)
    if released:
        os.environ["REHEARSAL_RELEASED"] = str(released)
    else:
        os.environ.pop("REHEARSAL_RELEASED", None)
    rules = RulesCollection(include_rules=["I"], include_experimental=True)
    rules.create_from_directory(str(RULES))
    found = cfn_lint(json.dumps(translated), rules=rules, regions=[REGION])
    return [(m.rule.id, m.message, "/".join(map(str, m.path or [])), m.rule.source_url)
            for m in found if m.rule.id.startswith("E91")]


def rehearse(template_path, overrides=(), released=None):
    template = load(template_path)
    values = parameter_values(template, overrides)
    translated = translate(template, values)
    return lint(translated, values, released)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--parameter", action="append", default=[], help="Name=Value, as sam deploy --parameter-overrides")
    parser.add_argument("--released", default=str(ROOT / "deploy" / "released.json"))
    args = parser.parse_args()
    refusals = rehearse(args.template, args.parameter, args.released or None)
    for rule, message, path, source in refusals:
        print(f"{rule} {message}\n      at {path}\n      see {source}")
    if refusals:
        print(f"the deploy rehearsal found {len(refusals)} thing(s) AWS would refuse or regret", file=sys.stderr)
        return 1
    print(f"deploy rehearsal: {args.template} passes every rule of {RULES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
