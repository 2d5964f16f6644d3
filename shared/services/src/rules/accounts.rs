use std::time::{Duration, Instant};

use crate::accounts::{AccountsError, NewAccount};
use crate::testkit::harness::*;
use channel_domain::account::AccountError;
use channel_domain::audit::AuditAction;
use channel_domain::telesign::validate::Verdict;
use channel_domain::telesign::{ApiHost, ApiKey, Credentials};

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

fn new_account(number: &str) -> NewAccount {
    NewAccount {
        name: "Second line".into(),
        credentials: Credentials::new("SECOND-CUSTOMER", KEY).unwrap(),
        host: ApiHost::Standard,
        numbers: vec![number_of(number)],
    }
}

/// Creating an account on `number` is refused: why.
async fn refused_create(w: &World, number: &str) -> AccountsError {
    w.accounts()
        .create(&actor(), new_account(number), soon())
        .await
        .unwrap_err()
}

fn number_of(n: &str) -> channel_domain::account::SupportNumber {
    number(&channel_domain::phone::PhoneNumber::parse(n).unwrap())
}

#[tokio::test]
async fn an_account_is_created_with_its_key_in_the_key_store_only() {
    let w = World::new();
    let account = w
        .accounts()
        .create(&actor(), new_account("14255550111"), soon())
        .await
        .unwrap();
    assert!(w.keys.secrets.lock().unwrap().contains_key(&account.secret_name));
    assert_eq!(w.store.read(|s| s.claims.len()), 2);
    assert_eq!(w.accounts().read(&account.account_id).await.unwrap(), account);
    let listed: Vec<_> = w
        .team()
        .seats(&op("o-1"))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.account.account_id)
        .collect();
    assert!(listed.contains(&account.account_id) && listed.contains(&w.account.account_id));
}

#[tokio::test]
async fn refused_credentials_or_telesign_down_store_nothing() {
    let w = World::new();
    *w.gateway.probe_verdict.lock().unwrap() = Some(Verdict::InvalidCredentials);
    let refused = refused_create(&w, "14255550111").await;
    assert!(matches!(refused, AccountsError::InvalidCredentials { .. }));
    *w.gateway.probe_verdict.lock().unwrap() = None;
    let undecided = refused_create(&w, "14255550111").await;
    assert_eq!(undecided, AccountsError::TelesignUnavailable);
    assert_eq!(w.keys.secrets.lock().unwrap().len(), 1);
    assert_eq!(w.store.read(|s| s.accounts.len()), 1);
}

#[tokio::test]
async fn a_number_in_use_leaves_no_secret_behind() {
    let w = World::new();
    let refused = refused_create(&w, w.support.as_str()).await;
    assert_eq!(refused, AccountsError::NumberInUse(w.support.clone()));
    assert_eq!(w.keys.secrets.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_store_outage_changes_nothing() {
    let w = World::new();
    *w.keys.unavailable.lock().unwrap() = true;
    let refused = refused_create(&w, "14255550111").await;
    assert_eq!(refused, AccountsError::KeysUnavailable);
    assert_eq!(w.store.read(|s| s.accounts.len()), 1);
}

#[tokio::test]
async fn a_retried_rotation_keeps_the_old_key_as_the_previous_one() {
    let w = World::new();
    let key = ApiKey::parse(OTHER_KEY).unwrap();
    let first = w
        .accounts()
        .rotate(&actor(), &w.account, key.clone(), Some(600), soon())
        .await
        .unwrap();
    // The client did not see the answer (its record failed, say) and sends the same key again.
    let again = w
        .accounts()
        .rotate(&actor(), &w.account, key, Some(600), soon())
        .await
        .unwrap();
    let stored = w.keys.secrets.lock().unwrap()[&w.account.secret_name].clone();
    assert_eq!(
        (stored.api_key.as_str(), stored.previous_api_key.as_deref()),
        (OTHER_KEY, Some(KEY))
    );
    assert_eq!(again.previous_key_valid_until, first.previous_key_valid_until);
    let rotations = w.store.read(|s| {
        s.audit
            .iter()
            .filter(|e| e.action == channel_domain::audit::AuditAction::KeyRotated)
            .count()
    });
    assert_eq!(
        rotations, 2,
        "each request that rotated (or finished rotating) is recorded"
    );
}

#[tokio::test]
async fn a_rotation_keeps_the_previous_key_for_its_grace_period() {
    let w = World::new();
    let key = ApiKey::parse(OTHER_KEY).unwrap();
    let rotation = w
        .accounts()
        .rotate(&actor(), &w.account, key.clone(), Some(600), soon())
        .await
        .unwrap();
    let stored = w.keys.secrets.lock().unwrap()[&w.account.secret_name].clone();
    assert_eq!(
        (stored.api_key.as_str(), stored.previous_api_key.as_deref()),
        (OTHER_KEY, Some(KEY))
    );
    assert_eq!(
        stored.previous_valid_until,
        Some(rotation.previous_key_valid_until.epoch_seconds())
    );
    assert_eq!(
        rotation.previous_key_valid_until.epoch_seconds() - rotation.rotated_at.epoch_seconds(),
        600
    );
    let too_long = w
        .accounts()
        .rotate(&actor(), &w.account, key, Some(604_801), soon())
        .await
        .unwrap_err();
    assert_eq!(too_long, AccountsError::Invalid(AccountError::InvalidGracePeriod));
}

/// A long code as an operator adds it, with no settings.
fn long_code(number: &str) -> channel_domain::account::NewSupportNumber {
    channel_domain::account::NewSupportNumber {
        number: number.into(),
        kind: channel_domain::account::NumberType::LongCode,
        description: String::new(),
        language: "en-US".into(),
        customers_can_send_attachments: false,
        agents_can_send_attachments: false,
        settings: Default::default(),
    }
}

#[tokio::test]
async fn numbers_are_added_once_and_removed_by_their_owner() {
    let w = World::new();
    let typed = long_code("+1 425 555 0111");
    let added = w
        .accounts()
        .add_number(&actor(), &w.account, typed.clone())
        .await
        .unwrap();
    assert_eq!(added.number.as_str(), "14255550111");
    assert!(matches!(
        w.accounts().add_number(&actor(), &w.account, typed).await,
        Err(AccountsError::NumberInUse(_))
    ));
    w.accounts()
        .remove_number(&actor(), &w.account, &added.number)
        .await
        .unwrap();
    let again = w
        .accounts()
        .remove_number(&actor(), &w.account, &added.number)
        .await
        .unwrap_err();
    assert_eq!(again, AccountsError::NumberNotFound);
}

#[tokio::test]
async fn an_account_takes_fifty_numbers_and_refuses_the_fifty_first() {
    let w = World::new();
    let typed = |n: u32| long_code(&format!("1425555{n:04}"));
    // The world's account has one number; 49 more make fifty.
    // Each addition to the account as read now, as the accounts function reads it.
    let read = || async { w.accounts().read(&w.account.account_id).await.unwrap() };
    for n in 0..49 {
        w.accounts()
            .add_number(&actor(), &read().await, typed(2000 + n))
            .await
            .unwrap();
    }
    let refused = w.accounts().add_number(&actor(), &read().await, typed(3000)).await;
    assert!(
        matches!(
            refused,
            Err(AccountsError::Invalid(
                channel_domain::account::AccountError::TooManyNumbers
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(
        w.accounts().read(&w.account.account_id).await.unwrap().numbers.len(),
        50
    );
}

#[tokio::test]
async fn a_grace_period_of_exactly_seven_days_is_taken() {
    let w = World::new();
    let key = ApiKey::parse(OTHER_KEY).unwrap();
    let rotation = w
        .accounts()
        .rotate(&actor(), &w.account, key, Some(604_800), soon())
        .await
        .unwrap();
    let granted = rotation.previous_key_valid_until.epoch_seconds() - rotation.rotated_at.epoch_seconds();
    assert_eq!(granted, 604_800);
}

#[tokio::test]
async fn the_directory_serves_a_cached_account_until_asked_fresh_or_told_to_forget() {
    use crate::directory::{AccountDirectory, Freshness};
    let w = World::new();
    let accounts = w.accounts();
    let id = w.account.account_id.clone();
    let cached = accounts
        .directory
        .account(&id, Freshness::Cached)
        .await
        .unwrap()
        .unwrap();
    w.store.write(|s| s.accounts.clear());
    assert!(
        accounts
            .directory
            .account(&id, Freshness::Cached)
            .await
            .unwrap()
            .is_some(),
        "served from the cache"
    );
    accounts.directory.forget(&cached);
    assert!(
        accounts
            .directory
            .account(&id, Freshness::Cached)
            .await
            .unwrap()
            .is_none(),
        "forgotten"
    );
    w.store.write(|s| s.accounts.insert(id.clone(), cached.clone()));
    assert!(
        accounts
            .directory
            .account(&id, Freshness::Cached)
            .await
            .unwrap()
            .is_none(),
        "the absence is cached too"
    );
    assert!(
        accounts
            .directory
            .account(&id, Freshness::Fresh)
            .await
            .unwrap()
            .is_some(),
        "fresh reads the store"
    );
}

#[tokio::test]
async fn a_creation_that_times_out_after_committing_is_a_working_account_not_a_half_one() {
    let w = World::new();
    w.store.failing_creations.store(1, std::sync::atomic::Ordering::SeqCst);
    let account = w
        .accounts()
        .create(&actor(), new_account("14255550111"), soon())
        .await
        .unwrap();
    assert!(w.keys.secrets.lock().unwrap().contains_key(&account.secret_name));
    assert_eq!(w.accounts().read(&account.account_id).await.unwrap(), account);
}

#[tokio::test]
async fn a_creation_whose_outcome_stays_unknown_keeps_its_secret_and_one_known_refused_drops_it() {
    let w = World::new();
    w.store
        .failing_creations
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let unknown = refused_create(&w, "14255550111").await;
    assert!(matches!(unknown, AccountsError::Store(_)), "{unknown:?}");
    assert_eq!(
        w.keys.secrets.lock().unwrap().len(),
        2,
        "the secret of a maybe-account stays"
    );

    w.store.failing_creations.store(0, std::sync::atomic::Ordering::SeqCst);
    let in_use = refused_create(&w, w.support.as_str()).await;
    assert!(matches!(in_use, AccountsError::NumberInUse(_)));
    assert_eq!(
        w.keys.secrets.lock().unwrap().len(),
        2,
        "no secret of a refused creation"
    );
}

#[tokio::test]
async fn a_second_account_of_one_customer_id_is_refused_and_its_key_goes() {
    let w = World::new();
    let mut same = new_account("14255550111");
    same.credentials = Credentials::new(CUSTOMER_ID, KEY).unwrap();
    let refused = w.accounts().create(&actor(), same, soon()).await.unwrap_err();
    assert_eq!(refused, AccountsError::CustomerIdInUse(CUSTOMER_ID.into()));
    assert_eq!(w.store.read(|s| s.accounts.len()), 1);
    assert_eq!(w.keys.secrets.lock().unwrap().len(), 1, "only the first account's key");
}

#[tokio::test]
async fn an_account_is_renamed_and_given_a_retention_with_its_entry() {
    let w = World::new();
    let changed = w
        .accounts()
        .change(&actor(), &w.account, Some("Renamed".into()), Some(Some(90)))
        .await
        .unwrap();
    assert_eq!((changed.name.as_str(), changed.retention_days), ("Renamed", Some(90)));
    let kept = w.accounts().change(&actor(), &changed, None, None).await.unwrap();
    assert_eq!((kept.name.as_str(), kept.retention_days), ("Renamed", Some(90)));
    let forever = w.accounts().change(&actor(), &kept, None, Some(None)).await.unwrap();
    assert_eq!(forever.retention_days, None);
    assert_eq!(w.accounts().read(&w.account.account_id).await.unwrap(), forever);
    let entries = w.store.read(|s| s.audit.clone());
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == AuditAction::AccountChanged)
            .count(),
        3
    );
}

#[tokio::test]
async fn a_deleted_account_frees_its_numbers_and_customer_id_and_schedules_its_key() {
    let w = World::new();
    w.accounts().delete(&actor(), &w.account, false).await.unwrap();
    assert_eq!(
        w.accounts().read(&w.account.account_id).await.unwrap_err(),
        AccountsError::NotFound
    );
    assert!(
        w.keys.secrets.lock().unwrap().is_empty(),
        "the key is scheduled for deletion"
    );
    let mut again = new_account(w.support.as_str());
    again.credentials = Credentials::new(CUSTOMER_ID, KEY).unwrap();
    let created = w.accounts().create(&actor(), again, soon()).await.unwrap();
    assert_eq!(created.numbers[0].number, w.support, "the number is free at once");
    let deleted = w.store.read(|s| {
        s.audit
            .iter()
            .filter(|e| e.action == AuditAction::AccountDeleted)
            .count()
    });
    assert_eq!(deleted, 1);
    assert_eq!(
        w.accounts().delete(&actor(), &w.account, false).await.unwrap_err(),
        AccountsError::NotFound,
        "a second deletion finds nothing"
    );
}

#[tokio::test]
async fn a_deleted_account_is_retired_with_its_retention_the_default_or_none_when_kept() {
    use crate::ports::RetiredAccounts;
    let days = |w: &World| {
        let retired = w.store.read(|s| s.retired.get(&w.account.account_id).cloned());
        retired.expect("retired").retention_days
    };
    // Without a retention of its own, the default.
    let w = World::new();
    w.accounts().delete(&actor(), &w.account, false).await.unwrap();
    assert_eq!(days(&w), Some(channel_domain::account::DELETED_ACCOUNT_RETENTION_DAYS));
    let retired = w
        .store
        .retired_account(&w.account.account_id)
        .await
        .unwrap()
        .expect("retired");
    assert_eq!(retired.numbers, std::slice::from_ref(&w.support), "with its numbers");
    // Its own, when it kept one.
    let w = World::new();
    let mut account = w.account.clone();
    account.retention_days = Some(7);
    w.accounts().delete(&actor(), &account, false).await.unwrap();
    assert_eq!(days(&w), Some(7));
    // None when the operator keeps the conversations.
    let w = World::new();
    w.accounts().delete(&actor(), &w.account, true).await.unwrap();
    assert_eq!(days(&w), None);
    let entry = w.store.read(|s| s.audit.last().cloned()).expect("entry");
    assert_eq!(entry.detail["retention_days"], serde_json::Value::Null);
}
