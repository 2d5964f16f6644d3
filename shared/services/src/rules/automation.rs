use crate::callbacks::CallbackOutcome;
use crate::testkit::harness::*;
use crate::worker::Done;
use channel_domain::automation::{ConsentEffect, Kind};
use channel_domain::conversation::{Consent, Direction};

const CUSTOMER: &str = "48601234567";

fn kinds(w: &World, id: &channel_domain::ids::ConversationId) -> Vec<Kind> {
    w.transcript(id).iter().filter_map(|m| m.kind).collect()
}

fn minutes_ago(m: i64) -> String {
    channel_domain::ids::Timestamp::now().plus_seconds(-60 * m).to_string()
}

#[tokio::test]
async fn a_start_retried_after_a_later_stop_leaves_the_customer_opted_out() {
    // Given a customer who texted START, then STOP a minute later; START's callback failed and
    // TeleSign retries it after STOP's was stored.
    let w = World::new();
    let id = stored(&w.text_at(CUSTOMER, "STOP", "R-stop", &minutes_ago(1)).await);
    // When the START (sent earlier) lands now.
    w.text_at(CUSTOMER, "START", "R-start", &minutes_ago(2)).await;
    // Then the customer stays opted out, the START is in the ledger as superseded, and only
    // the stop confirmation went out.
    assert!(w.conversation(&id).opted_out);
    let ledger = w.store.read(|s| s.ledger.clone());
    let effects: Vec<_> = ledger.iter().map(|(.., e)| *e).collect();
    assert_eq!(
        effects,
        [
            ConsentEffect::Changed(Consent::OptOut),
            ConsentEffect::Superseded(Consent::OptIn)
        ]
    );
    assert_eq!(kinds(&w, &id), [Kind::Stop]);
    w.work().await;
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_stop_that_lands_between_the_read_and_the_write_makes_a_start_read_again() {
    // Given a START whose thread was read while the customer was opted in.
    let w = World::new();
    stored(&w.text_at(CUSTOMER, "hello", "R0", &minutes_ago(5)).await);
    let account = w.account.account_id.clone();
    // When a newer STOP commits right before the START's write.
    w.store.before_next_write(move |s| {
        let customer = (account, channel_domain::phone::PhoneNumber::parse(CUSTOMER).unwrap());
        s.consent.insert(customer.clone(), true);
        s.consent_orders
            .insert(customer, format!("{:013}#R-stop", channel_domain::ids::epoch_millis()));
    });
    let id = stored(&w.text_at(CUSTOMER, "START", "R-start", &minutes_ago(1)).await);
    // Then the START lost its condition, read again and is superseded.
    assert!(w.store.read(|s| s.consent.values().all(|o| *o)));
    assert!(!kinds(&w, &id).contains(&Kind::Start));
}

#[tokio::test]
async fn a_callback_older_than_the_deduplication_window_is_ignored() {
    let w = World::new();
    let old = channel_domain::ids::Timestamp::now()
        .plus_seconds(-31 * 24 * 3600)
        .to_string();
    assert_eq!(
        w.text_at(CUSTOMER, "START", "R-old", &old).await,
        CallbackOutcome::Ignored
    );
    assert_eq!(w.store.read(|s| s.writes), 0);
}

#[tokio::test]
async fn the_greeting_goes_out_once_on_a_new_conversation_never_on_later_messages() {
    let w = World::new();
    w.set_settings(serde_json::json!({"messages": {"greeting": "Hi, we will answer shortly."}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    assert_eq!(w.text(CUSTOMER, "hello", "R1").await, CallbackOutcome::Duplicate);
    w.text(CUSTOMER, "anyone?", "R2").await;
    assert_eq!(kinds(&w, &id), [Kind::Greeting]);
    let greeting = w.transcript(&id)[1].clone();
    assert!(greeting.automated && greeting.direction == Direction::Outbound);
    assert!(
        w.gateway.sent().is_empty(),
        "the callback is answered before TeleSign is called"
    );
    w.work().await;
    assert_eq!(w.gateway.sent().len(), 1);
    assert_eq!(w.gateway.sent()[0].message, "Hi, we will answer shortly.");
}

#[tokio::test]
async fn the_away_message_goes_out_once_per_closed_period() {
    // Given a number that is never open (hours only on a day that has none left this week is
    // not needed: an empty week is closed all the time).
    let w = World::new();
    w.set_settings(serde_json::json!({"timezone": "Europe/Warsaw", "business_hours": {},
        "messages": {"away": "We are closed; we answer from 9:00."}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    w.text(CUSTOMER, "hello again", "R2").await;
    assert_eq!(kinds(&w, &id), [Kind::Away]);
    // While open (no hours: always), none.
    w.set_settings(serde_json::json!({"messages": {"away": "We are closed."}}));
    w.text(CUSTOMER, "third", "R3").await;
    assert_eq!(kinds(&w, &id), [Kind::Away]);
}

#[tokio::test]
async fn help_gets_the_default_help_reply_naming_the_account() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "HELP", "R1").await);
    assert_eq!(kinds(&w, &id), [Kind::Help]);
    w.work().await;
    assert!(w.gateway.sent()[0].message.starts_with("Support:"));
}

#[tokio::test]
async fn a_message_turned_off_is_not_sent() {
    let w = World::new();
    w.set_settings(serde_json::json!({"messages": {"stop": null}}));
    let id = stored(&w.text(CUSTOMER, "STOP", "R1").await);
    assert!(kinds(&w, &id).is_empty());
    w.work().await;
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_stop_from_an_opted_out_customer_changes_nothing_and_confirms_nothing() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "STOP", "R1").await);
    w.text(CUSTOMER, "STOP", "R2").await;
    w.text(CUSTOMER, "HELP", "R3").await;
    assert_eq!(kinds(&w, &id), [Kind::Stop], "nothing but the first confirmation");
    let notices = w
        .transcript(&id)
        .iter()
        .filter(|m| m.direction == Direction::System)
        .count();
    assert_eq!(notices, 1);
}

fn soon() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(5)
}

#[tokio::test]
async fn an_idle_waiting_conversation_is_ended_with_a_notice_and_the_closing_message() {
    // Given a waiting conversation idle for 61 s on a number that ends waiting ones after 60 s.
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"waiting_after_seconds": 60},
        "messages": {"closing": "Closed for now; text us any time."}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    w.desk()
        .apply(&op("a-1"), &id, channel_domain::conversation::Event::Close)
        .await
        .unwrap();
    let now = w.conversation(&id).last_activity_at.plus_seconds(61);
    // When the sweep runs.
    let report = w.sweep(now, soon()).await.unwrap();
    // Then it is closed, says why, and the closing message went out once.
    assert_eq!((report.ended, report.closings), (1, 1));
    assert_eq!(w.conversation(&id).status, channel_domain::conversation::Status::Closed);
    let transcript = w.transcript(&id);
    assert!(transcript
        .iter()
        .any(|m| m.direction == Direction::System && m.text.contains("waiting for 60 seconds")));
    assert_eq!(kinds(&w, &id), [Kind::Closing]);
    assert!(
        w.gateway.sent().is_empty(),
        "the sweep records the closing message; the worker sends it"
    );
    w.work().await;
    assert_eq!(w.gateway.sent()[0].message, "Closed for now; text us any time.");
    let entry = w.store.read(|s| s.audit.last().cloned()).unwrap();
    assert_eq!(entry.action, channel_domain::audit::AuditAction::ConversationAutoClosed);
    // A second sweep finds nothing.
    assert_eq!(w.sweep(now, soon()).await.unwrap().ended, 0);
}

#[tokio::test]
async fn a_conversation_that_got_a_message_after_the_sweep_read_it_is_left_alone() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let now = w.conversation(&id).last_activity_at.plus_seconds(120);
    // A customer message lands between the sweep's read and its write.
    let moved = id.clone();
    w.store.before_next_write(move |s| {
        if let Some(c) = s.conversations.get_mut(&moved) {
            c.last_activity_at = c.last_activity_at.plus_seconds(100);
        }
    });
    let report = w.sweep(now, soon()).await.unwrap();
    assert_eq!((report.ended, report.lost), (0, 1));
    assert_eq!(w.conversation(&id).status, channel_domain::conversation::Status::Open);
}

#[tokio::test]
async fn only_conversations_past_their_own_states_timeout_are_ended() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60, "waiting_after_seconds": 3600}}));
    let open = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let waiting = stored(&w.text("48601234568", "hello", "R2").await);
    w.desk()
        .apply(&op("a-1"), &waiting, channel_domain::conversation::Event::Close)
        .await
        .unwrap();
    let now = w.conversation(&waiting).last_activity_at.plus_seconds(120);
    // A third, fresh conversation is not idle past the shortest timeout: it is not even read.
    let fresh = stored(&w.text("48601234569", "hello", "R3").await);
    w.store.write(|s| {
        if let Some(c) = s.conversations.get_mut(&fresh) {
            c.last_activity_at = now.plus_seconds(-30);
        }
    });
    let report = w.sweep(now, soon()).await.unwrap();
    assert_eq!((report.accounts, report.read, report.ended), (1, 2, 1));
    assert_eq!(
        w.conversation(&open).status,
        channel_domain::conversation::Status::Closed
    );
    assert_eq!(
        w.conversation(&waiting).status,
        channel_domain::conversation::Status::Waiting
    );
    // Without any timeout, an account is not read at all.
    w.set_settings(serde_json::json!({}));
    assert_eq!(w.sweep(now.plus_seconds(9999), soon()).await.unwrap().accounts, 0);
}

#[tokio::test]
async fn a_conversation_is_due_only_once_idle_for_longer_than_its_timeout() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let c = w.conversation(&id);
    let account = w.store.read(|s| s.accounts[&w.account.account_id].clone());
    let plan = |after: i64| crate::sweeper::plan_idle_end(&account, &c, c.last_activity_at.plus_seconds(after));
    assert!(plan(60).is_none(), "exactly the timeout: not yet");
    let end = plan(61).expect("due a second later");
    assert_eq!(end.end.guard.activity_read, Some(c.last_activity_at));
    assert_eq!(end.end.to, channel_domain::conversation::Status::Closed);
    assert!(end.closing.is_none(), "no closing message set");
    assert_eq!(
        w.sweep(c.last_activity_at.plus_seconds(61), soon())
            .await
            .unwrap()
            .ended,
        1
    );
}

#[tokio::test]
async fn a_closed_conversation_is_erased_once_it_has_outlived_its_accounts_retention() {
    // Given an account that keeps closed conversations one day, and a conversation ended at T.
    let w = World::new();
    w.store.write(|s| {
        if let Some(a) = s.accounts.get_mut(&w.account.account_id) {
            a.retention_days = Some(1);
        }
    });
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let live = stored(&w.text("48601234568", "still talking", "R2").await);
    w.desk()
        .apply(&op("a-1"), &id, channel_domain::conversation::Event::End)
        .await
        .unwrap();
    let ended = w.conversation(&id).last_activity_at;
    let day = 24 * 3600;
    // A second before the day is out it is kept; a second after, the sweep erases it.
    let kept = w.sweep(ended.plus_seconds(day - 1), soon()).await.unwrap();
    assert_eq!(kept.expired, 0);
    assert!(w.store.read(|s| s.conversations.contains_key(&id)));
    let report = w.sweep(ended.plus_seconds(day + 1), soon()).await.unwrap();
    assert_eq!(report.expired, 1);
    assert!(w
        .store
        .read(|s| !s.conversations.contains_key(&id) && !s.messages.contains_key(&id)));
    // A live conversation, however old, is not the retention's.
    assert!(w.store.read(|s| s.conversations.contains_key(&live)));
    let later = w.sweep(ended.plus_seconds(30 * day), soon()).await.unwrap();
    assert_eq!(later.expired, 0);
}

#[tokio::test]
async fn a_deleted_accounts_conversations_expire_by_its_retention_then_its_record_goes() {
    // Given an account with a day's retention, a closed and a live conversation, then deleted.
    let w = World::new();
    let closed = stored(&w.text(CUSTOMER, "hello", "R1").await);
    w.desk()
        .apply(&op("a-1"), &closed, channel_domain::conversation::Event::End)
        .await
        .unwrap();
    let live = stored(&w.text("48601234568", "anyone?", "R2").await);
    delete_with_retention(&w, 1).await;
    let last = w.conversation(&live).last_activity_at;
    let day = 24 * 3600;
    // Within the day nothing goes; after it both go (nobody can end the live one any more).
    let early = w.sweep_deleted(last.plus_seconds(day - 5)).await;
    assert_eq!(early.expired, 0);
    assert_eq!(w.store.read(|s| s.retired.len()), 1);
    let report = w.sweep_deleted(last.plus_seconds(day + 1)).await;
    assert_eq!(report.expired, 2);
    assert!(w
        .store
        .read(|s| !s.conversations.contains_key(&closed) && !s.conversations.contains_key(&live)));
    // Nothing is left: the deleted account is forgotten.
    assert_eq!(w.store.read(|s| s.retired.len()), 0);
}

#[tokio::test]
async fn a_deleted_account_is_kept_while_a_live_conversation_of_it_is_within_its_retention() {
    let w = World::new();
    let live = stored(&w.text(CUSTOMER, "anyone?", "R1").await);
    delete_with_retention(&w, 1).await;
    let last = w.conversation(&live).last_activity_at;
    w.sweep_deleted(last.plus_seconds(60)).await;
    assert_eq!(
        w.store.read(|s| s.retired.len()),
        1,
        "a live conversation is still within the day"
    );
}

/// Deletes the world's account as if it kept closed conversations `days`.
async fn delete_with_retention(w: &World, days: u32) {
    use crate::ports::AccountStore;
    let mut account = w.store.read(|s| s.accounts[&w.account.account_id].clone());
    account.retention_days = Some(days);
    let entry = channel_domain::audit::AuditEntry::new(
        &actor(),
        channel_domain::audit::AuditAction::AccountDeleted,
        &account.account_id,
        "x",
    );
    let retired = crate::ports::Retired::of(&account, false);
    assert!(w.store.delete_account(&account, &retired, &entry).await.unwrap());
}

#[tokio::test]
async fn a_send_job_that_comes_twice_sends_once() {
    // Given a greeting recorded with the customer's first message
    let w = World::new();
    w.set_settings(serde_json::json!({"messages": {"greeting": "Hi"}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let greeting = w.transcript(&id)[1].message_id.clone();
    let job = channel_domain::jobs::Job::Send {
        account_id: w.account.account_id.clone(),
        conversation_id: id.clone(),
        message_id: greeting,
    };
    // When the queue hands its job to two workers, one after the other and then at once
    let worker = w.worker();
    let first = worker.run(&job, soon()).await.unwrap();
    let (a, b) = futures_util::future::join(worker.run(&job, soon()), worker.run(&job, soon())).await;
    // Then TeleSign got it once, and the other tries found it taken
    assert!(matches!(first, Done::Sent(_)), "{first:?}");
    assert_eq!((a.unwrap(), b.unwrap()), (Done::Taken, Done::Taken));
    assert_eq!(w.gateway.sent().len(), 1);
    assert!(
        w.transcript(&id)[1].telesign_reference_id.is_some(),
        "settled with TeleSign's reference"
    );
}

#[tokio::test]
async fn a_stop_between_the_greeting_and_its_send_stops_the_greeting_not_the_confirmation() {
    // Given a greeting recorded but not sent yet
    let w = World::new();
    w.set_settings(serde_json::json!({"messages": {"greeting": "Hi"}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    // When the customer texts STOP before the worker gets to it
    w.text(CUSTOMER, "STOP", "R2").await;
    let done = w.work().await;
    // Then the greeting is recorded as not sent, and only the stop confirmation went out
    assert!(done.contains(&Done::OptedOut), "{done:?}");
    let sent = w.gateway.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].message.contains("START"), "{}", sent[0].message);
    let greeting = w
        .transcript(&id)
        .into_iter()
        .find(|m| m.kind == Some(Kind::Greeting))
        .unwrap();
    assert_eq!(greeting.status, channel_domain::telesign::MessageState::Failed);
    assert_eq!(
        greeting.status_description.as_deref(),
        Some(crate::worker::OPTED_OUT_MEANWHILE)
    );
}

#[tokio::test]
async fn a_send_job_of_an_erased_conversation_is_let_go() {
    let w = World::new();
    let job = channel_domain::jobs::Job::Send {
        account_id: w.account.account_id.clone(),
        conversation_id: channel_domain::ids::ConversationId::new(),
        message_id: channel_domain::ids::MessageId::new(),
    };
    assert_eq!(w.worker().run(&job, soon()).await.unwrap(), Done::Gone);
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_sweep_that_overlaps_another_does_nothing_until_the_lease_is_free_or_expired() {
    use crate::sweeper::SWEEP_LEASE;
    let w = World::new();
    let now = channel_domain::ids::epoch_seconds();
    // Given another sweep holding the lease for a minute more
    w.store
        .write(|s| s.leases.insert(SWEEP_LEASE.into(), ("another".into(), now + 60)));
    let report = w.sweep(channel_domain::ids::Timestamp::now(), soon()).await.unwrap();
    assert!(report.skipped, "{report:?}");
    // When its lease has expired (the sweep died), the next takes it, sweeps and gives it back
    w.store
        .write(|s| s.leases.insert(SWEEP_LEASE.into(), ("another".into(), now - 1)));
    let report = w.sweep(channel_domain::ids::Timestamp::now(), soon()).await.unwrap();
    assert!(!report.skipped, "{report:?}");
    assert!(w.store.read(|s| s.leases.is_empty()), "given back");
}

#[tokio::test]
async fn the_schedule_queues_one_turn_per_account_with_something_to_sweep() {
    use crate::sweeper::turns;
    use channel_domain::jobs::SweepTask;
    let w = World::new();
    let base = w.account.clone();
    let with = |settings: serde_json::Value, retention: Option<u32>| {
        let mut a = base.clone();
        a.account_id = channel_domain::ids::AccountId::new();
        a.numbers[0].settings = serde_json::from_value::<channel_domain::automation::Settings>(settings)
            .unwrap()
            .validated()
            .unwrap();
        a.retention_days = retention;
        a
    };
    let timeout = with(serde_json::json!({"auto_close": {"open_after_seconds": 60}}), None);
    let kept = with(serde_json::json!({}), Some(30));
    let neither = with(serde_json::json!({}), None);
    let retired = crate::ports::Retired {
        account_id: channel_domain::ids::AccountId::new(),
        name: "Gone".into(),
        numbers: Vec::new(),
        retention_days: Some(7),
    };
    let kept_by_operator = crate::ports::Retired {
        retention_days: None,
        account_id: channel_domain::ids::AccountId::new(),
        ..retired.clone()
    };
    let minute = crate::sweeper::retired_minute(&retired.account_id);
    let its_minute = channel_domain::ids::Timestamp::parse("2026-12-08T10:00:00Z")
        .unwrap()
        .plus_seconds(60 * i64::from(minute) + 30);
    let queued = turns(
        &[timeout.clone(), neither.clone(), kept.clone()],
        &[retired.clone(), kept_by_operator],
        its_minute,
    );
    // A deleted account's turn comes once an hour, in its minute.
    assert_eq!(
        turns(&[], std::slice::from_ref(&retired), its_minute.plus_seconds(60)),
        [],
        "not in another minute"
    );
    assert_eq!(
        turns(&[], std::slice::from_ref(&retired), its_minute.plus_seconds(3600)).len(),
        1,
        "in its minute of the next hour"
    );
    assert_eq!(
        queued,
        [
            SweepTask::Account {
                account_id: timeout.account_id
            },
            SweepTask::Account {
                account_id: kept.account_id
            },
            SweepTask::Retired {
                account_id: retired.account_id,
                retention_days: 7
            },
        ]
    );
    // The scheduled run queues them and sweeps nothing itself.
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    let id = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let report = w
        .sweeper()
        .schedule(channel_domain::ids::Timestamp::now())
        .await
        .unwrap();
    assert_eq!((report.queued, report.ended), (1, 0));
    assert_eq!(
        w.sweeps.drain(),
        [SweepTask::Account {
            account_id: w.account.account_id.clone()
        }]
    );
    assert_eq!(w.conversation(&id).status, channel_domain::conversation::Status::Open);
}

#[tokio::test]
async fn a_turn_reads_page_after_page_until_none_is_left() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    let many = 2 * crate::sweeper::MAX_PER_ACCOUNT as usize + 50;
    for i in 0..many {
        w.text(&format!("4860100{i:04}"), "hello", &format!("R{i}")).await;
    }
    let later = channel_domain::ids::Timestamp::now().plus_seconds(120);
    let report = w.sweep(later, soon()).await.unwrap();
    assert_eq!(
        (report.read, report.ended, report.unfinished),
        (many, many, false),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_turn_past_its_deadline_ends_nothing_more_and_the_next_turn_goes_on() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    for i in 0..3 {
        w.text(&format!("4860100{i:04}"), "hello", &format!("R{i}")).await;
    }
    let later = channel_domain::ids::Timestamp::now().plus_seconds(120);
    let report = w.sweep(later, std::time::Instant::now()).await.unwrap();
    assert_eq!((report.ended, report.unfinished), (0, true), "{report:?}");
    let report = w.sweep(later, soon()).await.unwrap();
    assert_eq!((report.ended, report.unfinished), (3, false), "{report:?}");
}

#[tokio::test]
async fn a_schedule_whose_queue_refuses_fails_and_gives_its_lease_back() {
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    w.sweeps.unavailable.store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = w.sweeper().schedule(channel_domain::ids::Timestamp::now()).await;
    assert!(
        matches!(failed, Err(crate::sweeper::SweepError::Queue(_))),
        "{failed:?}"
    );
    assert!(w.store.read(|s| s.leases.is_empty()), "given back");
    w.sweeps.unavailable.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        w.sweeper()
            .schedule(channel_domain::ids::Timestamp::now())
            .await
            .unwrap()
            .queued,
        1
    );
}

#[tokio::test]
async fn a_busy_accounts_second_turn_leaves_it_to_the_first_and_the_lease_is_given_back() {
    use crate::sweeper::{busy_lease, MAX_PER_ACCOUNT};
    let w = World::new();
    w.set_settings(serde_json::json!({"auto_close": {"open_after_seconds": 60}}));
    let many = MAX_PER_ACCOUNT as usize + 10;
    for i in 0..many {
        w.text(&format!("4860100{i:04}"), "hello", &format!("R{i}")).await;
    }
    let later = channel_domain::ids::Timestamp::now().plus_seconds(120);
    // Given another turn of the busy account at work (its lease held)
    let lease = busy_lease(&w.account.account_id);
    let until = channel_domain::ids::epoch_seconds() + 60;
    w.store
        .write(|s| s.leases.insert(lease.clone(), ("another".into(), until)));
    // Then this turn ends nothing and leaves it
    let report = w.sweep(later, soon()).await.unwrap();
    assert_eq!((report.ended, report.unfinished), (0, true), "{report:?}");
    // and once it is free, a turn ends them all and gives the lease back.
    w.store.write(|s| s.leases.remove(&lease));
    let report = w.sweep(later, soon()).await.unwrap();
    assert_eq!((report.ended, report.unfinished), (many, false), "{report:?}");
    assert!(w.store.read(|s| s.leases.is_empty()), "given back");
}
