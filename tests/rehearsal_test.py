"""The deploy rehearsal's own test: template.yaml passes every rule, and each rule refuses a
template that breaks it (one mutation of the real template per rule), so no rule can pass by
never firing.

    .venv/bin/python -m unittest tests/rehearsal_test.py
"""

import copy
import json
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

import rehearse  # noqa: E402

RELEASED = ROOT / "deploy" / "released.json"


def run(template, parameters=None, released=RELEASED):
    """The rule ids the rehearsal raises for `template` (a dict, the source before translation)."""
    values = parameters or {}
    translated = rehearse.translate(template, values)
    return {rule for rule, *_ in rehearse.lint(translated, values, released)}


class Rehearsal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = rehearse.load(ROOT / "template.yaml")

    def mutated(self):
        return copy.deepcopy(self.template)

    def refuses(self, template, rule, parameters=None, released=RELEASED):
        found = run(template, parameters, released)
        self.assertIn(rule, found, f"{rule} did not fire; the rehearsal raised {sorted(found)}")

    def test_the_template_passes_every_rule(self):
        self.assertEqual(run(self.template), set())

    def test_an_alarm_of_eleven_metrics_is_refused(self):
        t = self.mutated()
        stat = {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Throttles"}, "Period": 300, "Stat": "Sum"}
        metrics = [{"Id": "sum", "Expression": "SUM(METRICS())", "ReturnData": True}]
        metrics += [{"Id": f"m{i}", "ReturnData": False, "MetricStat": stat} for i in range(11)]
        t["Resources"]["TooWide"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Metrics": metrics, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1}}
        self.refuses(t, "E9101")

    def test_a_reservation_by_default_is_refused(self):
        t = self.mutated()
        t["Resources"]["SweeperFunction"]["Properties"]["ReservedConcurrentExecutions"] = 1
        self.refuses(t, "E9102")

    def test_a_reservation_the_operator_asks_for_is_flagged(self):
        name = next(p for p in self.template["Parameters"] if "Reserved" in p)
        self.refuses(self.mutated(), "E9102", parameters={name: "50"})

    def test_a_table_kept_after_a_failed_create_is_refused(self):
        t = self.mutated()
        t["Resources"]["Table"]["DeletionPolicy"] = "Retain"
        self.refuses(t, "E9103")

    def test_a_secret_without_retention_is_refused(self):
        t = self.mutated()
        del t["Resources"]["OptOutKeySecret"]["UpdateReplacePolicy"]
        self.refuses(t, "E9103")

    def test_a_canary_on_lambda_errors_alone_is_refused(self):
        t = self.mutated()
        preference = t["Resources"]["InboundCallbackFunction"]["Properties"]["DeploymentPreference"]
        preference["Alarms"] = [a for a in preference["Alarms"] if "Error" in json.dumps(a)]
        self.refuses(t, "E9104")

    def test_a_queue_hidden_less_than_six_timeouts_is_refused(self):
        t = self.mutated()
        t["Resources"]["CallbackQueue"]["Properties"]["VisibilityTimeout"] = 60
        self.refuses(t, "E9105")

    def test_an_open_route_without_a_throttle_is_refused(self):
        t = self.mutated()
        t["Resources"]["HttpApi"]["Properties"].pop("RouteSettings", None)
        self.refuses(t, "E9106")

    def test_an_environment_over_4_kb_is_refused(self):
        t = self.mutated()
        t["Resources"]["ConsoleFunction"]["Properties"].setdefault("Environment", {}).setdefault("Variables", {})["LONG"] = "x" * 4100
        self.refuses(t, "E9107")

    def test_a_template_over_500_resources_is_refused(self):
        t = self.mutated()
        for i in range(500):
            t["Resources"][f"Topic{i}"] = {"Type": "AWS::SNS::Topic"}
        self.refuses(t, "E9108")

    def test_two_new_indexes_in_one_update_are_refused(self):
        t = self.mutated()
        table = t["Resources"]["Table"]["Properties"]
        for n in ("gsi8", "gsi9"):
            table["AttributeDefinitions"].append({"AttributeName": f"{n}pk", "AttributeType": "S"})
            table["GlobalSecondaryIndexes"].append({"IndexName": n, "KeySchema": [{"AttributeName": f"{n}pk", "KeyType": "HASH"}],
                                                    "Projection": {"ProjectionType": "KEYS_ONLY"}})
        self.refuses(t, "E9109")
        # A first deploy has no release to compare with: any number of indexes.
        self.assertNotIn("E9109", run(t, released=None))

    def test_a_changed_index_key_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            record = json.loads(RELEASED.read_text())
            record["tables"]["Table"]["indexes"]["gsi1"] = [["gsi1pk", "HASH"]]
            json.dump(record, f)
        self.refuses(self.mutated(), "E9109", released=f.name)

    def test_a_third_reader_of_the_stream_is_refused(self):
        t = self.mutated()
        for i in range(2):
            t["Resources"][f"ExtraReader{i}"] = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "FunctionName": {"Ref": "ConsoleFunction"}, "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
                "StartingPosition": "LATEST"}}
        self.refuses(t, "E9110")

    def test_a_function_behind_the_api_with_a_long_timeout_is_refused(self):
        t = self.mutated()
        t["Resources"]["AccountsFunction"]["Properties"]["Timeout"] = 60
        self.refuses(t, "E9111")


if __name__ == "__main__":
    unittest.main()
