//! Automated messages and auto-close against the running stack: consent in the customer's order,
//! old callbacks ignored, the greeting once under 20 racing copies, business hours in a zone
//! across a daylight-saving change, help, stop and start, the sweep, and the settings' errors.

use std::time::Duration;

use channel_tests::{
    code, inbound_body, messages, own_gateway, random_number, reference_id, signed, stack, Account, Stack,
};
use serde_json::{json, Value};

/// Posts one inbound SMS signed for the account, sent by the customer at `submitted`.
async fn text_at(s: &Stack, account: &Account, customer: &str, text: &str, submitted: &str) -> (u16, Value) {
    text_ref(s, account, customer, text, submitted, &reference_id()).await
}

async fn text_ref(
    s: &Stack,
    account: &Account,
    customer: &str,
    text: &str,
    submitted: &str,
    reference: &str,
) -> (u16, Value) {
    let mut body = inbound_body(account, customer, text, reference);
    body["submit_timestamp"] = json!(submitted);
    let (bytes, auth) = signed(account, &body);
    s.post_raw(
        &format!("/telesign/{}/callback", account.id),
        bytes,
        &[("authorization", auth)],
    )
    .await
}

fn ago(seconds: i64) -> String {
    shared::ids::Timestamp::now().plus_seconds(-seconds).to_string()
}

async fn settings(s: &Stack, account: &Account, body: Value) -> Value {
    let (status, answer) = s
        .call(
            "PATCH",
            &format!("/accounts/{}/numbers/{}", account.id, account.numbers[0]),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The one conversation of a customer with the account.
async fn conversation_of(s: &Stack, account: &Account, customer: &str) -> Value {
    for _ in 0..50 {
        let (_, list) = s
            .get(&format!(
                "/conversations?account_id={}&status=open,active,waiting&limit=100",
                account.id
            ))
            .await;
        let found = list["conversations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["customer_number"] == customer)
            .cloned();
        if let Some(c) = found {
            return s.conversation(c["conversation_id"].as_str().expect("id")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{customer} has no live conversation");
}

fn kinds(conversation: &Value) -> Vec<String> {
    messages(conversation)
        .iter()
        .filter(|m| m["automated"] == true)
        .map(|m| m["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// What TeleSign was asked to send to one customer, once there are `n` such messages (the
/// worker sends automated messages a moment after the callback is answered, through the stream
/// and the work queue: on a loaded two-core machine, with the two-minute outage test beside it,
/// tens of seconds; a minute at most).
async fn sent_to(s: &Stack, account: &Account, customer: &str, n: usize) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..600 {
        found = s
            .sim_messages(&account.customer)
            .await
            .iter()
            .filter(|m| m["phone_number"] == customer)
            .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        if found.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    found
}

#[tokio::test]
async fn a_start_whose_retry_lands_after_a_later_stop_leaves_the_customer_opted_out() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    // The customer texted START, then STOP a minute later; the START's callback is retried
    // after the STOP's was stored.
    let (status, answer) = text_at(&s, &account, &customer, "STOP", &ago(60)).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("stored")), "{answer}");
    let (status, answer) = text_at(&s, &account, &customer, "START", &ago(120)).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("stored")), "{answer}");
    let c = conversation_of(&s, &account, &customer).await;
    assert_eq!(c["opted_out"], true, "{c}");
    assert_eq!(kinds(&c), ["stop"], "only the stop confirmation");
    let sent = sent_to(&s, &account, &customer, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let id = c["conversation_id"].as_str().expect("id");
    let reply = s
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"text": "still there?"}),
        )
        .await;
    assert_eq!(code(&reply), (422, Some("recipient_opted_out")));
    assert_eq!(
        sent_to(&s, &account, &customer, 1).await.len(),
        1,
        "nothing more was sent"
    );
}

#[tokio::test]
async fn a_callback_older_than_the_deduplication_window_is_ignored() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let (status, answer) = text_at(&s, &account, &customer, "START", &ago(31 * 24 * 3600)).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("ignored")), "{answer}");
    let (_, list) = s.get(&format!("/conversations?account_id={}", account.id)).await;
    assert_eq!(list["conversations"], json!([]), "nothing stored");
}

#[tokio::test]
async fn twenty_copies_of_a_first_message_greet_once_and_later_messages_never() {
    let s = stack();
    let account = s.account(1).await;
    settings(
        &s,
        &account,
        json!({"messages": {"greeting": "Hello! An agent will answer shortly."}}),
    )
    .await;
    let customer = random_number();
    let reference = reference_id();
    let now = ago(0);
    let copies = (0..20).map(|_| text_ref(&s, &account, &customer, "hi, my order?", &now, &reference));
    let answers = futures::future::join_all(copies).await;
    let stored = answers.iter().filter(|(_, a)| a["result"] == "stored").count();
    assert!(answers.iter().all(|(st, _)| *st == 200), "{answers:?}");
    assert_eq!(stored, 1, "{answers:?}");
    s.text(&account, &customer, "anyone there?").await;
    let c = conversation_of(&s, &account, &customer).await;
    assert_eq!(kinds(&c), ["greeting"], "{c}");
    // The worker sends it a moment after the callback was answered.
    let c = s
        .eventually(c["conversation_id"].as_str().expect("id"), "the greeting sent", |c| {
            messages(c)
                .iter()
                .any(|m| m["kind"] == "greeting" && m["telesign_reference_id"].is_string())
        })
        .await;
    let greeting = messages(&c)
        .into_iter()
        .find(|m| m["kind"] == "greeting")
        .expect("greeting");
    assert_eq!(greeting["direction"], "outbound");
    assert!(
        greeting["telesign_reference_id"].is_string(),
        "sent through TeleSign: {greeting}"
    );
    assert_eq!(
        sent_to(&s, &account, &customer, 1).await,
        ["Hello! An agent will answer shortly."]
    );
    // Delivery-tracked: the simulator's reports settle it.
    let id = c["conversation_id"].as_str().expect("id");
    s.eventually(id, "the greeting's delivery report", |c| {
        messages(c)
            .iter()
            .any(|m| m["kind"] == "greeting" && m["status"] == "delivered")
    })
    .await;
}

/// A zone with a daylight-saving change between 29 days and 4 hours ago (inside the
/// deduplication window, so a message sent on each side of it is taken), and the change.
fn recent_change() -> Option<(&'static str, jiff::Timestamp)> {
    let now = jiff::Timestamp::now();
    let zones = [
        "America/New_York",
        "Europe/Warsaw",
        "Australia/Sydney",
        "America/Santiago",
        "Pacific/Auckland",
        "America/Havana",
        "Africa/Cairo",
        "America/Nuuk",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Africa/Casablanca",
        "Asia/Jerusalem",
        "America/Asuncion",
        "Pacific/Easter",
    ];
    zones.into_iter().find_map(|name| {
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        let change = tz.preceding(now).next()?.timestamp();
        let age = now.as_second() - change.as_second();
        (4 * 3600..29 * 86_400).contains(&age).then_some((name, change))
    })
}

/// One interval of an hour around the local time of `at` in `zone`: `(day, ["HH:00", "HH+1:00"])`.
fn hour_around(zone: &str, at: jiff::Timestamp) -> (String, [String; 2]) {
    let local = jiff::tz::TimeZone::get(zone).expect("zone").to_datetime(at);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][local.weekday().to_monday_zero_offset() as usize];
    let h = local.hour();
    (day.to_owned(), [format!("{h:02}:00"), format!("{:02}:00", h + 1)])
}

#[tokio::test]
async fn away_follows_business_hours_in_the_numbers_zone_on_each_side_of_a_daylight_saving_change() {
    let s = stack();
    let account = s.account(1).await;
    // Times on each side of a recent change (or, when no zone changed lately, in Warsaw now).
    let (zone, before, after) = match recent_change() {
        Some((zone, change)) => (
            zone,
            change - jiff::Span::new().minutes(150),
            change + jiff::Span::new().minutes(150),
        ),
        None => {
            let now = jiff::Timestamp::now();
            (
                "Europe/Warsaw",
                now - jiff::Span::new().hours(6),
                now - jiff::Span::new().hours(3),
            )
        }
    };
    println!("FIGURES away: zone {zone}, messages at {before} and {after}");
    // Open one hour around each time, local; with the other side's offset each would be outside.
    let mut hours = serde_json::Map::new();
    for at in [before, after] {
        let (day, interval) = hour_around(zone, at);
        let list = hours.entry(day).or_insert_with(|| json!([]));
        list.as_array_mut().expect("list").push(json!(interval));
    }
    for list in hours.values_mut() {
        list.as_array_mut()
            .expect("list")
            .sort_by_key(|i| i[0].as_str().unwrap_or_default().to_owned());
    }
    settings(
        &s,
        &account,
        json!({"timezone": zone, "business_hours": hours,
        "messages": {"away": "We are closed now; we answer in business hours."}}),
    )
    .await;
    // Inside on each side: no away message.
    let (early, late, outside) = (random_number(), random_number(), random_number());
    let ts = |t: jiff::Timestamp| t.to_string();
    text_at(&s, &account, &early, "before the change", &ts(before)).await;
    text_at(&s, &account, &late, "after the change", &ts(after)).await;
    // Two hours after the second: outside, one away message; a second message that night, none.
    let night = after + jiff::Span::new().minutes(120);
    let night = if night > jiff::Timestamp::now() {
        jiff::Timestamp::now()
    } else {
        night
    };
    text_at(&s, &account, &outside, "are you open?", &ts(night)).await;
    text_at(&s, &account, &outside, "hello?", &ts(night)).await;
    assert_eq!(
        kinds(&conversation_of(&s, &account, &early).await),
        Vec::<String>::new(),
        "inside before the change"
    );
    assert_eq!(
        kinds(&conversation_of(&s, &account, &late).await),
        Vec::<String>::new(),
        "inside after the change"
    );
    assert_eq!(
        kinds(&conversation_of(&s, &account, &outside).await),
        ["away"],
        "once per closed period"
    );
}

#[tokio::test]
async fn help_gets_its_reply_stop_its_confirmation_then_every_send_is_refused_and_start_its_own() {
    let s = stack();
    let account = s.account(1).await;
    settings(&s, &account, json!({"language": "pl-PL"})).await;
    let customer = random_number();
    s.text(&account, &customer, "HELP").await;
    // The help reply goes out before the STOP (a STOP first would stop it: nothing but the stop
    // confirmation goes to an opted-out customer).
    sent_to(&s, &account, &customer, 1).await;
    s.text(&account, &customer, "STOP").await;
    let c = conversation_of(&s, &account, &customer).await;
    assert_eq!(kinds(&c), ["help", "stop"], "{c}");
    let sent = sent_to(&s, &account, &customer, 2).await;
    assert!(
        sent[0].starts_with("Test line:") && sent[1].contains("START"),
        "Polish defaults naming the account: {sent:?}"
    );
    let id = c["conversation_id"].as_str().expect("id").to_owned();
    let reply = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "one more?"}))
        .await;
    assert_eq!(code(&reply), (422, Some("recipient_opted_out")));
    let outreach = json!({"account_id": account.id, "from": account.numbers[0], "to": customer, "text": "offer"});
    assert_eq!(
        code(&s.post("/messages", outreach).await),
        (422, Some("recipient_opted_out"))
    );
    s.text(&account, &customer, "HELP").await;
    assert_eq!(
        sent_to(&s, &account, &customer, 2).await.len(),
        2,
        "nothing after the confirmation"
    );
    s.text(&account, &customer, "START").await;
    let c = conversation_of(&s, &account, &customer).await;
    assert_eq!(kinds(&c), ["help", "stop", "start"]);
    assert_eq!(c["opted_out"], false);
}

#[tokio::test]
async fn an_idle_waiting_conversation_is_auto_closed_and_one_that_got_a_message_meanwhile_is_not() {
    let s = stack();
    let account = s.account(1).await;
    settings(
        &s,
        &account,
        json!({"auto_close": {"waiting_after_seconds": 3, "open_after_seconds": 8},
        "messages": {"closing": "We close this chat; text us any time."}}),
    )
    .await;
    let (idle, busy) = (random_number(), random_number());
    s.text(&account, &idle, "thanks, that's all").await;
    let c = conversation_of(&s, &account, &idle).await;
    let idle_id = c["conversation_id"].as_str().expect("id").to_owned();
    assert_eq!(
        s.post(&format!("/conversations/{idle_id}/close"), json!({})).await.0,
        200
    );
    s.text(&account, &busy, "first").await;
    let busy_id = conversation_of(&s, &account, &busy).await["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The busy customer keeps writing every 2 s (its timeout is 8 s) from its first message on,
    // however long the idle one takes to be ended, and six times at least.
    let ended = std::sync::atomic::AtomicBool::new(false);
    let keep_writing = async {
        let mut i = 0;
        while i < 6 || !ended.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            s.text(&account, &busy, &format!("still here {i}")).await;
            i += 1;
        }
    };
    // Due 3 s after its close, ended by a sweep turn within a few runs (every 5 s), however
    // loaded the machine.
    let wait_for_idle = async {
        let mut closed = s.conversation(&idle_id).await;
        for _ in 0..300 {
            if closed["status"] == "closed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            closed = s.conversation(&idle_id).await;
        }
        ended.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(closed["status"], "closed", "the idle conversation is ended: {closed}");
        closed
    };
    let (closed, ()) = tokio::join!(wait_for_idle, keep_writing);
    let notice = messages(&closed)
        .into_iter()
        .find(|m| m["direction"] == "system")
        .expect("a system message says why");
    assert!(
        notice["text"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting for 3 seconds"),
        "{notice}"
    );
    assert_eq!(kinds(&closed), ["closing"]);
    assert_eq!(
        sent_to(&s, &account, &idle, 1).await,
        ["We close this chat; text us any time."]
    );
    assert_eq!(
        s.conversation(&busy_id).await["status"],
        "open",
        "it kept getting messages"
    );
    let (_, audit) = s.get(&format!("/audit?account_id={}", account.id)).await;
    assert!(audit.to_string().contains("conversation.auto_closed"), "{audit}");
    // The next message after the end opens a new conversation.
    s.text(&account, &idle, "one more thing").await;
    assert_ne!(
        conversation_of(&s, &account, &idle).await["conversation_id"],
        idle_id.as_str()
    );
}

#[tokio::test]
async fn settings_are_validated_with_errors_that_say_what_is_wrong() {
    let s = stack();
    let account = s.account(1).await;
    let path = format!("/accounts/{}/numbers/{}", account.id, account.numbers[0]);
    let cases = [
        (
            json!({"timezone": "Mars/Olympus_Mons"}),
            "invalid_timezone",
            "Mars/Olympus_Mons",
        ),
        (
            json!({"business_hours": {"mon": [["17:00", "09:00"]]}}),
            "invalid_business_hours",
            "ends before",
        ),
        (
            json!({"business_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}),
            "invalid_business_hours",
            "overlap",
        ),
        (
            json!({"messages": {"greeting": "x".repeat(1601)}}),
            "invalid_automated_message",
            "1601",
        ),
        (json!({"language": "xx-YY"}), "invalid_language", "xx-YY"),
        (
            json!({"auto_close": {"open_after_seconds": 0}}),
            "invalid_auto_close",
            "open_after_seconds",
        ),
        (json!({"colour": "blue"}), "invalid_json", "colour"),
    ];
    for (body, expected, mentions) in cases {
        let (status, answer) = s.call("PATCH", &path, Some(body.clone()), &[]).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(expected)),
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(mentions),
            "{answer}"
        );
    }
    // Nothing changed; a valid change answers every setting, and routing never stopped.
    let ok = settings(
        &s,
        &account,
        json!({"timezone": "Europe/Warsaw", "messages": {"greeting": "Hi"}}),
    )
    .await;
    assert_eq!(ok["timezone"], "Europe/Warsaw");
    assert_eq!(ok["messages"]["greeting"], "Hi");
    assert!(
        ok["messages"]["help"]
            .as_str()
            .unwrap_or_default()
            .contains("Test line"),
        "{ok}"
    );
    assert_eq!(ok["messages"]["away"], Value::Null);
    assert_eq!(
        ok["auto_close"],
        json!({"open_after_seconds": null, "active_after_seconds": null, "waiting_after_seconds": null})
    );
    assert_eq!(s.text(&account, &random_number(), "routing still works").await.0, 200);
    let missing = s
        .call(
            "PATCH",
            &format!("/accounts/{}/numbers/{}", account.id, random_number()),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(code(&missing), (404, Some("number_not_found")));
}

/// Request figures, from the test's own gateway's meters: what automation adds to an inbound SMS
/// (nothing when no automated message is due), and what a sweep costs for N due and M not-due
/// conversations.
#[tokio::test]
async fn figures_of_automation_requests() {
    use shared::service::ports::AccountStore;
    let s = stack();
    let (g, gateway) = own_gateway().await;
    let account = s.account_on(&g, "Figures").await;
    let number = account.numbers[0].clone();
    let inbound = gateway.meter("inbound-callback").expect("meter");
    let person = random_number();
    s.text(&account, &person, "warm up").await;
    let cost = |what: &str| {
        let c = inbound.snapshot();
        inbound.reset();
        println!(
            "FIGURES inbound SMS, {what}: DynamoDB {}, Secrets Manager {}",
            c.requests_to("dynamodb"),
            c.requests_to("secretsmanager")
        );
        c.requests_to("dynamodb")
    };
    cost("warm-up");
    s.text(&account, &person, "nothing due").await;
    let plain = cost("existing conversation, nothing due");
    assert_eq!(plain, 2, "automation adds no request when nothing is due");
    let (status, _) = g
        .call(
            "PATCH",
            &format!("/accounts/{}/numbers/{number}", account.id),
            Some(json!({"messages": {"greeting": "Hi"},
            "auto_close": {"open_after_seconds": 3600}})),
            &[],
        )
        .await;
    assert_eq!(status, 200);
    s.text(&account, &random_number(), "greeted").await;
    let greeted = cost("new conversation with a greeting due (the worker sends it)");
    assert_eq!(
        greeted, 2,
        "one read and one transaction, the greeting recorded in it: the callback waits for no TeleSign call"
    );
    // N due (idle an hour on), M not due (waiting: no timeout for that state).
    let due = 5;
    let not_due = 5;
    for i in 0..due + not_due {
        s.text(&account, &random_number(), &format!("customer {i}")).await;
    }
    let service = gateway.sweeper.service();
    let mine: Vec<_> = service
        .log
        .accounts()
        .await
        .expect("accounts")
        .into_iter()
        .filter(|a| a.account_id.as_str() == account.id)
        .collect();
    let (_, list) = g
        .get(&format!("/conversations?account_id={}&limit=100", account.id))
        .await;
    for c in list["conversations"].as_array().expect("list").iter().take(not_due) {
        let id = c["conversation_id"].as_str().expect("id");
        assert_eq!(g.post(&format!("/conversations/{id}/close"), json!({})).await.0, 200);
    }
    let sweeper = gateway.meter("sweeper").expect("meter");
    tokio::time::sleep(Duration::from_secs(1)).await;
    sweeper.reset();
    let later = shared::ids::Timestamp::now().plus_seconds(7200);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut report = shared::service::sweeper::SweepReport::default();
    for a in &mine {
        let turn = shared::jobs::SweepTask::Account {
            account_id: a.account_id.clone(),
        };
        report += service.turn(&turn, later, deadline).await.expect("sweep");
    }
    let c = sweeper.snapshot();
    println!(
        "FIGURES sweep of one account, {} due and {not_due} not due: {report:?}; DynamoDB requests {} ({:?})",
        report.ended,
        c.requests_to("dynamodb"),
        c.requests
    );
    assert_eq!(
        report.ended,
        due + 2,
        "the due ones (and the two earlier open ones), not the waiting ones"
    );
}

/// Whether the account has a live conversation left (the list's first page of the live ones).
async fn any_live(s: &Stack, account: &Account) -> bool {
    let (_, list) = s
        .get(&format!(
            "/conversations?account_id={}&status=open,active,waiting&limit=1",
            account.id
        ))
        .await;
    list["conversations"].as_array().is_some_and(|c| !c.is_empty())
}

#[tokio::test]
async fn a_busy_account_takes_its_own_turn_and_every_other_account_is_swept_within_two_runs() {
    use futures::StreamExt;
    let s = stack();
    let interval: u64 = std::env::var("SWEEP_INTERVAL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let idle = json!({"auto_close": {"open_after_seconds": 3}});
    // One account with a thousand customers gone quiet
    let busy = s.account(1).await;
    settings(&s, &busy, idle.clone()).await;
    let seeded = std::time::Instant::now();
    let answers: Vec<u16> = futures::stream::iter(0..1000)
        .map(|i| {
            let (s, busy) = (&s, &busy);
            async move { s.text(busy, &random_number(), &format!("quiet {i}")).await.0 }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(answers.iter().all(|&a| a == 200), "every callback stored");
    let seeding = seeded.elapsed();
    // and twenty accounts of one quiet customer each, idle once the busy one's are due.
    let mut small = Vec::new();
    for _ in 0..20 {
        let a = s.account(1).await;
        settings(&s, &a, idle.clone()).await;
        s.text(&a, &random_number(), "one question").await;
        small.push(a);
    }
    let due = std::time::Instant::now() + Duration::from_secs(3);
    // Every small account is swept within two runs of its conversation being due, whatever the
    // busy account still has to do.
    let limit = due + Duration::from_secs(2 * interval + 5);
    let mut waiting = small.clone();
    while !waiting.is_empty() {
        let mut left = Vec::new();
        for a in waiting {
            if any_live(&s, &a).await {
                left.push(a);
            }
        }
        waiting = left;
        assert!(
            waiting.is_empty() || std::time::Instant::now() < limit,
            "{} of the 20 small accounts not swept within two runs",
            waiting.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let small_swept = due.elapsed();
    // and the busy account's thousand are ended too, a page after another.
    let busy_limit = std::time::Instant::now() + Duration::from_secs(120);
    while any_live(&s, &busy).await {
        assert!(
            std::time::Instant::now() < busy_limit,
            "the busy account's conversations are still live two minutes on"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "FIGURES fair sweep: 1,000 conversations seeded in {seeding:?}; 20 one-conversation accounts swept {small_swept:?} after due (runs every {interval} s); the busy account's 1,000 ended {:?} after due",
        due.elapsed()
    );
}
