//! The contract of each store port: what every implementation must do, written once and run
//! against the in-memory store (`MemoryStore`, with the rules' tests) and against DynamoDB
//! (`tests/ports.rs`, on DynamoDB Local), so that the fakes the rules are tested on cannot drift
//! from the store production writes to.
//!
//! Each suite makes its own account, numbers and users (fresh ids, random numbers), so the
//! suites run side by side on one table. A read the port documents as eventually consistent (an
//! index) is polled for a few seconds; every other read is expected at once.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::ports::*;
use channel_domain::access::{Role, UserId};
use channel_domain::account::{Account, NumberType, SupportNumber};
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::automation::ConsentEffect;
use channel_domain::canned::CannedResponse;
use channel_domain::conversation::{Author, Consent, Conversation, Direction, Kind, Message, Status, Thread};
use channel_domain::ids::{AccountId, CannedResponseId, ConversationId, IdempotencyKey, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::sms::analyse;
use channel_domain::telesign::{ApiHost, MessageState};

/// Every store port: what both the in-memory store and the DynamoDB adapter implement.
pub trait Store:
    ConversationMoves
    + ConversationNotes
    + ConversationReads
    + IdleConversations
    + InboundLog
    + OutboundLog
    + IdempotencyLog
    + ReportLog
    + Outbox
    + AccountStore
    + RetiredAccounts
    + Leases
    + Members
    + CannedResponses
    + AuditLog
    + CustomerRecords
    + Connections
{
}

impl<T> Store for T where
    T: ConversationMoves
        + ConversationNotes
        + ConversationReads
        + IdleConversations
        + InboundLog
        + OutboundLog
        + IdempotencyLog
        + ReportLog
        + Outbox
        + AccountStore
        + RetiredAccounts
        + Leases
        + Members
        + CannedResponses
        + AuditLog
        + CustomerRecords
        + Connections
{
}

/// Runs one test per store port against the store `$store` makes (an expression, evaluated in
/// each test, that may `.await`).
#[macro_export]
macro_rules! port_contract_tests {
    ($store:expr) => {
        $crate::port_contract_tests!(@each $store;
            leases, accounts, retired_accounts, members, canned_responses, audit_log, inbound_log,
            conversation_moves, conversation_notes, conversation_reads, outbound_log, report_log, outbox,
            idle_conversations, customer_records, connections);
    };
    (@each $store:expr; $($port:ident),*) => {
        $(
            #[tokio::test]
            async fn $port() {
                let store = $store;
                $crate::testkit::contracts::$port(&store).await;
            }
        )*
    };
}

/// A number nobody else's test uses (a random US number in 425).
pub fn fresh_number() -> PhoneNumber {
    let n: u32 = rand::rng().random_range(2_000_000..10_000_000);
    PhoneNumber::parse(&format!("1425{n}")).expect("a valid number")
}

/// Now, to the millisecond (what every store keeps).
fn now() -> Timestamp {
    Timestamp::from_epoch_millis(channel_domain::ids::epoch_millis() as i64).expect("now")
}

/// `s` seconds from now.
fn later(s: i64) -> Timestamp {
    Timestamp::from_epoch_millis(now().epoch_millis() + s * 1000).expect("a time")
}

fn user(id: &str) -> UserId {
    UserId::parse(&format!("{id}-{}", channel_domain::ids::new_id())).expect("a user id")
}

fn entry(action: AuditAction, account: &AccountId, target: &str) -> AuditEntry {
    AuditEntry::new(&Actor::System, action, account, target)
}

fn support(n: &PhoneNumber) -> SupportNumber {
    SupportNumber {
        number: n.clone(),
        kind: NumberType::LongCode,
        description: String::new(),
        language: "en-US".into(),
        customers_can_send_attachments: false,
        agents_can_send_attachments: false,
        settings: Default::default(),
    }
}

/// A new account of one support number (not stored).
pub fn new_account() -> Account {
    let account_id = AccountId::new();
    Account {
        secret_name: format!("contract/{account_id}"),
        account_id,
        name: "Contract".into(),
        customer_id: channel_domain::ids::new_id().to_uppercase(),
        api_host: ApiHost::Standard,
        numbers: vec![support(&fresh_number())],
        created_at: now(),
        retention_days: None,
    }
}

/// A stored account of one support number.
async fn stored_account<S: AccountStore>(s: &S) -> Account {
    let a = new_account();
    let created = s
        .create_account(
            &a,
            &entry(AuditAction::AccountCreated, &a.account_id, a.account_id.as_str()),
        )
        .await
        .expect("the store answers");
    assert_eq!(created, Claim::Done, "a new account is created");
    a
}

fn thread_of(a: &Account, customer: &PhoneNumber) -> Thread {
    Thread {
        account_id: a.account_id.clone(),
        support_number: a.numbers[0].number.clone(),
        customer_number: customer.clone(),
    }
}

fn reference() -> String {
    channel_domain::ids::new_id().to_uppercase()
}

/// A customer's first message, creating their conversation (not written).
fn first_message(thread: &Thread, text: &str) -> (InboundRecord, Conversation) {
    let message = Message::inbound(text, &analyse(text), &reference());
    let mut conversation = Conversation::first_contact(thread);
    conversation.created_at = now();
    conversation.last_activity_at = conversation.created_at;
    conversation.customer_wrote(conversation.created_at);
    conversation.last_message_preview = Some(text.into());
    let record = InboundRecord {
        thread: thread.clone(),
        reference_id: message.telesign_reference_id.clone().unwrap_or_else(reference),
        message,
        raw: format!("{{\"text\":\"{text}\"}}"),
        conversation: ConversationWrite::Create(conversation.clone()),
        consent: None,
        automated: Vec::new(),
        away_for: None,
        lift_opt_out: None,
    };
    (record, conversation)
}

/// A customer's conversation, stored by their first message.
async fn stored_conversation<S: Store>(s: &S, a: &Account) -> Conversation {
    let (record, conversation) = first_message(&thread_of(a, &fresh_number()), "hello");
    let written = s.record_inbound(&record).await.expect("the store answers");
    assert_eq!(written, InboundWrite::Stored, "a first message is stored");
    conversation
}

/// A move of `c` from its status to `to`, keeping its holder.
fn move_of(c: &Conversation, to: Status) -> Move {
    Move {
        conversation_id: c.conversation_id.clone(),
        thread: c.thread(),
        from: c.status,
        to,
        at: later(1),
        preview: None,
        opted_out: None,
        holder: Holder::Keep,
        guard: Guard::default(),
        audit: None,
        away_for: None,
        wrote: None,
    }
}

/// Polls `check` for up to ten seconds: what an eventually consistent index shows.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not so after ten seconds");
}

/// Leases: one holder until it expires; a release only by the holder.
pub async fn leases<S: Leases>(s: &S) {
    let name = format!("contract-{}", channel_domain::ids::new_id());
    let until = channel_domain::ids::epoch_seconds() + 60;
    assert!(s.acquire(&name, "a", until).await.unwrap(), "a free lease is taken");
    assert!(
        !s.acquire(&name, "b", until).await.unwrap(),
        "a held lease is refused to another"
    );
    assert!(
        !s.acquire(&name, "a", until).await.unwrap(),
        "and to its holder until released"
    );
    s.release(&name, "b").await.unwrap();
    assert!(
        !s.acquire(&name, "b", until).await.unwrap(),
        "only the holder releases it"
    );
    s.release(&name, "a").await.unwrap();
    assert!(s.acquire(&name, "b", until).await.unwrap(), "a released lease is free");
    let expired = format!("contract-{}", channel_domain::ids::new_id());
    let past = channel_domain::ids::epoch_seconds() - 5;
    assert!(s.acquire(&expired, "a", past).await.unwrap());
    assert!(
        s.acquire(&expired, "b", until).await.unwrap(),
        "an expired lease is free"
    );
}

/// Accounts: created once with their claims; numbers added, changed while as read, removed.
pub async fn accounts<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let audit = |action| entry(action, &a.account_id, "t");
    assert_eq!(
        s.account(&a.account_id).await.unwrap().as_ref(),
        Some(&a),
        "read back as written"
    );
    assert_eq!(
        s.create_account(&a, &audit(AuditAction::AccountCreated)).await.unwrap(),
        Claim::Done,
        "the same creation again (a retry after a timeout) is done"
    );
    let mut rival = new_account();
    rival.numbers = a.numbers.clone();
    let taken = s
        .create_account(&rival, &audit(AuditAction::AccountCreated))
        .await
        .unwrap();
    assert_eq!(
        taken,
        Claim::NumberInUse(a.numbers[0].number.clone()),
        "a number is one account's"
    );
    let mut rival = new_account();
    rival.customer_id = a.customer_id.clone();
    let taken = s
        .create_account(&rival, &audit(AuditAction::AccountCreated))
        .await
        .unwrap();
    assert_eq!(
        taken,
        Claim::CustomerIdInUse(a.customer_id.clone()),
        "a customer id is one account's"
    );
    assert_eq!(
        s.account(&rival.account_id).await.unwrap(),
        None,
        "a refused creation writes nothing"
    );
    assert!(
        s.accounts().await.unwrap().iter().any(|x| x.account_id == a.account_id),
        "listed"
    );

    let extra = support(&fresh_number());
    assert_eq!(
        s.add_number(&a.account_id, &extra, &audit(AuditAction::NumberAdded))
            .await
            .unwrap(),
        Claim::Done
    );
    let again = s
        .add_number(&a.account_id, &extra, &audit(AuditAction::NumberAdded))
        .await
        .unwrap();
    assert_eq!(
        again,
        Claim::NumberInUse(extra.number.clone()),
        "a number is claimed once"
    );
    let added = audit(AuditAction::NumberAdded);
    let nobody = s.add_number(&AccountId::new(), &support(&fresh_number()), &added).await;
    assert_eq!(nobody.unwrap(), Claim::NoAccount, "no account, no number");
    let stored = s.account(&a.account_id).await.unwrap().unwrap();
    assert!(
        stored.numbers.iter().any(|n| n == &extra),
        "the account lists its new number"
    );

    let mut changed = extra.clone();
    changed.description = "Sales".into();
    let numbered = audit(AuditAction::NumberChanged);
    let change = s.change_number(&a.account_id, &extra, &changed, &numbered).await;
    assert!(change.unwrap(), "a change of the settings as read applies");
    let stale = s.change_number(&a.account_id, &extra, &changed, &numbered).await;
    assert!(!stale.unwrap(), "a change of settings changed meanwhile does not");
    let stored = s.account(&a.account_id).await.unwrap().unwrap();
    assert!(stored.numbers.iter().any(|n| n == &changed));
    let read = |name: &str| Some((name.to_owned(), changed.clone()));
    let callback = thread_of(&a, &fresh_number());
    let callback = Thread {
        support_number: changed.number.clone(),
        ..callback
    };
    assert_eq!(
        s.thread_state(&callback, "no-tag").await.unwrap().number,
        read(&a.name),
        "a callback reads the settings as changed, at once"
    );

    let other = AccountId::new();
    assert!(
        !s.remove_number(&other, &extra.number, &audit(AuditAction::NumberRemoved))
            .await
            .unwrap(),
        "not its own"
    );
    assert!(s
        .remove_number(&a.account_id, &extra.number, &audit(AuditAction::NumberRemoved))
        .await
        .unwrap());
    assert!(!s
        .remove_number(&a.account_id, &extra.number, &audit(AuditAction::NumberRemoved))
        .await
        .unwrap());
    let mut reuse = new_account();
    reuse.numbers = vec![extra.clone()];
    let reused = s
        .create_account(&reuse, &audit(AuditAction::AccountCreated))
        .await
        .unwrap();
    assert_eq!(reused, Claim::Done, "a removed number is free for another account");

    let rename = AccountChange {
        account_id: a.account_id.clone(),
        name: "Renamed".into(),
        retention_days: Some(30),
    };
    assert!(s
        .change_account(&rename, &audit(AuditAction::AccountChanged))
        .await
        .unwrap());
    let stored = s.account(&a.account_id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.retention_days), ("Renamed", Some(30)));
    assert!(s
        .record_rotation(&a.account_id, &audit(AuditAction::KeyRotated))
        .await
        .unwrap());
    s.stamp_keys(&a.account_id, 7).await.unwrap();
    assert_eq!(
        s.key_stamp(&a.account_id).await.unwrap(),
        Some(7),
        "the keys' stamp read back"
    );
    let state = s.thread_state(&thread_of(&a, &fresh_number()), "no-tag").await.unwrap();
    assert_eq!(
        state.key_version,
        Some(7),
        "a callback reads the stamp as written, at once"
    );
    assert_eq!(
        state.number.map(|(name, _)| name).as_deref(),
        Some("Renamed"),
        "and the name as changed"
    );

    let retired = Retired::of(&stored, false);
    assert!(s
        .delete_account(&stored, &retired, &audit(AuditAction::AccountDeleted))
        .await
        .unwrap());
    assert_eq!(s.account(&a.account_id).await.unwrap(), None, "deleted");
    assert!(
        !s.delete_account(&stored, &retired, &audit(AuditAction::AccountDeleted))
            .await
            .unwrap(),
        "once"
    );
    assert!(
        !s.record_rotation(&a.account_id, &audit(AuditAction::KeyRotated))
            .await
            .unwrap(),
        "gone"
    );
    assert!(
        !s.change_account(&rename, &audit(AuditAction::AccountChanged))
            .await
            .unwrap(),
        "gone"
    );
    let mut successor = new_account();
    successor.customer_id = a.customer_id.clone();
    successor.numbers = a.numbers.clone();
    let claimed = s
        .create_account(&successor, &audit(AuditAction::AccountCreated))
        .await
        .unwrap();
    assert_eq!(claimed, Claim::Done, "a deleted account's claims are free again");
}

/// Retired accounts: a deleted account is retired, with its numbers and the retention it kept
/// (its own, else the default, or none when the operator kept its conversations), until
/// forgotten.
pub async fn retired_accounts<S: Store>(s: &S) {
    let mut a = stored_account(s).await;
    a.retention_days = Some(14);
    let change = AccountChange {
        account_id: a.account_id.clone(),
        name: a.name.clone(),
        retention_days: Some(14),
    };
    assert!(s
        .change_account(&change, &entry(AuditAction::AccountChanged, &a.account_id, "t"))
        .await
        .unwrap());
    assert!(s
        .delete_account(
            &a,
            &Retired::of(&a, false),
            &entry(AuditAction::AccountDeleted, &a.account_id, "t")
        )
        .await
        .unwrap());
    let id = a.account_id.clone();
    let numbers: Vec<PhoneNumber> = a.numbers.iter().map(|n| n.number.clone()).collect();
    let found = s.retired_account(&id).await.unwrap().expect("retired");
    assert_eq!(
        (found.retention_days, found.numbers, found.name.as_str()),
        (Some(14), numbers, "Contract"),
        "read at once, with its numbers"
    );
    eventually("a deleted account is listed as retired", || async {
        s.retired()
            .await
            .unwrap()
            .iter()
            .any(|r| r.account_id == id && r.retention_days == Some(14))
    })
    .await;
    s.forget_retired(&id).await.unwrap();
    assert_eq!(s.retired_account(&id).await.unwrap(), None, "forgotten");
    eventually("a forgotten one is not listed", || async {
        !s.retired().await.unwrap().iter().any(|r| r.account_id == id)
    })
    .await;
    for (keep, retention) in [
        (false, Some(channel_domain::account::DELETED_ACCOUNT_RETENTION_DAYS)),
        (true, None),
    ] {
        let plain = stored_account(s).await;
        assert!(s
            .delete_account(
                &plain,
                &Retired::of(&plain, keep),
                &entry(AuditAction::AccountDeleted, &plain.account_id, "t")
            )
            .await
            .unwrap());
        let found = s.retired_account(&plain.account_id).await.unwrap().expect("retired");
        assert_eq!(found.retention_days, retention, "kept: {keep}");
    }
}

/// Members: put while the account exists, read, paged by user id, removed once, gone with it.
pub async fn members<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let audit = || entry(AuditAction::MemberChanged, &a.account_id, "u");
    let mut users: Vec<UserId> = (0..5).map(|i| user(&format!("m{i}"))).collect();
    users.sort();
    for (i, u) in users.iter().enumerate() {
        let m = Member {
            account_id: a.account_id.clone(),
            user_id: u.clone(),
            role: if i == 0 { Role::Supervisor } else { Role::Agent },
            display_name: (i == 1).then(|| "Ada".to_owned()),
            added_at: now(),
        };
        assert_eq!(s.put_member(&m, &audit()).await.unwrap(), Committed::Done);
    }
    let first = s.member(&a.account_id, &users[0]).await.unwrap().expect("a member");
    assert_eq!(first.role, Role::Supervisor);
    let second = s.member(&a.account_id, &users[1]).await.unwrap().expect("a member");
    assert_eq!(second.display_name.as_deref(), Some("Ada"));
    let page = s.members(&a.account_id, 2, None).await.unwrap();
    let ids: Vec<&UserId> = page.items.iter().map(|m| &m.user_id).collect();
    assert_eq!(ids, vec![&users[0], &users[1]], "by user id, `limit` to a page");
    let cursor = page.next_cursor.expect("more follow");
    let page = s.members(&a.account_id, 2, Some(&cursor)).await.unwrap();
    assert_eq!(
        page.items.iter().map(|m| &m.user_id).collect::<Vec<_>>(),
        vec![&users[2], &users[3]]
    );
    let cursor = page.next_cursor.expect("more follow");
    let last = s.members(&a.account_id, 2, Some(&cursor)).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.next_cursor, None, "the last page says so");
    let whole = s.members(&a.account_id, 5, None).await.unwrap();
    assert_eq!(
        (whole.items.len(), whole.next_cursor),
        (5, None),
        "a full last page has no cursor"
    );
    assert!(matches!(
        s.members(&a.account_id, 2, Some("not-a-cursor")).await,
        Err(ReadError::Cursor(_))
    ));

    let promoted = Member {
        role: Role::Supervisor,
        ..second.clone()
    };
    assert_eq!(
        s.put_member(&promoted, &audit()).await.unwrap(),
        Committed::Done,
        "a role changed"
    );
    assert_eq!(
        s.member(&a.account_id, &users[1]).await.unwrap().unwrap().role,
        Role::Supervisor
    );
    let u = users[1].clone();
    let account = a.account_id.clone();
    eventually("a user's memberships list the account", || async {
        s.memberships(&u).await.unwrap().iter().any(|m| m.account_id == account)
    })
    .await;
    let removal = entry(AuditAction::MemberRemoved, &a.account_id, "u");
    assert!(s.remove_member(&a.account_id, &users[1], &removal).await.unwrap());
    assert!(
        !s.remove_member(&a.account_id, &users[1], &removal).await.unwrap(),
        "once"
    );
    assert_eq!(s.member(&a.account_id, &users[1]).await.unwrap(), None);

    let orphan = Member {
        account_id: AccountId::new(),
        ..first.clone()
    };
    assert_eq!(
        s.put_member(&orphan, &audit()).await.unwrap(),
        Committed::Lost,
        "no account, no member"
    );
    assert!(s
        .delete_account(
            &a,
            &Retired::of(&a, false),
            &entry(AuditAction::AccountDeleted, &a.account_id, "t")
        )
        .await
        .unwrap());
    assert_eq!(
        s.member(&a.account_id, &users[0]).await.unwrap(),
        None,
        "an account's members go with it"
    );
}

fn canned(a: &Account, title: &str) -> CannedResponse {
    CannedResponse {
        canned_response_id: CannedResponseId::new(),
        account_id: a.account_id.clone(),
        title: title.into(),
        text: format!("{title}: thank you"),
        created_at: now(),
        updated_at: now(),
    }
}

/// Canned responses: new ones while the account exists and has room, changes while they exist.
pub async fn canned_responses<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let audit = || entry(AuditAction::CannedResponseChanged, &a.account_id, "c");
    let hello = canned(&a, "Hello");
    assert_eq!(
        s.put_canned_response(&hello, true, &audit()).await.unwrap(),
        CannedWrite::Done
    );
    let read = s
        .canned_response(&a.account_id, &hello.canned_response_id)
        .await
        .unwrap();
    assert_eq!(read.as_ref(), Some(&hello), "read back as written");
    let mut changed = hello.clone();
    changed.text = "Hi there".into();
    changed.updated_at = later(1);
    assert_eq!(
        s.put_canned_response(&changed, false, &audit()).await.unwrap(),
        CannedWrite::Done
    );
    let listed = s.canned_responses(&a.account_id).await.unwrap();
    assert_eq!(listed, vec![changed.clone()], "one, as changed");
    let ghost = canned(&a, "Ghost");
    assert_eq!(
        s.put_canned_response(&ghost, false, &audit()).await.unwrap(),
        CannedWrite::Missing,
        "no change of nothing"
    );
    let mut orphan = canned(&a, "Orphan");
    orphan.account_id = AccountId::new();
    assert_eq!(
        s.put_canned_response(&orphan, true, &audit()).await.unwrap(),
        CannedWrite::Missing,
        "no account"
    );
    let removal = entry(AuditAction::CannedResponseDeleted, &a.account_id, "c");
    assert!(s
        .delete_canned_response(&a.account_id, &hello.canned_response_id, &removal)
        .await
        .unwrap());
    assert!(
        !s.delete_canned_response(&a.account_id, &hello.canned_response_id, &removal)
            .await
            .unwrap(),
        "once"
    );
    assert!(s.canned_responses(&a.account_id).await.unwrap().is_empty());

    let max = channel_domain::canned::MAX_PER_ACCOUNT;
    for i in 0..max {
        let r = canned(&a, &format!("R{i:03}"));
        assert_eq!(
            s.put_canned_response(&r, true, &audit()).await.unwrap(),
            CannedWrite::Done,
            "{i}"
        );
    }
    let over = canned(&a, "Over");
    assert_eq!(
        s.put_canned_response(&over, true, &audit()).await.unwrap(),
        CannedWrite::Full,
        "at most {max}"
    );
    let first = s.canned_responses(&a.account_id).await.unwrap()[0].clone();
    assert!(s
        .delete_canned_response(&a.account_id, &first.canned_response_id, &removal)
        .await
        .unwrap());
    assert_eq!(
        s.put_canned_response(&over, true, &audit()).await.unwrap(),
        CannedWrite::Done,
        "room again"
    );
}

/// The audit trail: every change's entry, newest first, in pages.
pub async fn audit_log<S: Store>(s: &S) {
    let a = stored_account(s).await;
    for i in 0..4 {
        let m = Member {
            account_id: a.account_id.clone(),
            user_id: user(&format!("a{i}")),
            role: Role::Agent,
            display_name: None,
            added_at: now(),
        };
        let e = entry(AuditAction::MemberChanged, &a.account_id, &format!("entry-{i}"));
        assert_eq!(s.put_member(&m, &e).await.unwrap(), Committed::Done);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let page = s.audit(&a.account_id, 3, None).await.unwrap();
    let targets: Vec<&str> = page.items.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["entry-3", "entry-2", "entry-1"], "newest first");
    let rest = s.audit(&a.account_id, 3, page.next_cursor.as_deref()).await.unwrap();
    let targets: Vec<&str> = rest.items.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(
        targets,
        ["entry-0", a.account_id.as_str()],
        "then the older, the creation last"
    );
    assert_eq!(rest.next_cursor, None);
    let other = s.audit(&AccountId::new(), 10, None).await.unwrap();
    assert!(other.items.is_empty(), "an account's own entries only");
    assert!(matches!(
        s.audit(&a.account_id, 3, Some("bogus")).await,
        Err(ReadError::Cursor(_))
    ));
}

/// Inbound messages: a reference once, a conversation created once per thread, the thread's
/// state read back.
pub async fn inbound_log<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let thread = thread_of(&a, &fresh_number());
    let before = s.thread_state(&thread, "no-tag").await.unwrap();
    assert_eq!(before.live, None);
    assert_eq!(before.number_owner.as_ref(), Some(&a.account_id), "the number's owner");
    assert_eq!(
        before.number.as_ref().map(|(name, n)| (name.as_str(), n)),
        Some(("Contract", &a.numbers[0]))
    );
    assert!(!before.opted_out);
    let (record, conversation) = first_message(&thread, "hello");
    assert_eq!(s.record_inbound(&record).await.unwrap(), InboundWrite::Stored);
    assert_eq!(
        s.record_inbound(&record).await.unwrap(),
        InboundWrite::Duplicate,
        "a reference once"
    );
    let (rival, _) = first_message(&thread, "again");
    assert_eq!(
        s.record_inbound(&rival).await.unwrap(),
        InboundWrite::Lost,
        "one live conversation a thread"
    );
    let state = s.thread_state(&thread, "no-tag").await.unwrap();
    assert_eq!(state.live, Some((conversation.conversation_id.clone(), Status::Open)));
    let stored = s
        .conversation(&conversation.conversation_id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.status, Status::Open);
    assert!(stored.needs_reply, "the customer wrote");
    let transcript = s
        .transcript(&conversation.conversation_id, Order::Oldest, 10, None)
        .await
        .unwrap()
        .unwrap();
    let messages = transcript.messages.unwrap_or_default();
    assert_eq!(messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["hello"]);

    // A STOP: the ledger, the consent item as read, the customer opted out.
    let (mut stop, _) = first_message(&thread, "STOP");
    stop.conversation = ConversationWrite::Move(move_of(&stored, Status::Open));
    stop.consent = Some(ConsentWrite {
        consent: Consent::OptOut,
        order: format!("{:020}-{}", channel_domain::ids::epoch_millis(), stop.reference_id),
        effect: ConsentEffect::Changed(Consent::OptOut),
        read: state.consent_read.clone(),
        was_opted_out: false,
        change: None,
    });
    assert_eq!(s.record_inbound(&stop).await.unwrap(), InboundWrite::Stored);
    let after = s.thread_state(&thread, "no-tag").await.unwrap();
    assert!(after.opted_out, "opted out");
    let order = stop.consent.as_ref().map(|c| c.order.clone());
    assert_eq!(after.consent_read, Some(order), "the consent item as written");
    let (mut stale, _) = first_message(&thread, "START");
    stale.conversation = ConversationWrite::Move(move_of(&stored, Status::Open));
    stale.consent = Some(ConsentWrite {
        consent: Consent::OptIn,
        order: "00000000000000000001-X".into(),
        effect: ConsentEffect::Changed(Consent::OptIn),
        read: state.consent_read,
        was_opted_out: false,
        change: None,
    });
    assert_eq!(
        s.record_inbound(&stale).await.unwrap(),
        InboundWrite::Lost,
        "consent changed since it was read"
    );
    assert!(
        s.thread_state(&thread, "no-tag").await.unwrap().opted_out,
        "still opted out"
    );
}

/// Moves: on the status read, and on every guard.
pub async fn conversation_moves<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let c = stored_conversation(s, &a).await;
    let agent = user("agent");
    let m = Member {
        account_id: a.account_id.clone(),
        user_id: agent.clone(),
        role: Role::Agent,
        display_name: None,
        added_at: now(),
    };
    assert_eq!(
        s.put_member(&m, &entry(AuditAction::MemberChanged, &a.account_id, "u"))
            .await
            .unwrap(),
        Committed::Done
    );

    let mut stale = move_of(&c, Status::Active);
    stale.from = Status::Active;
    assert_eq!(
        s.apply_move(&stale).await.unwrap(),
        Committed::Lost,
        "not from a status it is not in"
    );
    let stranger = user("stranger");
    let mut take = move_of(&c, Status::Active);
    take.holder = Holder::To(stranger.clone(), "Stranger".into());
    take.guard.member = Some(stranger);
    assert_eq!(
        s.apply_move(&take).await.unwrap(),
        Committed::Lost,
        "not to someone who is not a member"
    );
    let mut take = move_of(&c, Status::Active);
    take.holder = Holder::To(agent.clone(), "Agent".into());
    take.guard = Guard {
        holder_read: Some(None),
        member: Some(agent.clone()),
        activity_read: Some(c.last_activity_at),
    };
    take.audit = Some(entry(
        AuditAction::ConversationAccepted,
        &a.account_id,
        c.conversation_id.as_str(),
    ));
    assert_eq!(s.apply_move(&take).await.unwrap(), Committed::Done);
    let taken = s.conversation(&c.conversation_id).await.unwrap().unwrap();
    assert_eq!(
        (taken.status, taken.assigned_agent.as_deref()),
        (Status::Active, Some(agent.as_str()))
    );
    assert_eq!(taken.assigned_agent_name.as_deref(), Some("Agent"));
    assert_eq!(taken.last_activity_at, take.at);

    let mut again = take.clone();
    again.from = Status::Active;
    again.guard.holder_read = Some(None);
    assert_eq!(
        s.apply_move(&again).await.unwrap(),
        Committed::Lost,
        "not while someone else holds it"
    );
    let mut idle_end = move_of(&taken, Status::Closed);
    idle_end.guard.activity_read = Some(c.last_activity_at);
    assert_eq!(
        s.apply_move(&idle_end).await.unwrap(),
        Committed::Lost,
        "not after activity since it was read"
    );
    let mut close = move_of(&taken, Status::Closed);
    close.guard.holder_read = Some(Some(agent.clone()));
    close.holder = Holder::Nobody;
    assert_eq!(s.apply_move(&close).await.unwrap(), Committed::Done);
    let closed = s.conversation(&c.conversation_id).await.unwrap().unwrap();
    assert_eq!((closed.status, closed.assigned_agent), (Status::Closed, None));
    let state = s.thread_state(&c.thread(), "no-tag").await.unwrap();
    assert_eq!(state.live, None, "a closed conversation leaves its thread free");
    let (record, _) = first_message(&c.thread(), "back again");
    assert_eq!(
        s.record_inbound(&record).await.unwrap(),
        InboundWrite::Stored,
        "a new conversation"
    );
}

/// Notes: while the conversation is open to them and held as read.
pub async fn conversation_notes<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let c = stored_conversation(s, &a).await;
    let author = Author {
        user_id: user("sup"),
        name: "Sup".into(),
    };
    let note = |holder_read: Option<&str>| Note {
        conversation_id: c.conversation_id.clone(),
        account_id: a.account_id.clone(),
        message: Message::note("call them back", author.clone()),
        holder_read: holder_read.map(|h| UserId::parse(h).expect("a user id")),
        audit: entry(
            AuditAction::ConversationAssigned,
            &a.account_id,
            c.conversation_id.as_str(),
        ),
    };
    assert_eq!(
        s.write_note(&note(Some("someone"))).await.unwrap(),
        Committed::Lost,
        "held as read"
    );
    assert_eq!(s.write_note(&note(None)).await.unwrap(), Committed::Done);
    let t = s
        .transcript(&c.conversation_id, Order::Oldest, 10, None)
        .await
        .unwrap()
        .unwrap();
    let directions: Vec<Direction> = t.messages.unwrap_or_default().iter().map(|m| m.direction).collect();
    assert_eq!(directions, [Direction::Inbound, Direction::Note]);
    let mut close = move_of(&c, Status::Closed);
    close.holder = Holder::Nobody;
    assert_eq!(s.apply_move(&close).await.unwrap(), Committed::Done);
    assert_eq!(
        s.write_note(&note(None)).await.unwrap(),
        Committed::Lost,
        "not on a closed conversation"
    );
    let mut gone = note(None);
    gone.conversation_id = ConversationId::new();
    assert_eq!(s.write_note(&gone).await.unwrap(), Committed::Lost, "not on nothing");
}

/// Reads: transcripts in pages both ways; lists by status and holder, newest activity first;
/// counts (the lists and counts come from indexes).
pub async fn conversation_reads<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let c = stored_conversation(s, &a).await;
    for i in 0..4 {
        let text = format!("more {i}");
        let (mut r, _) = first_message(&c.thread(), &text);
        let mut m = move_of(&c, Status::Open);
        m.at = later(i + 1);
        m.wrote = Some(Writer::Customer);
        r.conversation = ConversationWrite::Move(m);
        assert_eq!(s.record_inbound(&r).await.unwrap(), InboundWrite::Stored);
    }
    let page = s
        .transcript(&c.conversation_id, Order::Oldest, 2, None)
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<String> = page
        .messages
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["hello", "more 0"]);
    let next = s
        .transcript(&c.conversation_id, Order::Oldest, 2, page.next_cursor.as_deref())
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<String> = next.messages.unwrap_or_default().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["more 1", "more 2"]);
    let newest = s
        .transcript(&c.conversation_id, Order::Newest, 2, None)
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<String> = newest
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["more 3", "more 2"]);
    let bad = s.transcript(&c.conversation_id, Order::Oldest, 2, Some("bogus")).await;
    assert!(matches!(bad, Err(ReadError::Cursor(_))), "a cursor it did not give out");
    assert!(s
        .transcript(&ConversationId::new(), Order::Oldest, 2, None)
        .await
        .unwrap()
        .is_none());

    let d = stored_conversation(s, &a).await;
    let agent = user("reader");
    let mut take = move_of(&d, Status::Active);
    take.holder = Holder::To(agent.clone(), "Reader".into());
    assert_eq!(s.apply_move(&take).await.unwrap(), Committed::Done);
    let account = a.account_id.clone();
    let (c_id, d_id) = (c.conversation_id.clone(), d.conversation_id.clone());
    eventually("the open list has the open one", || async {
        let page = s
            .list(&account, &Listing::Statuses(vec![Status::Open]), 10, None)
            .await
            .unwrap();
        page.items.iter().map(|x| &x.conversation_id).collect::<Vec<_>>() == vec![&c_id]
    })
    .await;
    eventually("live ones newest activity first", || async {
        let live = Listing::Statuses(vec![Status::Open, Status::Active]);
        let page = s.list(&account, &live, 10, None).await.unwrap();
        page.items.iter().map(|x| &x.conversation_id).collect::<Vec<_>>() == vec![&c_id, &d_id]
    })
    .await;
    eventually("held by the agent", || async {
        let page = s
            .list(&account, &Listing::Held(Some(agent.clone())), 10, None)
            .await
            .unwrap();
        page.items.iter().map(|x| &x.conversation_id).collect::<Vec<_>>() == vec![&d_id]
    })
    .await;
    eventually("held by nobody", || async {
        let page = s.list(&account, &Listing::Held(None), 10, None).await.unwrap();
        page.items.iter().map(|x| &x.conversation_id).collect::<Vec<_>>() == vec![&c_id]
    })
    .await;
    let live = Listing::Statuses(vec![Status::Open, Status::Active]);
    let first = s.list(&account, &live, 1, None).await.unwrap();
    assert_eq!(first.items.len(), 1, "`limit` to a page");
    let second = s.list(&account, &live, 1, first.next_cursor.as_deref()).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(
        first.items[0].conversation_id, second.items[0].conversation_id,
        "the next page goes on"
    );
    eventually("the counts", || async {
        s.counts(&account, &agent).await.unwrap()
            == Counts {
                all: 2,
                mine: 1,
                unassigned: 1,
            }
    })
    .await;
}

/// A send recorded on the customer's live conversation (or a new one).
fn outbound(thread: &Thread, live: Option<&Conversation>, key: Option<&IdempotencyScope>) -> OutboundRecord {
    let message = Message::outbound_pending("hi", &analyse("hi"), Some(&user("agent")));
    let conversation = match live {
        Some(c) => {
            let mut m = move_of(c, c.status);
            m.wrote = Some(Writer::Agent);
            ConversationWrite::Move(m)
        }
        None => ConversationWrite::Create(Conversation::first_contact(thread)),
    };
    OutboundRecord {
        thread: thread.clone(),
        audit: entry(
            AuditAction::ConversationAssigned,
            &thread.account_id,
            conversation.conversation_id().as_str(),
        ),
        message,
        conversation,
        idempotency: key.map(|k| (k.clone(), "fingerprint".to_owned())),
        opt_out_tag: None,
    }
}

/// Sends: consent checked, a key claimed once, the conversation written; settled forward only,
/// the key keeping its outcome or forgotten.
pub async fn outbound_log<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let thread = thread_of(&a, &fresh_number());
    assert_eq!(
        s.live_conversation(&thread).await.unwrap(),
        (None, false),
        "nothing live"
    );
    let key = IdempotencyScope {
        account_id: a.account_id.clone(),
        key: IdempotencyKey::parse(&channel_domain::ids::new_id()).unwrap(),
    };
    let first = outbound(&thread, None, Some(&key));
    assert_eq!(
        s.begin_outbound(&first).await.unwrap(),
        BeginWrite::Begun,
        "an outreach creates the conversation"
    );
    let pending = s.idempotency(&key).await.unwrap();
    assert_eq!(
        pending,
        Some(IdempotencyRecord::Pending {
            fingerprint: "fingerprint".into()
        })
    );
    let (live, opted_out) = s.live_conversation(&thread).await.unwrap();
    let live = live.expect("the new conversation");
    assert_eq!(
        (live.conversation_id.clone(), opted_out),
        (first.conversation.conversation_id().clone(), false)
    );
    let again = outbound(&thread, Some(&live), Some(&key));
    assert_eq!(
        s.begin_outbound(&again).await.unwrap(),
        BeginWrite::KeyTaken,
        "a key once"
    );
    let rival = outbound(&thread, None, None);
    assert_eq!(
        s.begin_outbound(&rival).await.unwrap(),
        BeginWrite::Lost,
        "one live conversation a thread"
    );
    let mut stale = outbound(&thread, Some(&live), None);
    if let ConversationWrite::Move(m) = &mut stale.conversation {
        m.from = Status::Active;
    }
    assert_eq!(
        s.begin_outbound(&stale).await.unwrap(),
        BeginWrite::Lost,
        "from the status read only"
    );

    let answered = channel_domain::sent::SentMessage {
        conversation_id: live.conversation_id.clone(),
        message: first.message.clone(),
        verdict: channel_domain::sent::Verdict::Rejected {
            telesign_code: Some(11000),
            description: "Invalid value for parameter phone_number.".into(),
        },
    };
    let settle = |state,
                  code: Option<u32>,
                  reference: Option<&str>,
                  outcome: Option<Option<&channel_domain::sent::SentMessage>>| Settlement {
        conversation_id: live.conversation_id.clone(),
        message_id: first.message.message_id.clone(),
        state,
        reference_id: reference.map(str::to_owned),
        code,
        description: "d".into(),
        idempotency: outcome.map(|o| (key.clone(), o.cloned())),
    };
    let reference = reference();
    s.settle(&settle(
        MessageState::Delivered,
        Some(200),
        Some(&reference),
        Some(Some(&answered)),
    ))
    .await
    .unwrap();
    s.settle(&settle(MessageState::Queued, Some(290), Some(&reference), None))
        .await
        .unwrap();
    let t = s
        .transcript(&live.conversation_id, Order::Oldest, 10, None)
        .await
        .unwrap()
        .unwrap();
    let sent = t
        .messages
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.message_id == first.message.message_id)
        .unwrap();
    assert_eq!(
        (sent.status, sent.status_code),
        (MessageState::Delivered, Some(200)),
        "never backwards"
    );
    assert_eq!(sent.telesign_reference_id.as_deref(), Some(reference.as_str()));
    let done = s.idempotency(&key).await.unwrap();
    let kept = IdempotencyRecord::Done {
        fingerprint: "fingerprint".into(),
        outcome: Box::new(answered.clone()),
    };
    assert_eq!(done, Some(kept), "the key keeps its first outcome");
    assert_eq!(
        s.locate(&reference).await.unwrap(),
        Some((live.conversation_id.clone(), first.message.message_id.clone())),
        "the reference points at its message"
    );
    s.settle(&settle(MessageState::Delivered, Some(200), None, Some(None)))
        .await
        .unwrap();
    assert_eq!(s.idempotency(&key).await.unwrap(), None, "a forgotten key");

    // Opted out: refused in the same transaction.
    let customer = thread.customer_number.clone();
    opt_out(s, &a, &customer, &live).await;
    let refused = outbound(&thread, Some(&live), None);
    assert_eq!(
        s.begin_outbound(&refused).await.unwrap(),
        BeginWrite::OptedOut,
        "consent checked with the send"
    );
    assert!(s.live_conversation(&thread).await.unwrap().1, "opted out, as read");
}

/// The customer texts STOP into their live conversation.
async fn opt_out<S: Store>(s: &S, a: &Account, customer: &PhoneNumber, live: &Conversation) {
    let thread = thread_of(a, customer);
    let state = s.thread_state(&thread, "no-tag").await.unwrap();
    let current = s.conversation(&live.conversation_id).await.unwrap().unwrap();
    let (mut stop, _) = first_message(&thread, "STOP");
    let mut m = move_of(&current, current.status);
    m.opted_out = Some(true);
    stop.conversation = ConversationWrite::Move(m);
    stop.consent = Some(ConsentWrite {
        consent: Consent::OptOut,
        order: format!("{:020}-{}", channel_domain::ids::epoch_millis(), stop.reference_id),
        effect: ConsentEffect::Changed(Consent::OptOut),
        read: state.consent_read,
        was_opted_out: state.opted_out,
        change: None,
    });
    assert_eq!(s.record_inbound(&stop).await.unwrap(), InboundWrite::Stored);
}

/// Delivery reports: forward only, on this account's outbound messages only.
pub async fn report_log<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let thread = thread_of(&a, &fresh_number());
    let record = outbound(&thread, None, None);
    assert_eq!(s.begin_outbound(&record).await.unwrap(), BeginWrite::Begun);
    let at: MessageRef = (
        record.conversation.conversation_id().clone(),
        record.message.message_id.clone(),
    );
    let reported = reference();
    let update = |state, rank: u8, code: u32, account: &AccountId| StatusUpdate {
        account_id: account.clone(),
        state,
        rank,
        code,
        description: "d".into(),
        reference_id: reported.clone(),
    };
    let queued = channel_domain::telesign::status::rank(MessageState::Queued, Some(290));
    let delivered = channel_domain::telesign::status::rank(MessageState::Delivered, Some(200));
    assert_eq!(
        s.advance(&at, &update(MessageState::Queued, queued, 290, &a.account_id))
            .await
            .unwrap(),
        Committed::Done
    );
    assert_eq!(
        s.advance(&at, &update(MessageState::Queued, queued, 290, &a.account_id))
            .await
            .unwrap(),
        Committed::Lost,
        "not the same rank again"
    );
    let other = AccountId::new();
    let foreign = s
        .advance(&at, &update(MessageState::Delivered, delivered, 200, &other))
        .await;
    assert_eq!(foreign.unwrap(), Committed::Lost, "not another account's report");
    let forward = update(MessageState::Delivered, delivered, 200, &a.account_id);
    assert_eq!(s.advance(&at, &forward).await.unwrap(), Committed::Done);
    let back = update(MessageState::Queued, queued, 290, &a.account_id);
    assert_eq!(s.advance(&at, &back).await.unwrap(), Committed::Lost, "never backwards");
    let stored = s.stored_status(&at).await.unwrap().expect("stored");
    assert_eq!(
        stored,
        StoredStatus {
            account_id: a.account_id.clone(),
            outbound: true,
            code: Some(200)
        }
    );
    let t = s.transcript(&at.0, Order::Oldest, 10, None).await.unwrap().unwrap();
    let m = t
        .messages
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.message_id == at.1)
        .unwrap();
    assert_eq!(
        m.telesign_reference_id.as_deref(),
        Some(reported.as_str()),
        "the report's reference kept"
    );
    let missing = (at.0.clone(), channel_domain::ids::MessageId::new());
    assert_eq!(
        s.advance(&missing, &forward).await.unwrap(),
        Committed::Lost,
        "not a message that is not there"
    );
    assert_eq!(s.stored_status(&missing).await.unwrap(), None);

    let c = stored_conversation(s, &a).await;
    let t = s
        .transcript(&c.conversation_id, Order::Oldest, 1, None)
        .await
        .unwrap()
        .unwrap();
    let inbound = (c.conversation_id.clone(), t.messages.unwrap()[0].message_id.clone());
    assert_eq!(
        s.advance(&inbound, &forward).await.unwrap(),
        Committed::Lost,
        "not an inbound message"
    );
    assert_eq!(s.locate(&reference()).await.unwrap(), None, "an unknown reference");
}

/// The outbox: an automated message recorded with a customer's message, claimed once, not
/// while the customer is opted out when it needs consent.
pub async fn outbox<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let thread = thread_of(&a, &fresh_number());
    let (mut record, conversation) = first_message(&thread, "hello");
    let greeting = Message::automated(Kind::Greeting, "Welcome", &record.message.message_id);
    let away = Message::automated(Kind::Away, "We are closed", &greeting.message_id);
    let help = Message::automated(Kind::Help, "How to reach us", &away.message_id);
    record.automated = vec![greeting.clone(), away.clone(), help.clone()];
    assert_eq!(s.record_inbound(&record).await.unwrap(), InboundWrite::Stored);
    let pending = s
        .pending_send(&conversation.conversation_id, &greeting.message_id)
        .await
        .unwrap()
        .expect("recorded to go out");
    assert_eq!(pending.message.text, "Welcome");
    assert_eq!(pending.conversation.conversation_id, conversation.conversation_id);
    assert_eq!(s.claim_send(&pending, true).await.unwrap(), SendClaim::Claimed);
    assert_eq!(
        s.claim_send(&pending, true).await.unwrap(),
        SendClaim::Taken,
        "claimed once"
    );
    assert!(s
        .pending_send(&conversation.conversation_id, &channel_domain::ids::MessageId::new())
        .await
        .unwrap()
        .is_none());

    opt_out(s, &a, &thread.customer_number, &conversation).await;
    let away_pending = s
        .pending_send(&conversation.conversation_id, &away.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.claim_send(&away_pending, true).await.unwrap(),
        SendClaim::OptedOut,
        "consent when it needs it"
    );
    assert_eq!(
        s.claim_send(&away_pending, false).await.unwrap(),
        SendClaim::Claimed,
        "not when it does not"
    );
    let settled = Settlement {
        conversation_id: conversation.conversation_id.clone(),
        message_id: help.message_id.clone(),
        state: MessageState::Queued,
        reference_id: Some(reference()),
        code: Some(290),
        description: "queued".into(),
        idempotency: None,
    };
    s.settle(&settled).await.unwrap();
    let sent = s
        .pending_send(&conversation.conversation_id, &help.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.claim_send(&sent, false).await.unwrap(),
        SendClaim::Taken,
        "a message sent is not claimed"
    );
}

/// Idle conversations: listed by activity from an index, ended on the status, holder and
/// activity read, with the notice and the closing message.
pub async fn idle_conversations<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let c = stored_conversation(s, &a).await;
    let account = a.account_id.clone();
    let id = c.conversation_id.clone();
    eventually("an idle conversation is listed", || async {
        s.idle(&account, false, later(60), 10)
            .await
            .unwrap()
            .iter()
            .any(|x| x.conversation_id == id)
    })
    .await;
    let none = s.idle(&a.account_id, false, c.last_activity_at, 10).await.unwrap();
    assert!(
        !none.iter().any(|x| x.conversation_id == id),
        "not idle before its last activity"
    );
    let end = |activity_read| IdleEnd {
        end: Move {
            guard: Guard {
                holder_read: Some(None),
                member: None,
                activity_read: Some(activity_read),
            },
            holder: Holder::Nobody,
            audit: Some(entry(
                AuditAction::ConversationAutoClosed,
                &a.account_id,
                c.conversation_id.as_str(),
            )),
            ..move_of(&c, Status::Closed)
        },
        notice: Message::auto_close_notice(Status::Open, 3600),
        closing: Some(Message::automated(
            Kind::Closing,
            "Bye",
            &channel_domain::ids::MessageId::new(),
        )),
    };
    let stale = end(later(-60));
    assert_eq!(
        s.end_idle(&stale).await.unwrap(),
        Committed::Lost,
        "not after activity since it was read"
    );
    assert_eq!(s.end_idle(&end(c.last_activity_at)).await.unwrap(), Committed::Done);
    let closed = s.conversation(&c.conversation_id).await.unwrap().unwrap();
    assert_eq!(closed.status, Status::Closed);
    let t = s
        .transcript(&c.conversation_id, Order::Oldest, 10, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t.messages.unwrap_or_default().len(),
        3,
        "the message, the notice, the closing message"
    );
    assert_eq!(
        s.end_idle(&end(c.last_activity_at)).await.unwrap(),
        Committed::Lost,
        "once"
    );
    eventually("an ended conversation is listed as closed", || async {
        s.idle(&account, true, later(60), 10)
            .await
            .unwrap()
            .iter()
            .any(|x| x.conversation_id == id)
    })
    .await;
}

/// A customer's records: found, exported, erased with their counts; an opt-out kept by its tag.
pub async fn customer_records<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let customer = fresh_number();
    let thread = thread_of(&a, &customer);
    let (record, conversation) = first_message(&thread, "my data");
    assert_eq!(s.record_inbound(&record).await.unwrap(), InboundWrite::Stored);
    opt_out(s, &a, &customer, &conversation).await;
    let numbers: Vec<PhoneNumber> = a.numbers.iter().map(|n| n.number.clone()).collect();
    let found = s.conversations_of(&a.account_id, &numbers, &customer).await.unwrap();
    assert_eq!(
        found,
        vec![conversation.conversation_id.clone()],
        "the customer's conversation"
    );
    let file = s
        .conversation_file(&conversation.conversation_id)
        .await
        .unwrap()
        .expect("its file");
    let messages = file.conversation.messages.clone().unwrap_or_default();
    assert_eq!(
        messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["my data", "STOP"]
    );
    assert_eq!(file.raw_payloads.len(), 2, "each inbound message's raw body");
    let consent = s.consent_records(&a.account_id, &customer).await.unwrap();
    assert!(!consent.is_empty(), "the consent state and its ledger");
    let e = entry(
        AuditAction::ConversationClosed,
        &a.account_id,
        conversation.conversation_id.as_str(),
    );
    s.record(&e).await.unwrap();
    let target = conversation.conversation_id.to_string();
    eventually("the entries about it, by their subject", || async {
        let about = s
            .entries_about(&a.account_id, std::slice::from_ref(&target))
            .await
            .unwrap();
        !about.is_empty() && about.iter().all(|x| x.target == target)
    })
    .await;

    let erased = s
        .erase_conversation(&a.account_id, &customer, &conversation.conversation_id)
        .await
        .unwrap();
    assert_eq!(
        (erased.conversations, erased.messages),
        (1, 2),
        "the conversation and its messages"
    );
    assert!(
        s.conversation(&conversation.conversation_id).await.unwrap().is_none(),
        "gone"
    );
    assert!(s
        .conversation_file(&conversation.conversation_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.conversations_of(&a.account_id, &numbers, &customer).await.unwrap(),
        Vec::<ConversationId>::new(),
        "nothing of it is found again"
    );
    let again = s
        .erase_conversation(&a.account_id, &customer, &conversation.conversation_id)
        .await
        .unwrap();
    assert_eq!(again, Erased::default(), "nothing found, nothing counted");
    let tag = format!("tag-{}", channel_domain::ids::new_id());
    let (deleted, kept) = s.erase_consent(&a.account_id, &customer, &tag).await.unwrap();
    assert!(deleted > 0 && kept, "an opted-out customer's opt-out is kept");
    assert!(s.opt_out_kept(&a.account_id, &tag).await.unwrap());
    assert!(
        s.consent_records(&a.account_id, &customer).await.unwrap().is_empty(),
        "the partition erased"
    );
    let state = s.thread_state(&thread, &tag).await.unwrap();
    assert_eq!(
        (state.opted_out, state.kept_opt_out.as_deref()),
        (true, Some(tag.as_str())),
        "still opted out"
    );
    let mut refused = outbound(&thread, None, None);
    refused.opt_out_tag = Some(tag.clone());
    assert_eq!(
        s.begin_outbound(&refused).await.unwrap(),
        BeginWrite::OptedOut,
        "a kept opt-out refuses a send"
    );
    assert!(!s.opt_out_kept(&a.account_id, "another-tag").await.unwrap());
}

/// Connections: listed per audience, unlisted from one, closed everywhere.
pub async fn connections<S: Store>(s: &S) {
    let a = stored_account(s).await;
    let connection = Connection {
        connection_id: format!("c{}", channel_domain::ids::new_id()),
        user_id: user("watcher"),
        roles: vec![Role::Agent],
        connected_at: now(),
        expires_at: channel_domain::ids::epoch_seconds() + 3600,
    };
    let account = Audience::Account(a.account_id.clone());
    s.open(&connection, &[account.clone(), Audience::Operators])
        .await
        .unwrap();
    let listed = s.listening(&account).await.unwrap();
    assert_eq!(listed, vec![connection.clone()], "listed for its account, as opened");
    assert!(s.listening(&Audience::Operators).await.unwrap().contains(&connection));
    s.unlist(&account, &connection.connection_id).await.unwrap();
    assert!(
        s.listening(&account).await.unwrap().is_empty(),
        "unlisted from one audience"
    );
    assert!(
        s.listening(&Audience::Operators).await.unwrap().contains(&connection),
        "not from the others"
    );
    s.close(&connection.connection_id).await.unwrap();
    assert!(
        !s.listening(&Audience::Operators).await.unwrap().contains(&connection),
        "closed everywhere"
    );
    s.close(&connection.connection_id).await.unwrap();
    let expired = Connection {
        connection_id: format!("c{}", channel_domain::ids::new_id()),
        expires_at: channel_domain::ids::epoch_seconds() - 1,
        ..connection.clone()
    };
    s.open(&expired, std::slice::from_ref(&account)).await.unwrap();
    assert_eq!(
        s.listening(&account).await.unwrap(),
        vec![expired],
        "an expired one is listed too"
    );
}
