//! The metrics the services emit (`crate::metrics`): what one send or one report leaves, as the
//! EMF records the function writes when the invocation ends.

use crate::metrics::{scope, Dim, Metric, Record};
use crate::testkit::harness::*;
use channel_domain::conversation::external_id;
use channel_domain::telesign::wire::{Failure, FailureKind};
use channel_domain::telesign::TelesignError;

const CUSTOMER: &str = "48601234567";

fn only(records: &[Record]) -> &Record {
    assert_eq!(records.len(), 1, "{records:?}");
    &records[0]
}

#[tokio::test]
async fn a_send_telesign_refuses_is_counted_with_its_code_and_a_replay_is_not_counted_again() {
    // Given a conversation, and TeleSign refusing the next message with 11000
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.gateway.answer_next(Err(TelesignError::Failure(Failure {
        http_status: 400,
        code: Some(11000),
        description: "invalid number".into(),
        kind: FailureKind::InvalidRequest,
    })));
    // When the agent replies, and retries with the same key
    let (_, records) = scope(w.sender().reply(&op("a-1"), &id, &draft("bad", Some("k-1")))).await;
    let (_, replayed) = scope(w.sender().reply(&op("a-1"), &id, &draft("bad", Some("k-1")))).await;
    // Then one Sends record: rejected, TeleSign's code, the account; the replay adds none
    let r = only(&records);
    assert_eq!(r.metric, Metric::Sends);
    assert_eq!(r.get(Dim::Outcome), Some("rejected"));
    assert_eq!(r.get(Dim::TelesignCode), Some("11000"));
    assert_eq!(r.get(Dim::AccountId), Some(w.account.account_id.as_str()));
    assert!(replayed.is_empty(), "{replayed:?}");
}

#[tokio::test]
async fn a_send_telesign_could_not_take_is_counted_unavailable() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.gateway
        .answer_next(Err(TelesignError::Unreachable("connection refused".into())));
    let (_, records) = scope(w.sender().reply(&op("a-1"), &id, &draft("later", None))).await;
    assert_eq!(only(&records).get(Dim::Outcome), Some("unavailable"));
    assert_eq!(only(&records).get(Dim::TelesignCode), None);
}

#[tokio::test]
async fn a_late_final_report_gives_its_lag_once_and_intermediate_ones_none() {
    // Given a message sent a while ago
    let w = World::new();
    let (sent, _) = scope(w.say_hello(CUSTOMER)).await;
    let reference = sent.message.telesign_reference_id.clone().unwrap();
    let external = external_id(&sent.conversation_id, &sent.message.message_id);
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    // When TeleSign reports it sent (203), then delivered (200), then delivered again
    let (_, sent_report) = scope(w.report(&reference, Some(&external), 203)).await;
    let (_, delivered) = scope(w.report(&reference, Some(&external), 200)).await;
    let (_, again) = scope(w.report(&reference, Some(&external), 200)).await;
    // Then only the report that made it final gives a lag: at least the time since the send
    assert!(sent_report.is_empty() && again.is_empty(), "{sent_report:?} {again:?}");
    let lag = only(&delivered);
    assert_eq!(lag.metric, Metric::DeliveryReportLag);
    assert_eq!(lag.get(Dim::Status), Some("delivered"));
    assert!(lag.value >= 60.0 && lag.value < 10_000.0, "{}", lag.value);
}

#[tokio::test]
async fn a_failure_report_gives_its_lag_as_failed() {
    let w = World::new();
    let sent = w.say_hello(CUSTOMER).await;
    let reference = sent.message.telesign_reference_id.clone().unwrap();
    let external = external_id(&sent.conversation_id, &sent.message.message_id);
    let (_, records) = scope(w.report(&reference, Some(&external), 207)).await;
    assert_eq!(only(&records).get(Dim::Status), Some("failed"));
}
