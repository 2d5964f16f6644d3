//! A world for the rule tests: an account with a key and a support number, over the in-memory
//! store, key store and TeleSign of [`super::fakes`].

use std::time::{Duration, Instant};

use serde_json::json;

use super::fakes::{FakeGateway, MemoryKeys, MemoryQueue, MemoryStore, MemorySweeps};
use crate::accounts::Accounts;
use crate::callbacks::{CallbackOutcome, Callbacks};
use crate::desk::Desk;
use crate::directory::CachedDirectory;
use crate::send::{Draft, Sender};
use crate::worker::{Done, Worker};
use channel_domain::access::{Caller, Role, UserId};
use channel_domain::account::{Account, AccountSecret, NumberType, SupportNumber};
use channel_domain::audit::Actor;
use channel_domain::conversation::{Conversation, Message, Thread};
use channel_domain::ids::{AccountId, ConversationId, IdempotencyKey, Timestamp};
use channel_domain::jobs::Job;
use channel_domain::phone::PhoneNumber;
use channel_domain::telesign::callback::callback_authorization;
use channel_domain::telesign::{ApiHost, ApiKey};

/// The account's key.
pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another key.
pub const OTHER_KEY: &str = "ZGlmZmVyZW50LWtleS1mb3ItdGhlLXRlc3RzLTAwMDA=";
/// The customer id.
pub const CUSTOMER_ID: &str = "C0FFEE00-0000-4000-8000-000000000001";

/// The world.
pub struct World {
    pub store: MemoryStore,
    pub keys: MemoryKeys,
    pub queue: MemoryQueue,
    pub sweeps: MemorySweeps,
    pub gateway: FakeGateway,
    pub account: Account,
    pub support: PhoneNumber,
}

fn directory(w: &World) -> CachedDirectory<MemoryStore, MemoryKeys> {
    CachedDirectory::new(w.store.clone(), w.keys.clone(), Duration::from_secs(300))
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// An account with one support number and its key stored.
    pub fn new() -> Self {
        let store = MemoryStore::default();
        let keys = MemoryKeys::default();
        let support = PhoneNumber::parse("14255550100").unwrap();
        let account_id = AccountId::new();
        let account = Account {
            secret_name: format!("test/{account_id}"),
            account_id,
            name: "Support".into(),
            customer_id: CUSTOMER_ID.into(),
            api_host: ApiHost::Standard,
            numbers: vec![number(&support)],
            created_at: Timestamp::now(),
            retention_days: None,
        };
        store.write(|s| {
            s.accounts.insert(account.account_id.clone(), account.clone());
            s.claims.insert(support.clone(), account.account_id.clone());
        });
        keys.secrets
            .lock()
            .unwrap()
            .insert(account.secret_name.clone(), secret(KEY));
        Self {
            store,
            keys,
            queue: MemoryQueue::default(),
            sweeps: MemorySweeps::default(),
            gateway: FakeGateway::accepting(),
            account,
            support,
        }
    }

    pub fn callbacks(&self) -> Callbacks<CachedDirectory<MemoryStore, MemoryKeys>, MemoryStore, MemoryQueue> {
        Callbacks {
            directory: directory(self),
            log: self.store.clone(),
            queue: self.queue.clone(),
        }
    }

    pub fn worker(&self) -> Worker<CachedDirectory<MemoryStore, MemoryKeys>, MemoryStore, FakeGateway> {
        Worker {
            directory: directory(self),
            log: self.store.clone(),
            gateway: self.gateway.clone(),
            callback_base: Some("https://desk.example".into()),
        }
    }

    /// The jobs the changes so far made due (what the table's stream hands the events function:
    /// every automated message recorded and not sent yet), done by the worker, in order.
    pub async fn work(&self) -> Vec<Done> {
        let jobs: Vec<Job> = self.store.read(|s| {
            let mut jobs = Vec::new();
            for (conversation_id, messages) in &s.messages {
                let Some(c) = s.conversations.get(conversation_id) else {
                    continue;
                };
                for (m, _, _) in messages.values() {
                    let unsent = m.status == channel_domain::telesign::MessageState::Unknown
                        && m.telesign_reference_id.is_none();
                    if m.automated && unsent && !s.send_claims.contains(&m.message_id) {
                        jobs.push(Job::Send {
                            account_id: c.account_id.clone(),
                            conversation_id: conversation_id.clone(),
                            message_id: m.message_id.clone(),
                        });
                    }
                }
            }
            jobs
        });
        let worker = self.worker();
        let mut done = Vec::new();
        for job in &jobs {
            let deadline = Instant::now() + Duration::from_secs(5);
            done.push(worker.run(job, deadline).await.expect("the job is done"));
        }
        done
    }

    pub fn sender(&self) -> Sender<CachedDirectory<MemoryStore, MemoryKeys>, MemoryStore, FakeGateway> {
        Sender {
            directory: directory(self),
            log: self.store.clone(),
            gateway: self.gateway.clone(),
        }
    }

    pub fn sweeper(&self) -> crate::sweeper::Sweeper<MemoryStore, MemorySweeps> {
        crate::sweeper::Sweeper {
            log: self.store.clone(),
            queue: self.sweeps.clone(),
        }
    }

    /// A whole sweep at `now`: the scheduled run queues the turns, then every turn is swept,
    /// each until `deadline`; their reports summed.
    pub async fn sweep(
        &self,
        now: Timestamp,
        deadline: Instant,
    ) -> Result<crate::sweeper::SweepReport, crate::sweeper::SweepError> {
        let sweeper = self.sweeper();
        let mut report = sweeper.schedule(now).await?;
        if report.skipped {
            return Ok(report);
        }
        for task in self.sweeps.drain() {
            report += sweeper.turn(&task, now, deadline).await?;
        }
        Ok(report)
    }

    /// The turns of every deleted account whose conversations expire, at `now` (whatever the
    /// minute: the schedule queues each in its own minute of the hour).
    pub async fn sweep_deleted(&self, now: Timestamp) -> crate::sweeper::SweepReport {
        let sweeper = self.sweeper();
        let retired: Vec<_> = self.store.read(|s| s.retired.values().cloned().collect());
        let mut report = crate::sweeper::SweepReport::default();
        for r in retired {
            let Some(retention_days) = r.retention_days else {
                continue;
            };
            let task = channel_domain::jobs::SweepTask::Retired {
                account_id: r.account_id,
                retention_days,
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            report += sweeper.turn(&task, now, deadline).await.expect("swept");
        }
        report
    }

    pub fn desk(&self) -> Desk<MemoryStore> {
        Desk {
            store: self.store.clone(),
        }
    }

    pub fn accounts(&self) -> Accounts<MemoryStore, MemoryKeys, FakeGateway> {
        Accounts {
            directory: directory(self),
            gateway: self.gateway.clone(),
            grace: Duration::from_secs(3600),
        }
    }

    /// The thread of a customer with the support number.
    pub fn thread(&self, customer: &str) -> Thread {
        Thread {
            account_id: self.account.account_id.clone(),
            support_number: self.support.clone(),
            customer_number: PhoneNumber::parse(customer).unwrap(),
        }
    }

    /// A customer texts the support number, signed with `key`.
    pub async fn text_signed(
        &self,
        key: &str,
        customer: &str,
        text: &str,
        reference: &str,
    ) -> Result<CallbackOutcome, crate::callbacks::CallbackError> {
        let body = json!({"reference_id": reference, "sub_resource": "mo_sms", "status": {"code": 1500},
            "user_response": {"phone_number": customer, "sender_id": self.support.as_str(), "mo_message": text}})
        .to_string();
        let auth = callback_authorization(CUSTOMER_ID, &ApiKey::parse(key).unwrap(), body.as_bytes());
        self.callbacks()
            .receive(self.account.account_id.as_str(), Some(&auth), body.as_bytes())
            .await
    }

    /// A customer texts the support number.
    pub async fn text(&self, customer: &str, text: &str, reference: &str) -> CallbackOutcome {
        self.text_signed(KEY, customer, text, reference).await.unwrap()
    }

    /// A customer's text that TeleSign received at `submitted` (RFC 3339), signed with the key.
    pub async fn text_at(&self, customer: &str, text: &str, reference: &str, submitted: &str) -> CallbackOutcome {
        let body = json!({"reference_id": reference, "sub_resource": "mo_sms", "status": {"code": 1500},
            "submit_timestamp": submitted,
            "user_response": {"phone_number": customer, "sender_id": self.support.as_str(), "mo_message": text}})
        .to_string();
        let auth = callback_authorization(CUSTOMER_ID, &ApiKey::parse(KEY).unwrap(), body.as_bytes());
        self.callbacks()
            .receive(self.account.account_id.as_str(), Some(&auth), body.as_bytes())
            .await
            .unwrap()
    }

    /// Sets the support number's automation settings (as a `PATCH` would, read by the next message).
    pub fn set_settings(&self, settings: serde_json::Value) {
        let settings: channel_domain::automation::Settings = serde_json::from_value(settings).unwrap();
        let settings = settings.validated().unwrap();
        self.store.write(|s| {
            if let Some(a) = s.accounts.get_mut(&self.account.account_id) {
                a.numbers[0].settings = settings;
            }
        });
    }

    /// A delivery report, signed with the account's key.
    pub async fn report(&self, reference: &str, external_id: Option<&str>, code: u32) -> CallbackOutcome {
        let mut body = json!({"reference_id": reference, "status": {"code": code, "description": "status"}});
        if let Some(e) = external_id {
            body["external_id"] = json!(e);
        }
        let body = body.to_string();
        let auth = callback_authorization(CUSTOMER_ID, &ApiKey::parse(KEY).unwrap(), body.as_bytes());
        self.callbacks()
            .receive(self.account.account_id.as_str(), Some(&auth), body.as_bytes())
            .await
            .unwrap()
    }

    /// The conversation of a stored message.
    pub fn conversation(&self, id: &ConversationId) -> Conversation {
        self.store.read(|s| s.conversations[id].clone())
    }

    /// Its transcript.
    pub fn transcript(&self, id: &ConversationId) -> Vec<Message> {
        self.store.read(|s| s.transcript(id))
    }

    /// The business texts a customer "hello": the message as sent.
    pub async fn say_hello(&self, customer: &str) -> crate::send::SentMessage {
        self.sender()
            .outreach(&op("a-1"), &self.thread(customer), &draft("hello", None))
            .await
            .unwrap()
    }

    /// Makes `user` a member of the account in `role`.
    pub fn member(&self, user: &str, role: Role) {
        let m = crate::ports::Member {
            account_id: self.account.account_id.clone(),
            user_id: UserId::parse(user).unwrap(),
            role,
            display_name: None,
            added_at: Timestamp::now(),
        };
        self.store
            .write(|s| s.members.insert((m.account_id.clone(), m.user_id.clone()), m));
    }

    pub fn team(&self) -> crate::team::Team<MemoryStore> {
        crate::team::Team {
            store: self.store.clone(),
        }
    }

    pub fn privacy(&self) -> crate::privacy::Privacy<MemoryStore> {
        crate::privacy::Privacy {
            store: self.store.clone(),
        }
    }

    /// The deployment's key of opt-out tags, as the fake key store holds it.
    pub fn opt_out_key(&self) -> channel_domain::privacy::OptOutKey {
        channel_domain::privacy::OptOutKey::new(super::fakes::FAKE_OPT_OUT_KEY).unwrap()
    }

    /// The customer opts out behind the services' back.
    pub fn opt_out(&self, customer: &str) {
        let key = (self.account.account_id.clone(), PhoneNumber::parse(customer).unwrap());
        self.store.write(|s| s.consent.insert(key, true));
    }
}

/// An operator whose user id is `id`.
pub fn op(id: &str) -> Caller {
    caller(id, &[Role::Operator])
}

/// A caller with roles.
pub fn caller(id: &str, roles: &[Role]) -> Caller {
    Caller {
        user_id: UserId::parse(id).unwrap(),
        name: None,
        roles: roles.to_vec(),
    }
}

/// A user id of a test.
pub fn uid(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

/// The operator `o-1` as the actor of a change.
pub fn actor() -> Actor {
    Actor::User(UserId::parse("o-1").unwrap())
}

/// A draft of `text` by agent `a-1`, with an optional key.
pub fn draft(text: &str, key: Option<&str>) -> Draft {
    Draft {
        text: text.into(),
        info: channel_domain::sms::check_text(text).unwrap(),
        agent: Some(uid("a-1")),
        agent_name: Some("Ada".into()),
        idempotency: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        callback_base: Some("https://api.example".into()),
        deadline: Instant::now() + Duration::from_secs(5),
    }
}

/// A long code's settings.
pub fn number(n: &PhoneNumber) -> SupportNumber {
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

/// A secret with one key.
pub fn secret(key: &str) -> AccountSecret {
    AccountSecret {
        customer_id: CUSTOMER_ID.into(),
        api_key: key.into(),
        previous_api_key: None,
        previous_valid_until: None,
        next_api_key: None,
        key_version: None,
    }
}

/// The conversation id of a stored callback.
pub fn stored(outcome: &CallbackOutcome) -> ConversationId {
    match outcome {
        CallbackOutcome::Stored { conversation_id, .. } => conversation_id.clone(),
        other => panic!("not stored: {other:?}"),
    }
}
