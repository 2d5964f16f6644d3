use crate::callbacks::{CallbackError, CallbackOutcome, ReportOutcome};
use crate::testkit::harness::*;
use channel_domain::conversation::{Direction, Status};
use channel_domain::telesign::{MessageState, SignatureError};
use std::sync::atomic::Ordering::SeqCst;

const CUSTOMER: &str = "48601234567";

#[tokio::test]
async fn a_first_message_opens_a_conversation() {
    let w = World::new();
    let outcome = w.text(CUSTOMER, "Hello, my order is late", "R1").await;
    assert!(matches!(
        outcome,
        CallbackOutcome::Stored {
            new_conversation: true,
            ..
        }
    ));
    let c = w.conversation(&stored(&outcome));
    assert_eq!(
        (c.status, c.last_message_preview.as_deref()),
        (Status::Open, Some("Hello, my order is late"))
    );
    let m = &w.transcript(&c.conversation_id)[0];
    assert_eq!(
        (m.direction, m.status, m.status_code),
        (Direction::Inbound, MessageState::Received, Some(1500))
    );
}

#[tokio::test]
async fn a_retried_callback_is_stored_once() {
    let w = World::new();
    let first = w.text(CUSTOMER, "hi", "R1").await;
    assert_eq!(w.text(CUSTOMER, "hi", "R1").await, CallbackOutcome::Duplicate);
    assert_eq!(w.transcript(&stored(&first)).len(), 1);
}

#[tokio::test]
async fn later_messages_join_the_live_conversation_and_reopen_a_waiting_one() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "one", "R1").await);
    w.desk()
        .apply(&op("a-1"), &id, channel_domain::conversation::Event::Close)
        .await
        .unwrap();
    let second = w.text(CUSTOMER, "two", "R2").await;
    assert!(matches!(
        &second,
        CallbackOutcome::Stored {
            new_conversation: false,
            ..
        }
    ));
    assert_eq!(stored(&second), id);
    assert_eq!(w.conversation(&id).status, Status::Open);
}

#[tokio::test]
async fn a_message_after_the_end_starts_a_new_conversation() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "one", "R1").await);
    w.desk()
        .apply(&op("a-1"), &id, channel_domain::conversation::Event::End)
        .await
        .unwrap();
    let next = stored(&w.text(CUSTOMER, "two", "R2").await);
    assert_ne!(next, id);
}

#[tokio::test]
async fn stop_opts_out_with_a_notice_after_the_keyword_and_start_opts_back_in() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "Stop!", "R1").await);
    let transcript = w.transcript(&id);
    assert_eq!(transcript.len(), 3, "keyword, notice, confirmation");
    assert_eq!(transcript[1].direction, Direction::System);
    assert!(transcript[1].text.contains("opted out (Stop!)"));
    assert_eq!(transcript[2].kind, Some(channel_domain::automation::Kind::Stop));
    assert!(w.conversation(&id).opted_out);
    w.text(CUSTOMER, "start", "R2").await;
    assert!(!w.conversation(&id).opted_out);
    let transcript = w.transcript(&id);
    assert!(transcript[4].text.contains("opted in"));
    assert_eq!(transcript[5].kind, Some(channel_domain::automation::Kind::Start));
}

#[tokio::test]
async fn a_callback_not_signed_with_the_key_is_refused_and_nothing_is_stored() {
    let w = World::new();
    let refused = w.text_signed(OTHER_KEY, CUSTOMER, "hi", "R1").await;
    assert_eq!(refused, Err(CallbackError::InvalidSignature(SignatureError::Mismatch)));
    assert_eq!(w.store.read(|s| s.writes), 0);
    // The cached key was read again once, to see a rotation.
    assert_eq!(*w.keys.reads.lock().unwrap(), 2);
}

#[tokio::test]
async fn the_previous_key_verifies_only_during_its_grace_period() {
    let w = World::new();
    let mut rotated = secret(OTHER_KEY);
    rotated.previous_api_key = Some(KEY.into());
    rotated.previous_valid_until = Some(channel_domain::ids::epoch_seconds() + 60);
    w.keys
        .secrets
        .lock()
        .unwrap()
        .insert(w.account.secret_name.clone(), rotated.clone());
    assert!(w.text_signed(KEY, CUSTOMER, "old key", "R1").await.is_ok());
    rotated.previous_valid_until = Some(channel_domain::ids::epoch_seconds() - 1);
    w.keys
        .secrets
        .lock()
        .unwrap()
        .insert(w.account.secret_name.clone(), rotated);
    assert!(matches!(
        w.text_signed(KEY, CUSTOMER, "old key", "R2").await,
        Err(CallbackError::InvalidSignature(_))
    ));
}

#[tokio::test]
async fn unknown_accounts_and_numbers_are_refused() {
    let w = World::new();
    let other = channel_domain::ids::AccountId::new();
    let refused = w.callbacks().receive(other.as_str(), None, b"{}").await;
    assert_eq!(refused, Err(CallbackError::UnknownAccount));
    assert_eq!(
        w.callbacks().receive("../x", None, b"{}").await,
        Err(CallbackError::UnknownAccount)
    );
    w.store
        .write(|s| s.accounts.get_mut(&w.account.account_id).unwrap().numbers.clear());
    assert_eq!(
        w.text_signed(KEY, CUSTOMER, "hi", "R1").await,
        Err(CallbackError::UnknownNumber)
    );
}

/// No transaction checks the number's claim (that one item in every transaction made all
/// messages to a number conflict): ownership is read with the thread. A number removed before
/// that read stops routing at once; one removed between the read and the write lets that one
/// message in, as if it had come a moment earlier.
#[tokio::test]
async fn a_number_removed_before_the_read_stops_routing_and_one_removed_after_it_lets_that_message_in() {
    let w = World::new();
    let support = w.support.clone();
    w.store.before_next_write(move |s| {
        s.claims.remove(&support);
    });
    assert!(matches!(
        w.text_signed(KEY, CUSTOMER, "hi", "R1").await,
        Ok(CallbackOutcome::Stored { .. })
    ));
    assert_eq!(
        w.text_signed(KEY, CUSTOMER, "again", "R2").await,
        Err(CallbackError::UnknownNumber)
    );
    assert_eq!(w.store.read(|s| s.writes), 1);
}

#[tokio::test]
async fn a_verified_callback_that_cannot_be_stored_is_parked_and_its_replay_stores_it_once() {
    let w = World::new();
    w.store.down.store(true, SeqCst);
    assert_eq!(
        w.text_signed(KEY, CUSTOMER, "hi", "R1").await,
        Ok(CallbackOutcome::Parked)
    );
    assert_eq!(
        w.text_signed(KEY, CUSTOMER, "hi", "R1").await,
        Ok(CallbackOutcome::Parked)
    );
    let parked = w.queue.drain();
    assert_eq!(parked.len(), 2, "TeleSign's retry is parked too");
    let replay = w.callbacks().replay(&parked[0]).await;
    assert!(replay.as_ref().is_err_and(|e| e.is_transient()), "{replay:?}");

    w.store.down.store(false, SeqCst);
    let first = w.callbacks().replay(&parked[0]).await.unwrap();
    assert_eq!(w.callbacks().replay(&parked[1]).await, Ok(CallbackOutcome::Duplicate));
    assert_eq!(w.transcript(&stored(&first)).len(), 1);
}

#[tokio::test]
async fn an_unverified_callback_is_never_parked_and_without_a_queue_the_callback_is_refused_for_a_retry() {
    let w = World::new();
    w.store.down.store(true, SeqCst);
    assert!(matches!(
        w.text_signed(OTHER_KEY, CUSTOMER, "hi", "R1").await,
        Err(CallbackError::InvalidSignature(_))
    ));
    w.queue.unavailable.store(true, SeqCst);
    let refused = w.text_signed(KEY, CUSTOMER, "hi", "R2").await;
    assert!(refused.is_err_and(|e| e.is_transient()));
    assert!(w.queue.drain().is_empty());
}

#[tokio::test]
async fn a_first_message_that_loses_the_race_joins_the_winners_conversation() {
    let w = World::new();
    let winner = w.clone_for_race();
    w.store.before_next_write(move |s| winner(s));
    let joined = stored(&w.text(CUSTOMER, "second", "R2").await);
    assert_eq!(w.store.read(|s| s.conversations.len()), 1);
    assert_eq!(w.transcript(&joined).len(), 2);
}

impl World {
    /// A concurrent first message, written directly: its conversation and pointer.
    fn clone_for_race(&self) -> impl FnOnce(&mut crate::testkit::fakes::State) + Send + 'static {
        let thread = self.thread(CUSTOMER);
        move |s| {
            let c = channel_domain::conversation::Conversation::first_contact(&thread);
            let m =
                channel_domain::conversation::Message::inbound("first", &channel_domain::sms::analyse("first"), "R1");
            s.pointers.insert(thread, (c.conversation_id.clone(), c.status));
            s.messages
                .entry(c.conversation_id.clone())
                .or_default()
                .insert(m.message_id.clone(), (m, 0, None));
            s.conversations.insert(c.conversation_id.clone(), c);
        }
    }
}

#[tokio::test]
async fn a_text_over_the_limit_is_stored_whole_and_flagged() {
    let w = World::new();
    let long = "a".repeat(1601);
    let id = stored(&w.text(CUSTOMER, &long, "R1").await);
    let m = &w.transcript(&id)[0];
    assert!(m.too_long && m.text.len() == 1601);
}

#[tokio::test]
async fn reports_move_a_status_forward_only() {
    let w = World::new();
    let sent = w.say_hello(CUSTOMER).await;
    let reference = sent.message.telesign_reference_id.clone().unwrap();
    let external = channel_domain::conversation::external_id(&sent.conversation_id, &sent.message.message_id);
    let report = |code| w.report(&reference, Some(&external), code);
    assert_eq!(report(200).await, CallbackOutcome::Report(ReportOutcome::Updated));
    assert_eq!(report(200).await, CallbackOutcome::Report(ReportOutcome::Duplicate));
    // A failure report after delivery has the same rank: it never replaces the final state.
    assert_eq!(report(207).await, CallbackOutcome::Report(ReportOutcome::Stale));
    assert_eq!(report(290).await, CallbackOutcome::Report(ReportOutcome::Stale));
    let m = &w.transcript(&sent.conversation_id)[0];
    assert_eq!((m.status, m.status_code), (MessageState::Delivered, Some(200)));
}

#[tokio::test]
async fn a_report_without_our_id_is_found_by_its_reference_and_strangers_are_ignored() {
    let w = World::new();
    let sent = w.say_hello(CUSTOMER).await;
    let reference = sent.message.telesign_reference_id.clone().unwrap();
    assert_eq!(
        w.report(&reference, None, 203).await,
        CallbackOutcome::Report(ReportOutcome::Updated)
    );
    assert_eq!(
        w.report("NOPE", None, 200).await,
        CallbackOutcome::Report(ReportOutcome::Unknown)
    );
    let inbound = w.text(CUSTOMER, "hi", "R9").await;
    let CallbackOutcome::Stored {
        conversation_id,
        message_id,
        ..
    } = inbound
    else {
        panic!()
    };
    let theirs = channel_domain::conversation::external_id(&conversation_id, &message_id);
    assert_eq!(
        w.report("R9", Some(&theirs), 200).await,
        CallbackOutcome::Report(ReportOutcome::Unknown)
    );
}

#[tokio::test]
async fn a_text_of_exactly_the_limit_is_not_flagged() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, &"a".repeat(1600), "R1").await);
    assert!(!w.transcript(&id)[0].too_long);
}

/// A customer's text signed with `key`, to a callback service kept warm by the test.
async fn signed_text<D, L, Q>(
    callbacks: &crate::callbacks::Callbacks<D, L, Q>,
    w: &World,
    key: &str,
    reference: &str,
) -> Result<CallbackOutcome, CallbackError>
where
    D: crate::directory::AccountDirectory,
    L: crate::ports::InboundLog + crate::ports::ReportLog,
    Q: crate::ports::CallbackQueue,
{
    let body = serde_json::json!({"reference_id": reference, "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": CUSTOMER, "sender_id": w.support.as_str(), "mo_message": "hi"}})
    .to_string();
    let key = channel_domain::telesign::ApiKey::parse(key).unwrap();
    let auth = channel_domain::telesign::callback::callback_authorization(CUSTOMER_ID, &key, body.as_bytes());
    callbacks
        .receive(w.account.account_id.as_str(), Some(&auth), body.as_bytes())
        .await
}

fn soon() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(5)
}

#[tokio::test]
async fn a_staged_next_key_verifies_callbacks_before_and_after_it_becomes_current() {
    let w = World::new();
    let warm = w.callbacks();
    assert!(signed_text(&warm, &w, KEY, "R1").await.is_ok());
    let next = channel_domain::telesign::ApiKey::parse(OTHER_KEY).unwrap();
    w.accounts()
        .stage_next(&actor(), &w.account, next.clone())
        .await
        .unwrap();
    let staged = w.store.read(|s| {
        s.audit
            .iter()
            .filter(|e| e.action == channel_domain::audit::AuditAction::KeyStaged && e.actor == "o-1")
            .count()
    });
    assert_eq!(staged, 1, "staging a key is audited");
    assert!(
        signed_text(&warm, &w, OTHER_KEY, "R2").await.is_ok(),
        "before the rotation"
    );
    assert!(
        signed_text(&warm, &w, KEY, "R3").await.is_ok(),
        "the current key still verifies"
    );
    w.accounts()
        .rotate(&actor(), &w.account, next, Some(3600), soon())
        .await
        .unwrap();
    assert!(
        signed_text(&warm, &w, OTHER_KEY, "R4").await.is_ok(),
        "after the rotation"
    );
}

#[tokio::test]
async fn a_revoked_key_stops_verifying_at_once_in_a_warm_function() {
    let w = World::new();
    let warm = w.callbacks();
    assert!(signed_text(&warm, &w, KEY, "R1").await.is_ok());
    let new = channel_domain::telesign::ApiKey::parse(OTHER_KEY).unwrap();
    w.accounts()
        .rotate(&actor(), &w.account, new, Some(0), soon())
        .await
        .unwrap();
    assert!(matches!(
        signed_text(&warm, &w, KEY, "R2").await,
        Err(CallbackError::InvalidSignature(_))
    ));
    assert!(signed_text(&warm, &w, OTHER_KEY, "R3").await.is_ok());
}

#[tokio::test]
async fn a_revoked_key_stops_verifying_delivery_reports_at_once_too() {
    let w = World::new();
    let warm = w.callbacks();
    let report = |key: &str| {
        let body = serde_json::json!({"reference_id": "NOT-OURS", "status": {"code": 200, "description": "Delivered"}})
            .to_string();
        let key = channel_domain::telesign::ApiKey::parse(key).unwrap();
        let auth = channel_domain::telesign::callback::callback_authorization(CUSTOMER_ID, &key, body.as_bytes());
        (body, auth)
    };
    let (body, auth) = report(KEY);
    let before = warm
        .receive(w.account.account_id.as_str(), Some(&auth), body.as_bytes())
        .await;
    assert!(before.is_ok(), "{before:?}");
    let new = channel_domain::telesign::ApiKey::parse(OTHER_KEY).unwrap();
    w.accounts()
        .rotate(&actor(), &w.account, new, Some(0), soon())
        .await
        .unwrap();
    let (body, auth) = report(KEY);
    let after = warm
        .receive(w.account.account_id.as_str(), Some(&auth), body.as_bytes())
        .await;
    assert!(matches!(after, Err(CallbackError::InvalidSignature(_))), "{after:?}");
    let (body, auth) = report(OTHER_KEY);
    assert!(warm
        .receive(w.account.account_id.as_str(), Some(&auth), body.as_bytes())
        .await
        .is_ok());
}

#[tokio::test]
async fn forged_callbacks_read_the_key_again_at_most_once_per_interval() {
    let w = World::new();
    let warm = w.callbacks();
    assert!(signed_text(&warm, &w, KEY, "R0").await.is_ok());
    let before = *w.keys.reads.lock().unwrap();
    for i in 0..200 {
        let forged = signed_text(&warm, &w, OTHER_KEY, &format!("F{i}")).await;
        assert!(matches!(forged, Err(CallbackError::InvalidSignature(_))));
    }
    assert_eq!(*w.keys.reads.lock().unwrap() - before, 1, "one read for 200 forgeries");
}
