#!/usr/bin/env python3
"""The local stack's CloudWatch, as CloudFormation would leave it: every alarm template.yaml names
(`${AWS::StackName}-<name>`) and the operations dashboard, created in moto under the local stack's
name, so that the smoke test (`make smoke`) reads the same things locally as deployed. Metric
math alarms keep their expression's metrics; composites are put as moto takes them.

    python scripts/local_alarms.py STACK_NAME   (AWS_ENDPOINT_URL_CLOUDWATCH: moto)
"""

import json
import os
import re
import sys
import urllib.parse
import urllib.request

import boto3
from cfnlint.decode import decode_str

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def resolve(value, stack, defaults):
    """A `!Sub` text, or a literal, with the stack's name and parameters' defaults; any other
    reference becomes its logical id (moto keeps it as text)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        text = text if isinstance(text, str) else text[0]
        def one(m):
            name = m.group(1)
            if name == "AWS::StackName":
                return stack
            if name == "AWS::Region":
                return os.environ.get("AWS_REGION", "us-east-1")
            return str(defaults.get(name, name.split(".")[0]))
        return re.sub(r"\$\{([^}]+)\}", one, text)
    if isinstance(value, dict) and "Ref" in value:
        return str(defaults.get(value["Ref"], value["Ref"]))
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return value


def main(stack):
    with open(os.path.join(ROOT, "template.yaml"), encoding="utf-8") as f:
        template, problems = decode_str(f.read())
    if problems:
        sys.exit(f"template.yaml does not decode: {problems}")
    defaults = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    endpoint = os.environ["AWS_ENDPOINT_URL_CLOUDWATCH"]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region)
    made = 0
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if "AlarmName" not in props:
            continue
        alarm = resolve(props["AlarmName"], stack, defaults)
        description = props.get("AlarmDescription", name)
        if res["Type"] == "AWS::CloudWatch::CompositeAlarm":
            # moto takes a composite as PutMetricAlarm with an AlarmRule (boto3 would drop it).
            rule = resolve(props["AlarmRule"], stack, defaults)
            form = urllib.parse.urlencode({"Action": "PutMetricAlarm", "Version": "2010-08-01", "AlarmName": alarm,
                                           "AlarmDescription": description, "AlarmRule": rule}).encode()
            # moto routes a request by its signature's service (monitoring: CloudWatch).
            scope = f"Credential=local/20260101/{region}/monitoring/aws4_request, SignedHeaders=host, Signature=0"
            headers = {"Authorization": f"AWS4-HMAC-SHA256 {scope}", "Content-Type": "application/x-www-form-urlencoded"}
            urllib.request.urlopen(urllib.request.Request(endpoint, data=form, headers=headers), timeout=10).read()
            made += 1
            continue
        common = dict(AlarmName=alarm, AlarmDescription=description, EvaluationPeriods=int(props.get("EvaluationPeriods", 1)),
                      ComparisonOperator=props["ComparisonOperator"], TreatMissingData=props.get("TreatMissingData", "missing"))
        threshold = resolve(props.get("Threshold", 1), stack, defaults)
        common["Threshold"] = float(threshold)
        if "Metrics" in props:
            metrics = []
            for m in props["Metrics"]:
                q = {"Id": m["Id"], "ReturnData": bool(m.get("ReturnData", False))}
                if "Expression" in m:
                    q["Expression"] = resolve(m["Expression"], stack, defaults)
                    if "Period" in m:
                        q["Period"] = int(m["Period"])
                if "MetricStat" in m:
                    stat = m["MetricStat"]
                    metric = stat["Metric"]
                    q["MetricStat"] = {"Metric": {"Namespace": resolve(metric["Namespace"], stack, defaults),
                                                  "MetricName": metric["MetricName"],
                                                  "Dimensions": [{"Name": d["Name"], "Value": resolve(d["Value"], stack, defaults)}
                                                                 for d in metric.get("Dimensions", [])]},
                                       "Period": int(stat["Period"]), "Stat": stat["Stat"]}
                metrics.append(q)
            cloudwatch.put_metric_alarm(Metrics=metrics, **common)
        else:
            extra = {"ExtendedStatistic": props["ExtendedStatistic"]} if "ExtendedStatistic" in props else {"Statistic": props.get("Statistic", "Sum")}
            cloudwatch.put_metric_alarm(Namespace=resolve(props["Namespace"], stack, defaults), MetricName=props["MetricName"],
                                        Dimensions=[{"Name": d["Name"], "Value": resolve(d["Value"], stack, defaults)}
                                                    for d in props.get("Dimensions", [])],
                                        Period=int(props.get("Period", 60)), **extra, **common)
        made += 1
    dashboard = template["Resources"]["Dashboard"]["Properties"]
    body = resolve(dashboard["DashboardBody"], stack, defaults)
    json.loads(body)
    cloudwatch.put_dashboard(DashboardName=resolve(dashboard["DashboardName"], stack, defaults), DashboardBody=body)
    print(f"{made} alarms and the dashboard of {stack} in the local CloudWatch")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sms-channel-local")
