use crate::ports::IdempotencyRecord;
use crate::send::{SendError, Verdict};
use crate::testkit::harness::*;
use channel_domain::conversation::{Event, Status};
use channel_domain::telesign::wire::{AnswerStatus, Failure, FailureKind};
use channel_domain::telesign::{MessageAnswer, MessageState, TelesignError};

const CUSTOMER: &str = "48601234567";

fn failure(kind: FailureKind, code: u32) -> TelesignError {
    TelesignError::Failure(Failure {
        http_status: 400,
        code: Some(code),
        description: "refused".into(),
        kind,
    })
}

#[tokio::test]
async fn a_reply_is_recorded_sent_once_and_settled() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let sent = w
        .sender()
        .reply(&op("a-1"), &id, &draft("How can I help?", None))
        .await
        .unwrap();
    assert_eq!(sent.verdict, Verdict::Accepted);
    assert_eq!(sent.message.status, MessageState::Queued);
    let sms = w.gateway.sent();
    assert_eq!(sms.len(), 1);
    assert_eq!(
        (sms[0].phone_number.as_str(), sms[0].sender_id.as_deref()),
        (CUSTOMER, Some(w.support.as_str()))
    );
    let external = channel_domain::conversation::external_id(&id, &sent.message.message_id);
    assert_eq!(sms[0].external_id.as_deref(), Some(external.as_str()));
    let c = w.conversation(&id);
    assert_eq!((c.status, c.assigned_agent.as_deref()), (Status::Active, Some("a-1")));
    let stored = &w.transcript(&id)[1];
    assert_eq!(
        (stored.status, stored.telesign_reference_id.is_some()),
        (MessageState::Queued, true)
    );
}

#[tokio::test]
async fn nothing_is_sent_to_a_closed_conversation_or_an_opted_out_customer() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.text(CUSTOMER, "STOP", "R2").await;
    assert_eq!(
        w.sender()
            .reply(&op("a-1"), &id, &draft("hello?", None))
            .await
            .unwrap_err(),
        SendError::OptedOut
    );
    w.desk().apply(&op("a-1"), &id, Event::End).await.unwrap();
    assert_eq!(
        w.sender()
            .reply(&op("a-1"), &id, &draft("hello?", None))
            .await
            .unwrap_err(),
        SendError::ConversationClosed
    );
    w.work().await;
    let sent = w.gateway.sent();
    assert_eq!(sent.len(), 1, "only the stop confirmation went out");
    assert!(sent[0].message.contains("START"), "{}", sent[0].message);
}

#[tokio::test]
async fn a_stop_landing_between_the_read_and_the_send_transaction_stops_the_send() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let key = (
        w.account.account_id.clone(),
        channel_domain::phone::PhoneNumber::parse(CUSTOMER).unwrap(),
    );
    w.store.before_next_write(move |s| {
        s.consent.insert(key, true);
    });
    assert_eq!(
        w.sender()
            .reply(&op("a-1"), &id, &draft("hello", None))
            .await
            .unwrap_err(),
        SendError::OptedOut
    );
    assert!(w.gateway.sent().is_empty());
    assert_eq!(w.transcript(&id).len(), 1);
}

#[tokio::test]
async fn a_retried_request_with_its_key_answers_the_first_outcome_and_sends_once() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("once", Some("k-1")))
        .await
        .unwrap();
    let again = w
        .sender()
        .reply(&op("a-1"), &id, &draft("once", Some("k-1")))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(w.gateway.sent().len(), 1);
    let other = w
        .sender()
        .reply(&op("a-1"), &id, &draft("another text", Some("k-1")))
        .await;
    assert_eq!(other.unwrap_err(), SendError::KeyReused);
}

#[tokio::test]
async fn telesign_unavailable_forgets_the_key_so_the_caller_may_retry() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.gateway.answer_next(Err(failure(FailureKind::Unavailable, 503)));
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("retry me", Some("k-2")))
        .await
        .unwrap();
    assert!(matches!(first.verdict, Verdict::Unavailable { .. }));
    assert_eq!(first.message.status, MessageState::Failed);
    let second = w
        .sender()
        .reply(&op("a-1"), &id, &draft("retry me", Some("k-2")))
        .await
        .unwrap();
    assert_eq!(second.verdict, Verdict::Accepted);
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_refusal_is_kept_for_the_key_and_the_message_fails() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.gateway.answer_next(Err(failure(FailureKind::InvalidRequest, 11000)));
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("bad", Some("k-3")))
        .await
        .unwrap();
    assert!(matches!(
        first.verdict,
        Verdict::Rejected {
            telesign_code: Some(11000),
            ..
        }
    ));
    let again = w
        .sender()
        .reply(&op("a-1"), &id, &draft("bad", Some("k-3")))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(w.transcript(&id)[1].status, MessageState::Failed);
}

#[tokio::test]
async fn an_unknown_outcome_is_never_resent() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.gateway
        .answer_next(Err(TelesignError::OutcomeUnknown("timed out".into())));
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("maybe", Some("k-4")))
        .await
        .unwrap();
    assert_eq!(
        (first.verdict.clone(), first.message.status),
        (Verdict::OutcomeUnknown, MessageState::Unknown)
    );
    let again = w
        .sender()
        .reply(&op("a-1"), &id, &draft("maybe", Some("k-4")))
        .await
        .unwrap();
    assert_eq!(again.verdict, Verdict::OutcomeUnknown);
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_business_message_opens_a_conversation_open_or_active_by_who_sent_it() {
    let w = World::new();
    let sent = w
        .sender()
        .outreach(&op("a-1"), &w.thread(CUSTOMER), &draft("Your order shipped", None))
        .await
        .unwrap();
    assert_eq!(w.conversation(&sent.conversation_id).status, Status::Active);
    let mut unattended = draft("Reminder", None);
    unattended.agent = None;
    let other = w
        .sender()
        .outreach(&op("a-1"), &w.thread("447700900123"), &unattended)
        .await
        .unwrap();
    assert_eq!(w.conversation(&other.conversation_id).status, Status::Open);
    let joined = w
        .sender()
        .outreach(&op("a-1"), &w.thread(CUSTOMER), &draft("And one more", None))
        .await
        .unwrap();
    assert_eq!(joined.conversation_id, sent.conversation_id);
}

#[tokio::test]
async fn a_business_message_from_a_stranger_number_or_to_an_opted_out_customer_is_refused() {
    let w = World::new();
    let mut thread = w.thread(CUSTOMER);
    w.opt_out(CUSTOMER);
    assert_eq!(
        w.sender()
            .outreach(&op("a-1"), &thread, &draft("hi", None))
            .await
            .unwrap_err(),
        SendError::OptedOut
    );
    thread.support_number = channel_domain::phone::PhoneNumber::parse("14255550199").unwrap();
    assert!(matches!(
        w.sender().outreach(&op("a-1"), &thread, &draft("hi", None)).await,
        Err(SendError::UnknownNumber(_))
    ));
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_conversation_that_changed_under_the_send_is_read_again_and_sent_once() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let moved = id.clone();
    w.store.before_next_write(move |s| {
        s.conversations.get_mut(&moved).unwrap().status = Status::Waiting;
    });
    let sent = w
        .sender()
        .reply(&op("a-1"), &id, &draft("still here", None))
        .await
        .unwrap();
    assert_eq!(sent.verdict, Verdict::Accepted);
    assert_eq!(w.gateway.sent().len(), 1);
    assert_eq!(w.conversation(&id).status, Status::Active);
}

#[tokio::test]
async fn a_key_claimed_by_a_finished_request_replays_its_outcome() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("race", Some("k-5")))
        .await
        .unwrap();
    // The second request read no record, then lost the claim to the first.
    let scope = crate::ports::IdempotencyScope {
        account_id: w.account.account_id.clone(),
        key: channel_domain::ids::IdempotencyKey::parse("k-5").unwrap(),
    };
    let record = w.store.read(|s| s.idempotency[&scope].clone());
    w.store.write(|s| s.idempotency.remove(&scope));
    w.store.before_next_write(move |s| {
        s.idempotency.insert(scope, record);
    });
    let second = w
        .sender()
        .reply(&op("a-1"), &id, &draft("race", Some("k-5")))
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(w.gateway.sent().len(), 1);
}

#[test]
fn sends_move_conversations_as_the_contract_says() {
    use crate::send::status_after_send;
    assert_eq!(status_after_send(Status::Open, true, true), Status::Active);
    assert_eq!(status_after_send(Status::Waiting, true, false), Status::Active);
    assert_eq!(status_after_send(Status::Open, false, true), Status::Active);
    assert_eq!(status_after_send(Status::Open, false, false), Status::Open);
}

#[test]
fn an_accepted_answer_is_queued_with_its_reference() {
    let record = crate::ports::OutboundRecord {
        thread: World::new().thread(CUSTOMER),
        message: channel_domain::conversation::Message::outbound_pending("x", &channel_domain::sms::analyse("x"), None),
        conversation: crate::ports::ConversationWrite::Create(
            channel_domain::conversation::Conversation::first_contact(&World::new().thread(CUSTOMER)),
        ),
        idempotency: None,
        audit: channel_domain::audit::AuditEntry::new(
            &actor(),
            channel_domain::audit::AuditAction::MessageSent,
            &channel_domain::ids::AccountId::new(),
            "c",
        ),
        opt_out_tag: None,
    };
    let answer = MessageAnswer {
        reference_id: "REF".into(),
        status: AnswerStatus {
            code: 290,
            description: "Message in progress".into(),
        },
    };
    let sent = crate::send::settle_message(record, Ok(answer));
    assert_eq!(sent.message.telesign_reference_id.as_deref(), Some("REF"));
    assert_eq!(
        (sent.message.status, sent.message.status_code),
        (MessageState::Queued, Some(290))
    );
}

fn scope_of(w: &World, key: &str) -> crate::ports::IdempotencyScope {
    crate::ports::IdempotencyScope {
        account_id: w.account.account_id.clone(),
        key: channel_domain::ids::IdempotencyKey::parse(key).unwrap(),
    }
}

#[tokio::test]
async fn a_key_whose_first_request_failed_and_forgot_it_asks_for_a_new_attempt() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    // Another request claimed the key right before this one recorded, then failed and forgot it.
    let scope = scope_of(&w, "k-6");
    let fingerprint = crate::send::fingerprint(&["reply", id.as_str(), "gone"]);
    let claimed = scope.clone();
    w.store.before_next_write(move |s| {
        s.idempotency
            .insert(claimed, IdempotencyRecord::Pending { fingerprint });
    });
    let store = w.store.clone();
    let forgetter = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        store.write(|s| s.idempotency.remove(&scope));
    });
    let outcome = w.sender().reply(&op("a-1"), &id, &draft("gone", Some("k-6"))).await;
    forgetter.await.unwrap();
    assert_eq!(outcome.unwrap_err(), SendError::FirstAttemptFailed);
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_request_while_the_first_with_its_key_is_running_waits_for_its_outcome() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let first = w
        .sender()
        .reply(&op("a-1"), &id, &draft("slow", Some("k-7")))
        .await
        .unwrap();
    let scope = scope_of(&w, "k-7");
    let done = w.store.read(|s| s.idempotency[&scope].clone());
    let IdempotencyRecord::Done { fingerprint, .. } = done.clone() else {
        panic!("done")
    };
    w.store.write(|s| {
        s.idempotency
            .insert(scope.clone(), IdempotencyRecord::Pending { fingerprint })
    });
    let store = w.store.clone();
    let finisher = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        store.write(|s| s.idempotency.insert(scope, done));
    });
    let second = w
        .sender()
        .reply(&op("a-1"), &id, &draft("slow", Some("k-7")))
        .await
        .unwrap();
    finisher.await.unwrap();
    assert_eq!(first, second);
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_settle_that_fails_after_telesign_accepted_is_tried_again_and_never_answered_not_sent() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.store.failing_settles.store(2, std::sync::atomic::Ordering::SeqCst);
    let sent = w
        .sender()
        .reply(&op("a-1"), &id, &draft("On its way", Some("k1")))
        .await
        .unwrap();
    assert_eq!(sent.verdict, Verdict::Accepted);
    assert_eq!(w.gateway.sent().len(), 1);
    assert_eq!(
        w.transcript(&id)[1].status,
        MessageState::Queued,
        "the third settle landed"
    );

    w.store.failing_settles.store(100, std::sync::atomic::Ordering::SeqCst);
    let sent = w
        .sender()
        .reply(&op("a-1"), &id, &draft("Still there?", Some("k2")))
        .await
        .unwrap();
    assert_eq!(sent.verdict, Verdict::Accepted, "sent, though never settled");
    assert_eq!(w.gateway.sent().len(), 2);
}

#[tokio::test]
async fn nothing_is_sent_from_a_number_the_account_no_longer_owns() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.store
        .write(|s| s.accounts.get_mut(&w.account.account_id).unwrap().numbers.clear());
    let refused = w.sender().reply(&op("a-1"), &id, &draft("hello?", None)).await;
    assert!(matches!(refused, Err(SendError::UnknownNumber(_))), "{refused:?}");
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_number_removed_or_claimed_elsewhere_stops_sending_at_once_in_a_warm_function() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let warm = w.sender();
    warm.reply(&op("a-1"), &id, &draft("First", None)).await.unwrap();
    let number = w.account.numbers[0].number.clone();
    // Removed in another function: its claim goes; this one's cached account still lists it.
    w.store.write(|s| {
        s.claims.remove(&number);
        if let Some(a) = s.accounts.get_mut(&w.account.account_id) {
            a.numbers.retain(|n| n.number != number);
        }
    });
    let refused = warm.reply(&op("a-1"), &id, &draft("Second", None)).await;
    assert!(matches!(refused, Err(SendError::UnknownNumber(_))), "{refused:?}");
    // And claimed by another account since.
    w.store.write(|s| {
        s.claims.insert(number.clone(), channel_domain::ids::AccountId::new());
    });
    let refused = warm.reply(&op("a-1"), &id, &draft("Third", None)).await;
    assert!(matches!(refused, Err(SendError::UnknownNumber(_))), "{refused:?}");
    assert_eq!(w.gateway.sent().len(), 1, "only the first went out");
}

#[tokio::test]
async fn after_a_rotation_elsewhere_the_next_reply_is_sent_with_the_key_read_again() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let warm = w.sender();
    warm.reply(&op("a-1"), &id, &draft("first", None)).await.unwrap();
    // The operator rotates in another function; TeleSign refuses the old key (10008).
    let mut rotated = secret(OTHER_KEY);
    rotated.previous_api_key = Some(KEY.into());
    w.keys
        .secrets
        .lock()
        .unwrap()
        .insert(w.account.secret_name.clone(), rotated);
    w.gateway
        .answer_next(Err(failure(FailureKind::InvalidCredentials, 10008)));
    let sent = warm.reply(&op("a-1"), &id, &draft("second", None)).await.unwrap();
    assert_eq!(sent.verdict, Verdict::Accepted, "sent again with the key read now");
    assert_eq!(sent.message.status, MessageState::Queued);
}
