"""The deploy rehearsal's rules: what AWS enforces at deploy time (or first thing after) that the
linters and the local emulators do not. cfn-lint runs them (`--append-rules deploy/rules`) on the
template as `sam deploy` hands it to CloudFormation: translated by samtranslator, with the
parameters' values (deploy/rehearse.py). Each rule cites the AWS page its limit comes from;
docs/aws-limits.md lists them all, with the other limits the code relies on.

Intrinsics are read the way CloudFormation resolves them where the rule needs a value: a `Ref`
to a parameter is the parameter's value, a `Ref`/`Fn::GetAtt` to a resource is that resource
(its logical id), `Fn::If` is either branch (both must pass), `AWS::NoValue` is absent.
"""

import json
import os

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# ── Limits, each with its source (docs/aws-limits.md holds the same table for people) ─────────

#: CloudWatch: "Alarms based on metric math expressions can reference a maximum of 10 metrics.
#: This is a hard limit that cannot be increased."
ALARM_METRICS = 10
ALARM_METRICS_SOURCE = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html"

#: Lambda: reservations must leave 100 executions unreserved, and a new account may have a
#: concurrency quota of 10 ("New AWS accounts have reduced concurrency and memory quotas"), so
#: the template must deploy with no reservation at all by default.
NEW_ACCOUNT_CONCURRENCY = 10
UNRESERVED_MINIMUM = 100
CONCURRENCY_SOURCE = "https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html"

#: CloudFormation deletes a resource without DeletionPolicy on a stack deletion, and the old one
#: on a replacement without UpdateReplacePolicy; RetainExceptOnCreate also deletes what a failed
#: first create made (no debris), and retains it on every other operation.
RETENTION_SOURCE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
STATEFUL = {
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::SecretsManager::Secret",
    "AWS::Cognito::UserPool",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
}
#: What a stack deletion must do to state (RetainExceptOnCreate: a failed first create leaves no
#: debris, e.g. a deletion-protected table per attempt) and what a replacement must do (Retain).
DELETION_KEEPS = {"RetainExceptOnCreate", "Snapshot"}
REPLACEMENT_KEEPS = {"Retain", "Snapshot"}

#: CodeDeploy rolls a Lambda deployment back when one of the deployment group's alarms fires.
CANARY_SOURCE = "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html"

#: Lambda's SQS event source: "set the source queue's visibility timeout to at least six times
#: the configuration timeout on your function".
SQS_VISIBILITY_FACTOR = 6
SQS_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
SQS_DEFAULT_VISIBILITY = 30
LAMBDA_DEFAULT_TIMEOUT = 3

#: API Gateway throttles a route at its stage's RouteSettings; without one, an open route takes
#: the account's whole 10,000 requests per second.
THROTTLE_SOURCE = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html"

#: Lambda: "The total size of all environment variables doesn't exceed 4 KB."
ENVIRONMENT_BYTES = 4096
ENVIRONMENT_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
#: The longest a resolved intrinsic can be, for the size estimate: an ARN or an attribute (those
#: of the services used stay under 256), a resource's name or id (CloudFormation's generated names
#: stay under 128), and the pseudo parameters (a stack name is at most 128 characters).
INTRINSIC_BYTES = 256
NAME_BYTES = 128
PSEUDO_BYTES = {"AWS::Region": 25, "AWS::URLSuffix": 20, "AWS::AccountId": 12, "AWS::Partition": 12,
                "AWS::StackName": 128, "AWS::StackId": 256, "AWS::NoValue": 0}

#: CloudFormation's quotas per template.
CFN_QUOTAS = {"Resources": 500, "Parameters": 200, "Outputs": 200, "Mappings": 200}
CFN_TEMPLATE_BYTES = 1_000_000
CFN_SOURCE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"

#: DynamoDB: "You can create or delete only one global secondary index per UpdateTable
#: operation"; CloudFormation fails an update that does both or more.
GSI_SOURCE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html"

#: DynamoDB Streams: "No more than two processes at most should be reading from the same
#: streams shard at the same time."
STREAM_READERS = 2
STREAM_SOURCE = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html"

#: API Gateway HTTP API: "Maximum integration timeout | 30 seconds | No".
API_TIMEOUT_SECONDS = 30
API_TIMEOUT_SOURCE = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html"


# ── Reading the translated template ──────────────────────────────────────────────────────────


def parameters():
    """The values the rehearsal deploys with (deploy/rehearse.py sets them; defaults otherwise)."""
    raw = os.environ.get("REHEARSAL_PARAMETERS")
    return json.loads(raw) if raw else {}


def resources(cfn, kind=None):
    """(logical id, resource) of every resource, of one type when `kind` is given."""
    for name, res in (cfn.template.get("Resources") or {}).items():
        if isinstance(res, dict) and (kind is None or res.get("Type") == kind):
            yield name, res


def props(res):
    return res.get("Properties") or {}


def param_value(cfn, name):
    """A parameter's value: the rehearsal's, else its default."""
    given = parameters()
    if name in given:
        return given[name]
    return ((cfn.template.get("Parameters") or {}).get(name) or {}).get("Default")


def choices(cfn, value):
    """Every value an intrinsic can take: `Fn::If` gives both branches, a parameter its value,
    `AWS::NoValue` nothing; anything else is itself."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return choices(cfn, arg[1]) + choices(cfn, arg[2])
        if key == "Ref" and arg == "AWS::NoValue":
            return []
        if key == "Ref" and arg in (cfn.template.get("Parameters") or {}):
            return [param_value(cfn, arg)]
    return [value]


def number(cfn, value, default=None):
    """The numbers an intrinsic can take (a value that is none is left out)."""
    out = []
    for v in choices(cfn, value if value is not None else default):
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            continue
    return out


def target(value):
    """The logical id a `Ref` or `Fn::GetAtt` names (or None)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            if isinstance(arg, list) and arg:
                return arg[0]
            if isinstance(arg, str):
                return arg.split(".")[0]
    return None


def function_timeout(cfn, name):
    res = (cfn.template.get("Resources") or {}).get(name) or {}
    found = number(cfn, props(res).get("Timeout"), LAMBDA_DEFAULT_TIMEOUT)
    return max(found) if found else LAMBDA_DEFAULT_TIMEOUT


def function_of(cfn, value):
    """The function (logical id) an event source or permission names, through its alias or
    version."""
    name = target(value)
    all_resources = cfn.template.get("Resources") or {}
    res = all_resources.get(name) or {}
    if res.get("Type") in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        return target(props(res).get("FunctionName"))
    return name if res.get("Type") == "AWS::Lambda::Function" else None


def variable_estimate(cfn, name, local):
    """The longest a `${name}` of a `Fn::Sub` can be: its own value, a pseudo parameter, a
    parameter's value, a resource's attribute or name."""
    if name in local:
        return size_estimate(cfn, local[name])
    if name in PSEUDO_BYTES:
        return PSEUDO_BYTES[name]
    if name in (cfn.template.get("Parameters") or {}):
        return size_estimate(cfn, {"Ref": name})
    return INTRINSIC_BYTES if "." in name else NAME_BYTES


def sub_estimate(cfn, value):
    """The longest a `Fn::Sub` string can be once resolved."""
    text, local = (value, {}) if isinstance(value, str) else (value[0], value[1] if len(value) > 1 else {})
    literal, i, variables = 0, 0, 0
    while i < len(text):
        j = text.find("${", i)
        if j < 0:
            literal += len(text) - i
            break
        literal += j - i
        end = text.find("}", j)
        if end < 0:
            literal += len(text) - j
            break
        variables += variable_estimate(cfn, text[j + 2:end], local)
        i = end + 1
    return literal + variables


def size_estimate(cfn, value):
    """The longest a value can be once CloudFormation resolves it."""
    if isinstance(value, (str, int, float, bool)):
        return len(str(value).encode())
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::If":
            return max((size_estimate(cfn, v) for v in choices(cfn, value)), default=0)
        if key == "Ref" and arg in (cfn.template.get("Parameters") or {}):
            param = cfn.template["Parameters"][arg]
            given = param_value(cfn, arg)
            longest = param.get("MaxLength")
            return int(longest) if longest else len(str(given or ""))
        if key == "Ref":
            return PSEUDO_BYTES.get(arg, NAME_BYTES)
        if key == "Fn::Sub":
            return sub_estimate(cfn, arg)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = arg[1] if isinstance(arg[1], list) else [arg[1]]
            return sum(size_estimate(cfn, p) for p in parts) + len(arg[0]) * max(len(parts) - 1, 0)
        return INTRINSIC_BYTES
    return INTRINSIC_BYTES


# ── The rules ────────────────────────────────────────────────────────────────────────────────


class AlarmMetrics(CloudFormationLintRule):
    """An alarm reads at most 10 metrics."""

    id = "E9101"
    shortdesc = "An alarm reads at most 10 metrics"
    description = "CloudWatch refuses a metric math alarm over more than 10 metrics (PutMetricAlarm); CloudFormation then rolls the whole stack back."
    source_url = ALARM_METRICS_SOURCE
    tags = ["rehearsal", "cloudwatch"]

    def match(self, cfn):
        matches = []
        for name, res in resources(cfn, "AWS::CloudWatch::Alarm"):
            metrics = props(res).get("Metrics") or []
            stats = [m for m in metrics if isinstance(m, dict) and "MetricStat" in m]
            if len(stats) > ALARM_METRICS:
                matches.append(RuleMatch(["Resources", name, "Properties", "Metrics"],
                    f"{name} reads {len(stats)} metrics; CloudWatch allows at most {ALARM_METRICS} in one alarm: split it, under a composite alarm"))
        return matches


class ReservedConcurrency(CloudFormationLintRule):
    """No concurrency reserved unless the operator asks: a new account cannot grant any."""

    id = "E9102"
    shortdesc = "The default deploy reserves no concurrency"
    description = (f"Lambda keeps {UNRESERVED_MINIMUM} executions unreserved; a new account may have "
                   f"{NEW_ACCOUNT_CONCURRENCY} in all, so any reservation fails its first deploy.")
    source_url = CONCURRENCY_SOURCE
    tags = ["rehearsal", "lambda"]

    def match(self, cfn):
        matches = []
        reserved = 0.0
        for name, res in resources(cfn, "AWS::Lambda::Function"):
            value = props(res).get("ReservedConcurrentExecutions")
            if value is None:
                continue
            found = number(cfn, value)
            if found and max(found) > 0:
                reserved += max(found)
                matches.append(RuleMatch(["Resources", name, "Properties", "ReservedConcurrentExecutions"],
                    f"{name} reserves {max(found):g} executions with these parameters; an account of "
                    f"{NEW_ACCOUNT_CONCURRENCY} can reserve none (Lambda keeps {UNRESERVED_MINIMUM} unreserved): make it optional and off by default"))
        return matches


class StatefulRetention(CloudFormationLintRule):
    """Every stateful resource outlives its stack and its replacement."""

    id = "E9103"
    shortdesc = "Stateful resources are retained"
    description = "A table, secret, user pool, bucket or key without a retaining DeletionPolicy and UpdateReplacePolicy is destroyed with the stack or by a replacement."
    source_url = RETENTION_SOURCE
    tags = ["rehearsal", "cloudformation"]

    def match(self, cfn):
        matches = []
        for name, res in resources(cfn):
            if res.get("Type") not in STATEFUL:
                continue
            deletion = res.get("DeletionPolicy", "Delete")
            replace = res.get("UpdateReplacePolicy", "Delete")
            if deletion not in DELETION_KEEPS:
                why = ("a failed first create leaves it behind, and the next try another one" if deletion == "Retain"
                       else "a stack deletion destroys it")
                matches.append(RuleMatch(["Resources", name],
                    f"{name} ({res['Type']}) has DeletionPolicy {deletion}: {why} (use RetainExceptOnCreate)"))
            if replace not in REPLACEMENT_KEEPS:
                matches.append(RuleMatch(["Resources", name],
                    f"{name} ({res['Type']}) has UpdateReplacePolicy {replace}: a replacement destroys the old one (use Retain)"))
        return matches


def alarm_dimensions(res):
    """Every (namespace, dimensions) an alarm reads."""
    p = props(res)
    if p.get("MetricName"):
        yield p.get("Namespace"), p.get("Dimensions") or []
    for m in p.get("Metrics") or []:
        stat = (m or {}).get("MetricStat") or {}
        metric = stat.get("Metric") or {}
        if metric:
            yield metric.get("Namespace"), metric.get("Dimensions") or []


class CanaryWatchesAnswers(CloudFormationLintRule):
    """A canary rolls back on the new version's own answers and errors."""

    id = "E9104"
    shortdesc = "A canary watches the new version's answers"
    description = ("Every gradual deployment of a function has an alarm on the new version's errors "
                   "(AWS/Lambda, ExecutedVersion) and one on its own outcome metrics (a Version "
                   "dimension), each naming the version being deployed.")
    source_url = CANARY_SOURCE
    tags = ["rehearsal", "codedeploy"]

    def match(self, cfn):
        matches = []
        all_resources = cfn.template.get("Resources") or {}
        for name, res in resources(cfn, "AWS::Lambda::Alias"):
            policy = ((res.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate")) or {}
            if not policy:
                continue
            version = target(props(res).get("FunctionVersion"))
            group = all_resources.get(target(policy.get("DeploymentGroupName"))) or {}
            alarms = (props(group).get("AlarmConfiguration") or {}).get("Alarms") or []
            errors = answers = False
            for a in alarms:
                alarm = all_resources.get(target((a or {}).get("Name"))) or {}
                for namespace, dims in alarm_dimensions(alarm):
                    names = {d.get("Name"): target(d.get("Value")) for d in dims if isinstance(d, dict)}
                    if namespace == "AWS/Lambda" and names.get("ExecutedVersion") == version:
                        errors = True
                    if namespace != "AWS/Lambda" and names.get("Version") == version:
                        answers = True
            if not errors:
                matches.append(RuleMatch(["Resources", name],
                    f"the canary of {name} has no alarm on the new version's errors (AWS/Lambda Errors with ExecutedVersion of {version})"))
            if not answers:
                matches.append(RuleMatch(["Resources", name],
                    f"the canary of {name} watches no answer of the new version (an outcome metric with a Version dimension of {version}): a version that refuses every request would take all the traffic"))
        return matches


class SqsVisibility(CloudFormationLintRule):
    """A queue's visibility timeout is at least six times its consumer's timeout."""

    id = "E9105"
    shortdesc = "SQS visibility timeout >= 6 x the consumer's timeout"
    description = "Lambda asks for a visibility timeout of at least six times the function's timeout; less redelivers messages still being processed."
    source_url = SQS_SOURCE
    tags = ["rehearsal", "sqs", "lambda"]

    def match(self, cfn):
        matches = []
        all_resources = cfn.template.get("Resources") or {}
        for name, res in resources(cfn, "AWS::Lambda::EventSourceMapping"):
            queue = all_resources.get(target(props(res).get("EventSourceArn"))) or {}
            if queue.get("Type") != "AWS::SQS::Queue":
                continue
            function = function_of(cfn, props(res).get("FunctionName"))
            if function is None:
                continue
            timeout = function_timeout(cfn, function)
            window = max(number(cfn, props(res).get("MaximumBatchingWindowInSeconds"), 0) or [0])
            visible = min(number(cfn, props(queue).get("VisibilityTimeout"), SQS_DEFAULT_VISIBILITY) or [SQS_DEFAULT_VISIBILITY])
            needed = SQS_VISIBILITY_FACTOR * timeout + window
            if visible < needed:
                matches.append(RuleMatch(["Resources", name],
                    f"{target(props(res).get('EventSourceArn'))} hides a message {visible:g} s, but {function} may run {timeout:g} s: "
                    f"make it at least {needed:g} s ({SQS_VISIBILITY_FACTOR} x the timeout + the batching window)"))
        return matches


def open_routes(body):
    """The route keys of an OpenAPI body (SAM's HttpApi) that no authorizer guards."""
    body = body or {}
    default_security = body.get("security")
    for path, methods in (body.get("paths") or {}).items():
        for method, op in (methods or {}).items():
            if not isinstance(op, dict):
                continue
            security = op.get("security", default_security) or []
            # SAM writes an open route as the pseudo-scheme NONE.
            schemes = {name for s in security if isinstance(s, dict) for name in s}
            if not schemes or schemes == {"NONE"}:
                key = "$default" if method == "x-amazon-apigateway-any-method" and path == "$default" else f"{method.upper()} {path}"
                yield key


class ThrottledOpenRoutes(CloudFormationLintRule):
    """Every route open to the internet has a throttle of its own."""

    id = "E9106"
    shortdesc = "Unauthenticated routes are throttled"
    description = ("An HTTP API route without an authorizer, and a WebSocket API's $connect (its "
                   "authorizer is a function every attempt invokes), has a rate and burst limit "
                   "in its stage: else a flood takes the account's throttle and concurrency.")
    source_url = THROTTLE_SOURCE
    tags = ["rehearsal", "apigateway"]

    def match(self, cfn):
        matches = []
        stages = {}
        for name, res in resources(cfn, "AWS::ApiGatewayV2::Stage"):
            stages.setdefault(target(props(res).get("ApiId")), []).append((name, props(res)))
        for name, res in resources(cfn, "AWS::ApiGatewayV2::Api"):
            p = props(res)
            if p.get("ProtocolType") == "WEBSOCKET":
                routes = ["$connect"]
            else:
                routes = list(open_routes(p.get("Body")))
            for route in routes:
                if not any(throttled(s, route) for _, s in stages.get(name, [])):
                    matches.append(RuleMatch(["Resources", name],
                        f"{name}'s open route {route} has no throttle: set ThrottlingRateLimit and ThrottlingBurstLimit in its stage's RouteSettings"))
        return matches


def throttled(stage, route):
    settings = (stage.get("RouteSettings") or {}).get(route) or stage.get("DefaultRouteSettings") or {}
    return "ThrottlingRateLimit" in settings and "ThrottlingBurstLimit" in settings


class EnvironmentSize(CloudFormationLintRule):
    """A function's environment fits Lambda's 4 KB."""

    id = "E9107"
    shortdesc = "Lambda environment <= 4 KB"
    description = "Lambda refuses a function whose environment variables (names and values) pass 4 KB; each intrinsic is counted at its longest."
    source_url = ENVIRONMENT_SOURCE
    tags = ["rehearsal", "lambda"]

    def match(self, cfn):
        matches = []
        for name, res in resources(cfn, "AWS::Lambda::Function"):
            variables = ((props(res).get("Environment") or {}).get("Variables")) or {}
            total = sum(len(k.encode()) + size_estimate(cfn, v) for k, v in variables.items())
            if total > ENVIRONMENT_BYTES:
                matches.append(RuleMatch(["Resources", name, "Properties", "Environment"],
                    f"{name}'s environment may take {total} bytes once resolved; Lambda allows {ENVIRONMENT_BYTES}"))
        return matches


class TemplateQuotas(CloudFormationLintRule):
    """The translated template fits CloudFormation's quotas."""

    id = "E9108"
    shortdesc = "CloudFormation template quotas"
    description = "At most 500 resources, 200 parameters, 200 outputs and 200 mappings, and 1 MB of template (from S3), after SAM's translation."
    source_url = CFN_SOURCE
    tags = ["rehearsal", "cloudformation"]

    def match(self, cfn):
        matches = []
        for section, limit in CFN_QUOTAS.items():
            count = len(cfn.template.get(section) or {})
            if count > limit:
                matches.append(RuleMatch([section], f"{count} {section.lower()} after translation; CloudFormation allows {limit}"))
        size = len(json.dumps(cfn.template, default=str).encode())
        if size > CFN_TEMPLATE_BYTES:
            matches.append(RuleMatch(["Resources"], f"the translated template is {size} bytes; CloudFormation takes at most {CFN_TEMPLATE_BYTES} from S3"))
        return matches


def indexes(table):
    """A table's global secondary indexes: name → key schema."""
    out = {}
    for gsi in props(table).get("GlobalSecondaryIndexes") or []:
        keys = tuple((k.get("AttributeName"), k.get("KeyType")) for k in gsi.get("KeySchema") or [])
        out[gsi.get("IndexName")] = keys
    return out


class OneIndexPerUpdate(CloudFormationLintRule):
    """An update creates or deletes at most one GSI per table, against the last release."""

    id = "E9109"
    shortdesc = "One GSI change per update"
    description = ("DynamoDB creates or deletes one global secondary index per UpdateTable, and "
                   "CloudFormation fails an update that does more (a changed key schema is a "
                   "deletion and a creation). Compared with the release record, deploy/released.json.")
    source_url = GSI_SOURCE
    tags = ["rehearsal", "dynamodb"]

    def match(self, cfn):
        path = os.environ.get("REHEARSAL_RELEASED")
        if not path:
            return []
        with open(path, encoding="utf-8") as f:
            released = json.load(f).get("tables", {})
        matches = []
        for name, res in resources(cfn, "AWS::DynamoDB::Table"):
            before = {k: tuple(map(tuple, v)) for k, v in (released.get(name) or {}).get("indexes", {}).items()}
            if name not in released:
                continue
            now = indexes(res)
            created = [i for i in now if i not in before]
            deleted = [i for i in before if i not in now]
            changed = [i for i in now if i in before and now[i] != before[i]]
            operations = len(created) + len(deleted) + 2 * len(changed)
            if operations > 1:
                matches.append(RuleMatch(["Resources", name, "Properties", "GlobalSecondaryIndexes"],
                    f"{name}: this update would create {created}, delete {deleted} and change {changed} against the last release; "
                    "DynamoDB takes one index creation or deletion per update: release them one at a time"))
        return matches


class StreamReaders(CloudFormationLintRule):
    """At most two readers per DynamoDB stream."""

    id = "E9110"
    shortdesc = "At most two readers of a table's stream"
    description = "DynamoDB Streams throttles more than two processes reading one shard at a time: at most two event source mappings per stream."
    source_url = STREAM_SOURCE
    tags = ["rehearsal", "dynamodb"]

    def match(self, cfn):
        readers = {}
        for name, res in resources(cfn, "AWS::Lambda::EventSourceMapping"):
            source = props(res).get("EventSourceArn")
            if isinstance(source, dict) and "Fn::GetAtt" in source and str(source["Fn::GetAtt"]).find("StreamArn") >= 0:
                readers.setdefault(target(source), []).append(name)
        return [RuleMatch(["Resources", names[0]], f"{len(names)} readers of {table}'s stream ({', '.join(names)}); DynamoDB Streams allows {STREAM_READERS}")
                for table, names in readers.items() if len(names) > STREAM_READERS]


class ApiTimeout(CloudFormationLintRule):
    """A function behind the HTTP API answers within API Gateway's 30 s."""

    id = "E9111"
    shortdesc = "Functions behind the HTTP API time out within 30 s"
    description = "API Gateway gives an integration at most 30 s (not adjustable); a longer function timeout only hides work the client never sees answered."
    source_url = API_TIMEOUT_SOURCE
    tags = ["rehearsal", "apigateway", "lambda"]

    def match(self, cfn):
        matches = []
        behind = set()
        for _, res in resources(cfn, "AWS::Lambda::Permission"):
            if props(res).get("Principal") == "apigateway.amazonaws.com":
                f = function_of(cfn, props(res).get("FunctionName"))
                if f:
                    behind.add(f)
        for name in sorted(behind):
            timeout = function_timeout(cfn, name)
            if timeout > API_TIMEOUT_SECONDS:
                matches.append(RuleMatch(["Resources", name, "Properties", "Timeout"],
                    f"{name} is behind API Gateway with a {timeout:g} s timeout; the API answers 503 after {API_TIMEOUT_SECONDS} s"))
        return matches
