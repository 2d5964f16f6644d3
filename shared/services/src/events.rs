//! Events out of the table's changes: [`Publisher`] turns a batch of committed changes (the
//! stream's, in order) into the contract's events, posts each to the live connections allowed to
//! see its account and puts them on the event bus, and queues the jobs the changes make due
//! (`jobs::job_of`: an automated message recorded to go out) for the worker; [`Live`] lists a
//! connection at `$connect` and forgets it at `$disconnect`.
//!
//! Who receives an account's events is the policy's standing (`access::standing`): an operator
//! everywhere, a member in their accounts. A connection is listed per account at `$connect`,
//! and its membership is read again (strongly consistent) once per batch before anything is
//! posted to it, so a member removed after connecting stops receiving with the next batch.

use std::collections::HashMap;

use futures_util::future::{join3, join_all};

use crate::metrics::{emit, Dim, Metric, Record};
use crate::ports::{
    Audience, BusError, Connection, Connections, EventBus, Members, PostError, Sockets, StoreError, Unqueued, WorkQueue,
};
use channel_domain::access::{standing, Caller, Standing, UserId};
use channel_domain::events::{event_of, Change, Event};
use channel_domain::ids::AccountId;
use channel_domain::jobs::{job_of, Job};

/// The longest a connection lives (API Gateway closes WebSocket connections after two hours).
pub const CONNECTION_LIFETIME_SECONDS: i64 = 2 * 60 * 60;

/// The most events of one PutEvents request.
pub const BUS_BATCH: usize = 10;

/// What a batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events made (changes that were no event are not counted).
    pub events: usize,
    /// Posts that arrived.
    pub posted: usize,
    /// Connections found gone, and forgotten.
    pub gone: usize,
    /// Posts that failed otherwise (the connection stays; the console catches up on reconnect).
    pub failed: usize,
    /// Events of an account whose listeners could not be read: posted to nobody (its consoles
    /// catch up on reconnect), so that one account's store faults never hold the stream, and
    /// every other account's events, behind them.
    pub unheard: usize,
    /// Jobs queued for the worker.
    pub jobs: usize,
}

/// A batch stopped at a change: the changes from `from` on are to be delivered again (the
/// stream's retry), the ones before are done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undelivered {
    /// The event bus did not take the events of the change at `from` or after.
    #[error("the event bus did not take the events from change {from}: {error}")]
    Bus {
        /// The first change to deliver again.
        from: usize,
        /// Why.
        error: BusError,
    },
    /// The work queue did not take the job of the change at `from` or after.
    #[error("the job of change {from} was not queued: {error}")]
    Work {
        /// The first change to deliver again.
        from: usize,
        /// Why.
        error: Unqueued,
    },
}

impl Undelivered {
    /// The first change to deliver again.
    pub fn from(&self) -> usize {
        match self {
            Self::Bus { from, .. } | Self::Work { from, .. } => *from,
        }
    }
}

/// Delivers events to the sockets and the bus, and jobs to the work queue.
#[derive(Debug, Clone)]
pub struct Publisher<S, K, B, W> {
    /// The connections and the memberships.
    pub store: S,
    /// The WebSocket API's `@connections`.
    pub sockets: K,
    /// The event bus.
    pub bus: B,
    /// The work queue.
    pub work: W,
}

/// The listeners of the accounts of one batch, read once per batch.
#[derive(Default)]
struct Listeners {
    operators: Option<Vec<String>>,
    accounts: HashMap<AccountId, Vec<String>>,
}

impl Listeners {
    /// Posts to these connections found them gone: the rest of the batch skips them.
    fn drop_gone(&mut self, gone: &[String]) {
        let lists = self.operators.iter_mut().chain(self.accounts.values_mut());
        for list in lists {
            list.retain(|c| !gone.contains(c));
        }
    }
}

impl<S: Connections + Members, K: Sockets, B: EventBus, W: WorkQueue> Publisher<S, K, B, W> {
    /// Delivers the events of a batch of changes: each event to its account's listeners, in
    /// order (an event is posted before the next), and, at the same time, every event to the bus
    /// and every job the changes make due to the work queue.
    pub async fn deliver(&self, changes: &[Change]) -> Result<Delivery, Undelivered> {
        let events = opened_first(
            changes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| event_of(c).map(|e| (i, e)))
                .collect(),
        );
        let jobs: Vec<(usize, Job)> = changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| job_of(c).map(|j| (i, j)))
            .collect();
        let (mut delivery, published, queued) =
            join3(self.post_all(&events), self.publish_all(&events), self.queue_all(&jobs)).await;
        // The earliest change something was not delivered for is where the stream resumes.
        let failed = [published.err(), queued.err()]
            .into_iter()
            .flatten()
            .min_by_key(Undelivered::from);
        if let Some(e) = failed {
            return Err(e);
        }
        delivery.jobs = jobs.len();
        emit_delivery(&delivery);
        Ok(delivery)
    }

    /// Queues the jobs of the batch, in order.
    async fn queue_all(&self, jobs: &[(usize, Job)]) -> Result<(), Undelivered> {
        if jobs.is_empty() {
            return Ok(());
        }
        let all: Vec<Job> = jobs.iter().map(|(_, j)| j.clone()).collect();
        self.work.enqueue(&all).await.map_err(|error| Undelivered::Work {
            from: jobs.get(error.done).map_or(0, |(i, _)| *i),
            error,
        })
    }

    /// Posts each event to its account's listeners. An account whose listeners cannot be read
    /// (its partition throttled, the table failing) is heard by nobody in this batch: live posts
    /// are a courtesy the console catches up on, and holding the stream for them would hold
    /// every account's events and jobs behind one account's faults.
    async fn post_all(&self, events: &[(usize, Event)]) -> Delivery {
        let mut delivery = Delivery {
            events: events.len(),
            ..Delivery::default()
        };
        let mut listeners = Listeners::default();
        let mut unreadable: Vec<AccountId> = Vec::new();
        for (_, event) in events {
            if unreadable.contains(&event.account_id) {
                delivery.unheard += 1;
                continue;
            }
            match self.listeners(&event.account_id, &mut listeners).await {
                Ok(to) => {
                    let gone = self.post(event, &to, &mut delivery).await;
                    listeners.drop_gone(&gone);
                }
                Err(error) => {
                    tracing::warn!(account_id = %event.account_id, error = %error,
                        "an account's listeners could not be read: its events of this batch are posted to nobody");
                    unreadable.push(event.account_id.clone());
                    delivery.unheard += 1;
                }
            }
        }
        delivery
    }

    async fn publish_all(&self, events: &[(usize, Event)]) -> Result<(), Undelivered> {
        for (n, chunk) in events.chunks(BUS_BATCH).enumerate() {
            let batch: Vec<Event> = chunk.iter().map(|(_, e)| e.clone()).collect();
            self.bus.publish(&batch).await.map_err(|error| Undelivered::Bus {
                from: resume_from(events, n * BUS_BATCH),
                error,
            })?;
        }
        Ok(())
    }

    /// Posts one event to each connection (concurrently); a gone one is forgotten, and answered.
    async fn post(&self, event: &Event, to: &[String], delivery: &mut Delivery) -> Vec<String> {
        let mut gone = Vec::new();
        let Ok(payload) = serde_json::to_vec(event) else {
            return gone;
        };
        let outcomes = join_all(to.iter().map(|id| self.sockets.post(id, &payload))).await;
        for (id, outcome) in to.iter().zip(outcomes) {
            match outcome {
                Ok(()) => delivery.posted += 1,
                Err(PostError::Gone) => {
                    delivery.gone += 1;
                    gone.push(id.clone());
                    if let Err(e) = self.store.close(id).await {
                        tracing::warn!(connection_id = %id, error = %e, "a gone connection could not be forgotten");
                    }
                }
                Err(PostError::Failed(why)) => {
                    delivery.failed += 1;
                    tracing::warn!(connection_id = %id, event_id = %event.event_id, error = %why, "an event was not posted");
                }
            }
        }
        gone
    }

    /// The connections allowed to receive an account's events: its members' (membership read
    /// again; a former member's listing is dropped) and the operators'.
    async fn listeners(&self, account: &AccountId, known: &mut Listeners) -> Result<Vec<String>, StoreError> {
        if let Some(found) = known.accounts.get(account) {
            return Ok(found.clone());
        }
        if known.operators.is_none() {
            let mut operators = Vec::new();
            for c in self.store.listening(&Audience::Operators).await? {
                if !self.closed_if_expired(&c).await {
                    operators.push(c.connection_id);
                }
            }
            known.operators = Some(operators);
        }
        let mut found = known.operators.clone().unwrap_or_default();
        let audience = Audience::Account(account.clone());
        let mut standings: HashMap<UserId, Standing> = HashMap::new();
        for c in self.store.listening(&audience).await? {
            if self.closed_if_expired(&c).await {
                continue;
            }
            let standing = match standings.get(&c.user_id) {
                Some(s) => *s,
                None => {
                    let s = self.standing_of(account, &c).await?;
                    standings.insert(c.user_id.clone(), s);
                    s
                }
            };
            if standing == Standing::Outsider {
                let _ = self.store.unlist(&audience, &c.connection_id).await;
            } else if !found.contains(&c.connection_id) {
                found.push(c.connection_id);
            }
        }
        known.accounts.insert(account.clone(), found.clone());
        Ok(found)
    }

    /// A connection whose token has expired hears nothing more: API Gateway keeps a WebSocket
    /// open up to two hours whatever its token, so the socket is closed (the console opens another
    /// with its renewed token) and forgotten. `true` when it was.
    async fn closed_if_expired(&self, c: &Connection) -> bool {
        if c.expires_at > channel_domain::ids::epoch_seconds() {
            return false;
        }
        if let Err(e) = self.sockets.disconnect(&c.connection_id).await {
            tracing::warn!(connection_id = %c.connection_id, error = %e, "an expired connection could not be closed");
        }
        if let Err(e) = self.store.close(&c.connection_id).await {
            tracing::warn!(connection_id = %c.connection_id, error = %e, "an expired connection could not be forgotten");
        }
        tracing::info!(connection_id = %c.connection_id, user_id = %c.user_id, "connection of an expired token closed");
        true
    }

    async fn standing_of(&self, account: &AccountId, c: &Connection) -> Result<Standing, StoreError> {
        let caller = caller_of(c);
        let membership = match caller.is_operator() {
            true => None,
            false => self.store.member(account, &c.user_id).await?.map(|m| m.role),
        };
        Ok(standing(&caller, membership))
    }
}

/// The events of a batch with each `conversation.opened` moved before the other events of its
/// conversation: a new conversation and its first message commit in one transaction, but the
/// stream orders records per item, so the message may come first. Everything else keeps the
/// stream's order.
fn opened_first(mut events: Vec<(usize, Event)>) -> Vec<(usize, Event)> {
    for i in 0..events.len() {
        if events[i].1.kind != channel_domain::events::EventType::ConversationOpened {
            continue;
        }
        let conversation = &events[i].1.conversation_id;
        if let Some(first) = events[..i].iter().position(|(_, e)| &e.conversation_id == conversation) {
            let opened = events.remove(i);
            events.insert(first, opened);
        }
    }
    events
}

/// The first change to deliver again when the events from `at` on were not delivered (the
/// smallest change behind them: `opened_first` may have moved one event before an earlier one).
fn resume_from(events: &[(usize, Event)], at: usize) -> usize {
    events[at..].iter().map(|(i, _)| *i).min().unwrap_or(0)
}

fn caller_of(c: &Connection) -> Caller {
    Caller {
        user_id: c.user_id.clone(),
        name: None,
        roles: c.roles.clone(),
    }
}

fn emit_delivery(d: &Delivery) {
    for (outcome, n) in [
        ("posted", d.posted),
        ("gone", d.gone),
        ("failed", d.failed),
        ("unheard", d.unheard),
        ("published", d.events),
        ("queued", d.jobs),
    ] {
        if n > 0 {
            emit(Record::value(Metric::EventsDelivered, n as f64).dim(Dim::Outcome, outcome));
        }
    }
}

/// Lists and forgets the console's connections.
#[derive(Debug, Clone)]
pub struct Live<S> {
    /// The connections and the memberships.
    pub store: S,
}

impl<S: Connections + Members> Live<S> {
    /// Lists a new connection of a verified caller for the accounts whose events they may see
    /// (every account for an operator; else their memberships, 1 Query of the index), until
    /// `expires_at` (epoch seconds; the token's expiry, at most two hours away).
    pub async fn connect(
        &self,
        caller: &Caller,
        connection_id: &str,
        expires_at: i64,
    ) -> Result<Connection, StoreError> {
        let now = channel_domain::ids::Timestamp::now();
        let connection = Connection {
            connection_id: connection_id.to_owned(),
            user_id: caller.user_id.clone(),
            roles: caller.roles.clone(),
            connected_at: now,
            expires_at: expires_at.min(now.epoch_seconds() + CONNECTION_LIFETIME_SECONDS),
        };
        let audiences = match caller.is_operator() {
            true => vec![Audience::Operators],
            false => self
                .store
                .memberships(&caller.user_id)
                .await?
                .into_iter()
                .filter(|m| standing(caller, Some(m.role)) != Standing::Outsider)
                .map(|m| Audience::Account(m.account_id))
                .collect(),
        };
        self.store.open(&connection, &audiences).await?;
        Ok(connection)
    }

    /// Forgets a connection (safe to repeat).
    pub async fn disconnect(&self, connection_id: &str) -> Result<(), StoreError> {
        self.store.close(connection_id).await
    }
}
