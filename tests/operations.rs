//! Operating the channel: the metric lines (CloudWatch embedded metric format) that scenarios
//! leave in the stack's log, and the template's side of it: every log group with its retention,
//! no TRACE level, access logs, and alarms that watch what the code emits.

use std::collections::BTreeSet;
use std::time::Duration;

use channel_tests::{random_key, random_number, reference_id, stack, template_facts, Account, Stack};
use serde_json::{json, Value};
use shared::metrics::{CallbackResult, Metric, SendResult};
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;
use strum::IntoEnumIterator;

/// The EMF documents the stack's gateway wrote so far that name `account` (as a dimension or a
/// property).
fn metric_lines(account: &Account) -> Vec<Value> {
    let dir = std::env::var("STACK_STATE_DIR").expect("STACK_STATE_DIR: run by scripts/test.sh");
    let log = std::fs::read_to_string(format!("{dir}/local-gateway.log")).expect("the gateway's log");
    log.lines()
        .filter(|l| l.starts_with('{') && l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|d| d["AccountId"] == account.id.as_str())
        .collect()
}

/// The one line of `metric` whose dimensions include `dims`, or a failure listing what is there.
fn line_of(lines: &[Value], metric: &str, dims: &[(&str, &str)]) -> Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|d| !d[metric].is_null() && dims.iter().all(|(k, v)| d[*k] == *v))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {metric} {dims:?} line; the account's lines: {lines:#?}"
    );
    found[0].clone()
}

/// A callback body signed with `key`, as TeleSign posts it.
fn signed(account: &Account, key: &str, body: Value) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let body = body.to_string().into_bytes();
    let auth = callback_authorization(&account.customer.id, &ApiKey::parse(key).expect("key"), &body);
    (body, vec![("authorization", auth)])
}

async fn callback(s: &Stack, account: &Account, key: &str, body: Value) -> u16 {
    let (body, headers) = signed(account, key, body);
    s.post_raw(&format!("/telesign/{}/callback", account.id), body, &headers)
        .await
        .0
}

#[tokio::test]
async fn each_callback_and_send_leaves_its_metric_line() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    // A stored SMS, a callback signed with another key, one to a number the account does not have
    let text = format!("metrics scenario {}", reference_id());
    assert_eq!(s.text(&account, &customer, &text).await.0, 200);
    let inbound = |to: &str| {
        json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": customer, "sender_id": to, "mo_message": "hello"}})
    };
    assert_eq!(
        callback(&s, &account, &random_key(), inbound(&account.numbers[0])).await,
        401
    );
    assert_eq!(
        callback(&s, &account, &account.customer.key, inbound(&random_number())).await,
        404
    );
    // A send TeleSign refuses with 11013
    let id = s.conversations(&account, "open").await[0]["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    s.fault(&account.customer, json!({"kind": "http", "http_status": 400, "code": 11013, "description": "Invalid value for parameter sender_id."}))
        .await;
    let (status, _) = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "refused"}))
        .await;
    assert_eq!(status, 502);

    let lines = metric_lines(&account);
    let stored = line_of(&lines, "Callbacks", &[("Outcome", "stored")]);
    assert_eq!(stored["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SmsChannel");
    let refused = line_of(&lines, "Callbacks", &[("Outcome", "refused")]);
    assert_eq!(refused["Reason"], "mismatch");
    // The account a property (for the Contributor Insights rules), never a dimension.
    assert_eq!(refused["AccountId"], account.id.as_str());
    // The stack runs as a published version (AWS_LAMBDA_FUNCTION_VERSION): its canary counts it.
    assert_eq!(refused["Version"], "1");
    assert_eq!(
        refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Outcome"], ["Outcome", "Reason"], ["Outcome", "Version"], ["Version"]])
    );
    assert!(!refused["request_id"].as_str().unwrap_or("").is_empty(), "{refused}");
    line_of(&lines, "Callbacks", &[("Outcome", "unknown_number")]);
    let rejected = line_of(&lines, "Sends", &[("Outcome", "rejected")]);
    assert_eq!(rejected["TelesignCode"], "11013");
    for l in &lines {
        let l = l.to_string();
        assert!(
            !l.contains(&customer) && !l.contains(&text),
            "no number nor text in a metric: {l}"
        );
    }
}

#[tokio::test]
async fn a_late_delivery_report_leaves_its_lag() {
    // Given a reply whose send TeleSign never answered (it never carried it out)
    let s = stack();
    let account = s.account(1).await;
    assert_eq!(s.text(&account, &random_number(), "hi").await.0, 200);
    let id = s.conversations(&account, "open").await[0]["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    s.fault(&account.customer, json!({"kind": "hang", "delay_ms": 100}))
        .await;
    let (status, m) = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "late"}))
        .await;
    assert_eq!((status, m["status"].as_str()), (202, Some("unknown")), "{m}");
    // When its delivery report comes 1.5 s later
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let external = format!("{id}-{}", m["message_id"].as_str().expect("message_id"));
    let report = json!({"reference_id": reference_id(), "external_id": external, "status": {"code": 200, "description": "Delivered"}});
    assert_eq!(callback(&s, &account, &account.customer.key, report).await, 200);
    // Then the lag is on record, at least the wait, with its final status
    let lines = metric_lines(&account);
    let lag = line_of(&lines, "DeliveryReportLag", &[("Status", "delivered")]);
    assert!(lag["DeliveryReportLag"].as_f64().unwrap_or(0.0) >= 1500.0, "{lag}");
    assert_eq!(
        lag["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Milliseconds"
    );
    line_of(&lines, "Sends", &[("Outcome", "outcome_unknown")]);
}

/// The logical ids of the template's resources of `kind`.
fn of_type<'a>(facts: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    let resources = facts["resources"].as_object().expect("resources");
    resources.iter().filter(|(_, r)| r["Type"] == kind).collect()
}

#[test]
fn every_log_group_keeps_events_for_the_retention_and_every_function_writes_to_one() {
    let facts = template_facts();
    let groups: BTreeSet<&String> = of_type(&facts, "AWS::Logs::LogGroup")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for (name, group) in of_type(&facts, "AWS::Logs::LogGroup") {
        assert_eq!(
            group["Properties"]["RetentionInDays"],
            json!({"Ref": "LogRetentionDays"}),
            "{name}"
        );
    }
    assert_eq!(facts["parameters"]["LogRetentionDays"]["Default"], 30);
    for (name, function) in of_type(&facts, "AWS::Serverless::Function") {
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"].as_str();
        assert!(
            group.is_some_and(|g| groups.contains(&g.to_owned())),
            "{name} writes to a group of the stack"
        );
    }
    let api = &facts["resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(api["DestinationArn"], json!({"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}));
    let format = api["Format"].as_str().expect("an access log format");
    for field in [
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.authorizer.claims.sub",
    ] {
        assert!(format.contains(field), "the access log has {field}");
    }
    assert!(
        !format.contains("$context.path"),
        "a path can hold a phone number: the route key only"
    );
}

#[test]
fn the_console_sign_in_repeats_the_app_clients_settings_so_a_change_of_them_runs_it_again() {
    let facts = template_facts();
    let client = &facts["resources"]["UserPoolClient"]["Properties"];
    let settings = facts["resources"]["ConsoleSignIn"]["Properties"]["ClientSettings"]
        .as_object()
        .expect("ClientSettings");
    for (name, value) in settings {
        assert_eq!(&client[name], value, "{name}: the client's and ConsoleSignIn's differ");
    }
    for name in client.as_object().expect("the client").keys() {
        let urls_or_ids = [
            "CallbackURLs",
            "LogoutURLs",
            "UserPoolId",
            "GenerateSecret",
            "AllowedOAuthFlowsUserPoolClient",
            "TokenValidityUnits",
        ];
        assert!(
            settings.contains_key(name) || urls_or_ids.contains(&name.as_str()),
            "{name} is a setting of the client that ConsoleSignIn does not repeat"
        );
    }
}

#[test]
fn no_deployed_level_logs_raw_events_or_drops_the_metric_lines() {
    let facts = template_facts();
    let levels = facts["parameters"]["LogLevel"]["AllowedValues"]
        .as_array()
        .expect("levels");
    // TRACE writes raw events; WARN and ERROR would drop the metric lines (INFO to Lambda).
    assert_eq!(levels, &vec![json!("DEBUG"), json!("INFO")]);
    let logging = &facts["globals"]["Function"]["LoggingConfig"];
    assert_eq!(logging["ApplicationLogLevel"], json!({"Ref": "LogLevel"}));
    assert_eq!(logging["LogFormat"], "JSON");
}

/// The metric (name, outcome) a Contributor Insights rule of the template reads from the lines: the
/// metric its filters ask to be present, the outcomes they ask for.
fn insight_rule_watches(logical_id: &str) -> Vec<(String, Option<String>)> {
    let facts = template_facts();
    let rule = &facts["resources"][logical_id]["Properties"]["RuleBody"]["Fn::Sub"][0];
    let body: Value = serde_json::from_str(rule.as_str().unwrap_or("{}")).expect("a rule's body is JSON");
    let filters = body["Contribution"]["Filters"].as_array().cloned().unwrap_or_default();
    let metric = filters
        .iter()
        .find(|f| f["IsPresent"] == true)
        .and_then(|f| f["Match"].as_str())
        .map(|m| m.trim_start_matches("$.").to_owned())
        .unwrap_or_default();
    let outcomes: Vec<Option<String>> = filters
        .iter()
        .filter(|f| f["Match"] == "$.Outcome")
        .flat_map(|f| f["In"].as_array().cloned().unwrap_or_default())
        .map(|o| o.as_str().map(str::to_owned))
        .collect();
    if outcomes.is_empty() {
        return vec![(metric, None)];
    }
    outcomes.into_iter().map(|o| (metric.clone(), o)).collect()
}

/// Every metric (name, outcome) the template's alarms read from the functions' namespace.
fn watched(alarm: &Value, found: &mut Vec<(String, Option<String>)>) {
    let p = &alarm["Properties"];
    let mut stats: Vec<&Value> = vec![p];
    if let Some(metrics) = p["Metrics"].as_array() {
        stats.extend(metrics.iter().map(|m| &m["MetricStat"]["Metric"]));
        for m in metrics {
            let query = m["Expression"].as_str().or(m["Expression"]["Fn::Sub"].as_str());
            if let Some(rule) = query.and_then(|q| q.strip_prefix("INSIGHT_RULE_METRIC('${")) {
                found.extend(insight_rule_watches(rule.split('.').next().unwrap_or_default()));
            }
            if let Some(q) = query.filter(|q| q.starts_with("SELECT")) {
                let name = q.split(['(', ')']).nth(1).unwrap_or_default();
                let outcome = q.split("Outcome = '").nth(1).and_then(|r| r.split('\'').next());
                found.push((name.to_owned(), outcome.map(str::to_owned)));
            }
        }
    }
    for m in stats {
        if m["Namespace"] == json!({"Fn::Sub": "SmsChannel/${AWS::StackName}"}) {
            let outcome = m["Dimensions"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["Name"] == "Outcome"))
                .and_then(|d| d["Value"].as_str());
            found.push((
                m["MetricName"].as_str().unwrap_or("").to_owned(),
                outcome.map(str::to_owned),
            ));
        }
    }
}

#[test]
fn the_alarms_watch_what_the_code_emits_and_notify_the_topic() {
    let facts = template_facts();
    let env = &facts["globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        env["METRICS_NAMESPACE"],
        json!({"Fn::Sub": "SmsChannel/${AWS::StackName}"})
    );
    let names: Vec<&str> = Metric::iter().map(Metric::name).collect();
    let callbacks: Vec<&str> = CallbackResult::iter().map(<&str>::from).collect();
    let sends: Vec<&str> = SendResult::iter().map(<&str>::from).collect();
    let mut found = Vec::new();
    let alarms = of_type(&facts, "AWS::CloudWatch::Alarm");
    let (parts, canary) = (composite_parts(&facts), canary_alarms(&facts));
    for (name, alarm) in &alarms {
        // An alarm notifies the topic, or is part of a composite alarm that does, or rolls a
        // canary deployment back (CodeDeploy watches it; nobody needs to be woken).
        if !parts.contains(*name) && !canary.contains(*name) {
            assert_eq!(
                alarm["Properties"]["AlarmActions"],
                json!([{"Ref": "AlarmTopic"}]),
                "{name}"
            );
        }
        watched(alarm, &mut found);
    }
    for (name, composite) in of_type(&facts, "AWS::CloudWatch::CompositeAlarm") {
        assert_eq!(
            composite["Properties"]["AlarmActions"],
            json!([{"Ref": "AlarmTopic"}]),
            "{name}"
        );
    }
    for (metric, outcome) in &found {
        assert!(
            names.contains(&metric.as_str()),
            "{metric} is a metric of shared::metrics"
        );
        let outcomes = if metric == "Sends" { &sends } else { &callbacks };
        if let Some(o) = outcome {
            assert!(outcomes.contains(&o.as_str()), "{metric} has the outcome {o}");
        }
    }
    for wanted in [
        "refused",
        "parked",
        "failed",
        "unknown_account",
        "unknown_number",
        "rejected",
    ] {
        assert!(
            found.iter().any(|(_, o)| o.as_deref() == Some(wanted)),
            "an alarm on {wanted}: {found:?}"
        );
    }
    assert!(
        found.iter().any(|(m, _)| m == "DeliveryReportLag"),
        "an alarm on the lag"
    );
    let dead_letters = alarms.iter().any(|(_, a)| {
        a["Properties"]["Namespace"] == "AWS/SQS"
            && a["Properties"]["Dimensions"]
                .to_string()
                .contains("CallbackDeadLetterQueue")
    });
    assert!(dead_letters, "an alarm on the dead-letter queue of parked callbacks");
}

/// The alarms a composite alarm's rule names (`ALARM("${Name}")`).
fn composite_parts(facts: &Value) -> BTreeSet<String> {
    let mut parts = BTreeSet::new();
    for (_, composite) in of_type(facts, "AWS::CloudWatch::CompositeAlarm") {
        let rule = composite["Properties"]["AlarmRule"].to_string();
        for piece in rule.split("${").skip(1) {
            parts.insert(piece.split('}').next().unwrap_or_default().to_owned());
        }
    }
    parts
}

/// The alarms a function's canary deployment rolls back on.
fn canary_alarms(facts: &Value) -> BTreeSet<String> {
    of_type(facts, "AWS::Serverless::Function")
        .into_iter()
        .flat_map(|(_, f)| {
            f["Properties"]["DeploymentPreference"]["Alarms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| a["Ref"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_function_is_covered_by_a_throttles_alarm_and_on_the_dashboard() {
    let facts = template_facts();
    let dashboard = facts["resources"]["Dashboard"]["Properties"]["DashboardBody"].to_string();
    let parts = composite_parts(&facts);
    // The alarms that read a function's Throttles, and notify (themselves or through a composite).
    let throttles: Vec<String> = of_type(&facts, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(name, a)| parts.contains(*name) || a["Properties"]["AlarmActions"] == json!([{"Ref": "AlarmTopic"}]))
        .map(|(_, a)| a["Properties"]["Metrics"].to_string())
        .filter(|m| m.contains("\"Throttles\""))
        .collect();
    // A custom resource's function runs at deploy time: CloudFormation reports its failure.
    let deploy_time: BTreeSet<String> = facts["resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter_map(|r| {
            r["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    for (name, _) in of_type(&facts, "AWS::Serverless::Function") {
        if deploy_time.contains(name.as_str()) {
            continue;
        }
        assert!(
            throttles.iter().any(|t| t.contains(&format!("{{\"Ref\":\"{name}\"}}"))),
            "{name}'s throttles are alarmed"
        );
        assert!(
            dashboard.contains(&format!("${{{name}}}")),
            "{name} is on the dashboard"
        );
    }
}

#[test]
fn the_events_function_is_alarmed_when_it_falls_behind_the_stream_or_gives_up_on_a_batch() {
    let facts = template_facts();
    let alarms = of_type(&facts, "AWS::CloudWatch::Alarm");
    let on = |namespace: &str, metric: &str, dimension: &str| {
        alarms.iter().any(|(_, a)| {
            let p = &a["Properties"];
            p["Namespace"] == namespace && p["MetricName"] == metric && p["Dimensions"].to_string().contains(dimension)
        })
    };
    assert!(
        on("AWS/Lambda", "IteratorAge", "EventsFunction"),
        "the events function's iterator age"
    );
    assert!(
        on("AWS/SQS", "ApproximateNumberOfMessagesVisible", "EventsFailureQueue"),
        "a batch the stream gave up on"
    );
    let mapping = &facts["resources"]["EventsStream"]["Properties"];
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert_eq!(mapping["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["EventsFailureQueue", "Arn"]})
    );
    assert!(mapping["MaximumRetryAttempts"].as_i64().is_some_and(|n| n > 0));
    let filter = mapping["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("a filter");
    // The local stack's mapping filters as the template's does.
    assert_eq!(
        filter,
        shared::store::stream::EVENT_FILTER,
        "only conversations and messages"
    );
    let pattern: Value = serde_json::from_str(filter).expect("a JSON pattern");
    assert_eq!(pattern["eventName"], json!(["INSERT", "MODIFY"]));
    for (event, pk, sk, passes) in [
        ("INSERT", "CONV#1", "CONV", true),
        ("MODIFY", "CONV#1", "MSG#2", true),
        ("REMOVE", "CONV#1", "MSG#2", false),
        ("INSERT", "CONV#1", "RAW#2", false),
        ("INSERT", "THREAD#1", "LIVE", false),
    ] {
        assert_eq!(
            shared::store::stream::passes_filter(event, pk, sk),
            passes,
            "{event} {pk} {sk}"
        );
    }
}
