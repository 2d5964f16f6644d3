//! Events: what each committed change makes, who receives it, and what a failure leaves to the
//! stream's retry.

use crate::events::{Live, Publisher, Undelivered};
use crate::testkit::fakes::{MemoryBus, MemorySockets, MemoryStore, MemoryWork};
use crate::testkit::harness::*;
use channel_domain::access::Role;
use channel_domain::conversation::{Conversation, Message, Status, Thread};
use channel_domain::events::{event_of, Change, Event, EventType, Snapshot};
use channel_domain::ids::{AccountId, MessageId, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::sms::analyse;
use channel_domain::telesign::MessageState;

fn conversation(account: &AccountId) -> Conversation {
    Conversation::first_contact(&Thread {
        account_id: account.clone(),
        support_number: PhoneNumber::parse("14255550100").unwrap(),
        customer_number: PhoneNumber::parse("48601234567").unwrap(),
    })
}

fn change(old: Option<Snapshot>, new: Option<Snapshot>) -> Change {
    Change {
        id: channel_domain::ids::new_id(),
        at: Timestamp::now(),
        old,
        new,
    }
}

fn conv(c: &Conversation) -> Option<Snapshot> {
    Some(Snapshot::Conversation(c.clone()))
}

fn msg(c: &Conversation, m: &Message) -> Option<Snapshot> {
    Some(Snapshot::Message {
        account_id: c.account_id.clone(),
        conversation_id: c.conversation_id.clone(),
        message: m.clone(),
    })
}

fn kind(c: &Change) -> Option<EventType> {
    event_of(c).map(|e| e.kind)
}

#[test]
fn a_new_conversation_is_opened_with_its_api_representation() {
    let c = conversation(&AccountId::new());
    let e = event_of(&change(None, conv(&c))).unwrap();
    assert_eq!(e.kind, EventType::ConversationOpened);
    assert_eq!((&e.account_id, &e.conversation_id), (&c.account_id, &c.conversation_id));
    assert_eq!(e.data, serde_json::to_value(&c).unwrap());
    assert_eq!(serde_json::to_value(&e).unwrap()["type"], "conversation.opened");
}

#[test]
fn moves_of_a_conversation_are_ended_assigned_or_updated() {
    let c = conversation(&AccountId::new());
    let mut taken = c.clone();
    taken.status = Status::Active;
    taken.assigned_agent = Some(uid("a-1"));
    assert_eq!(
        kind(&change(conv(&c), conv(&taken))),
        Some(EventType::ConversationAssigned)
    );
    let mut ended = taken.clone();
    ended.status = Status::Closed;
    ended.assigned_agent = None;
    assert_eq!(
        kind(&change(conv(&taken), conv(&ended))),
        Some(EventType::ConversationEnded)
    );
    let mut later = taken.clone();
    later.last_message_preview = Some("more".into());
    assert_eq!(
        kind(&change(conv(&taken), conv(&later))),
        Some(EventType::ConversationUpdated)
    );
}

#[test]
fn a_change_that_leaves_the_conversation_as_it_was_and_a_removal_make_no_event() {
    let c = conversation(&AccountId::new());
    assert_eq!(kind(&change(conv(&c), conv(&c))), None);
    assert_eq!(kind(&change(conv(&c), None)), None);
}

#[test]
fn a_new_message_is_received_sent_or_a_note_by_its_direction() {
    let c = conversation(&AccountId::new());
    let inbound = Message::inbound("hi", &analyse("hi"), "R1");
    let e = event_of(&change(None, msg(&c, &inbound))).unwrap();
    assert_eq!(e.kind, EventType::MessageReceived);
    assert_eq!(e.message_id.as_ref(), Some(&inbound.message_id));
    assert_eq!(e.data["text"], "hi");
    let outbound = Message::outbound_pending("hello", &analyse("hello"), Some(&uid("a-1")));
    assert_eq!(kind(&change(None, msg(&c, &outbound))), Some(EventType::MessageSent));
    let mut notice = inbound.clone();
    notice.direction = channel_domain::conversation::Direction::System;
    assert_eq!(kind(&change(None, msg(&c, &notice))), Some(EventType::NoteAdded));
    let author = channel_domain::conversation::Author {
        user_id: uid("a-1"),
        name: "Ada".into(),
    };
    let note = Message::note("call back after 5", author);
    let e = event_of(&change(None, msg(&c, &note))).unwrap();
    assert_eq!(
        (e.kind, &e.data["author"]["name"]),
        (EventType::NoteAdded, &serde_json::json!("Ada"))
    );
}

#[test]
fn a_status_that_moves_is_a_status_event_and_nothing_else_is() {
    let c = conversation(&AccountId::new());
    let sending = Message::outbound_pending("hello", &analyse("hello"), Some(&uid("a-1")));
    let mut delivered = sending.clone();
    delivered.status = MessageState::Delivered;
    let e = event_of(&change(msg(&c, &sending), msg(&c, &delivered))).unwrap();
    assert_eq!(e.kind, EventType::MessageStatus);
    assert_eq!(e.data["status"], "delivered");
    assert_eq!(kind(&change(msg(&c, &delivered), msg(&c, &delivered))), None);
}

struct Desk {
    world: World,
    sockets: MemorySockets,
    bus: MemoryBus,
    work: MemoryWork,
}

impl Desk {
    fn new() -> Self {
        Self {
            world: World::new(),
            sockets: MemorySockets::default(),
            bus: MemoryBus::default(),
            work: MemoryWork::default(),
        }
    }

    fn publisher(&self) -> Publisher<MemoryStore, MemorySockets, MemoryBus, MemoryWork> {
        Publisher {
            store: self.world.store.clone(),
            sockets: self.sockets.clone(),
            bus: self.bus.clone(),
            work: self.work.clone(),
        }
    }

    async fn connect(&self, id: &str, user: &str, roles: &[Role]) {
        let live = Live {
            store: self.world.store.clone(),
        };
        live.connect(&caller(user, roles), id, i64::MAX).await.unwrap();
    }

    fn texts(&self, n: usize) -> Vec<Change> {
        let c = conversation(&self.world.account.account_id);
        let mut changes = vec![change(None, conv(&c))];
        for i in 0..n {
            let m = Message::inbound(&format!("m{i}"), &analyse("m"), &format!("R{i}"));
            changes.push(change(None, msg(&c, &m)));
        }
        changes
    }

    fn received(&self, connection: &str) -> Vec<Event> {
        self.sockets.events_of(connection)
    }
}

#[tokio::test]
async fn members_and_operators_receive_an_accounts_events_in_order_and_outsiders_nothing() {
    let d = Desk::new();
    d.world.member("agent-1", Role::Agent);
    d.connect("C-agent", "agent-1", &[Role::Agent]).await;
    d.connect("C-op", "op-1", &[Role::Operator]).await;
    d.connect("C-other", "agent-9", &[Role::Agent]).await;
    let delivered = d.publisher().deliver(&d.texts(3)).await.unwrap();
    assert_eq!((delivered.events, delivered.posted), (4, 8));
    let texts: Vec<String> = d
        .received("C-agent")
        .iter()
        .skip(1)
        .map(|e| e.data["text"].to_string())
        .collect();
    assert_eq!(texts, ["\"m0\"", "\"m1\"", "\"m2\""]);
    assert_eq!(d.received("C-op").len(), 4);
    assert!(d.received("C-other").is_empty());
    assert_eq!(d.bus.events.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_new_conversation_is_opened_before_its_first_message_whatever_order_the_stream_gave() {
    let d = Desk::new();
    d.connect("C-op", "op-1", &[Role::Operator]).await;
    let mut changes = d.texts(1);
    changes.swap(0, 1);
    d.publisher().deliver(&changes).await.unwrap();
    let kinds: Vec<EventType> = d.received("C-op").iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::ConversationOpened, EventType::MessageReceived]);
}

#[tokio::test]
async fn a_member_removed_after_connecting_stops_receiving() {
    let d = Desk::new();
    d.world.member("agent-1", Role::Agent);
    d.connect("C-agent", "agent-1", &[Role::Agent]).await;
    d.world.store.write(|s| s.members.clear());
    d.publisher().deliver(&d.texts(1)).await.unwrap();
    assert!(d.received("C-agent").is_empty());
    let listed = d.world.store.read(|s| s.listeners.values().flatten().count());
    assert_eq!(listed, 0, "the former member's listing is dropped");
}

#[tokio::test]
async fn a_gone_connection_is_forgotten() {
    let d = Desk::new();
    d.connect("C-op", "op-1", &[Role::Operator]).await;
    d.sockets.gone.lock().unwrap().push("C-op".into());
    let delivered = d.publisher().deliver(&d.texts(1)).await.unwrap();
    assert_eq!(delivered.gone, 1, "one post found it gone, then it was not asked again");
    assert_eq!(d.world.store.read(|s| s.listeners.values().flatten().count()), 0);
}

#[tokio::test]
async fn a_bus_that_refuses_leaves_the_batch_to_the_streams_retry_from_its_first_unpublished_change() {
    let d = Desk::new();
    let changes = d.texts(12);
    d.bus.failing.store(1, std::sync::atomic::Ordering::SeqCst);
    let refused = d.publisher().deliver(&changes).await.unwrap_err();
    assert!(matches!(refused, Undelivered::Bus { from: 0, .. }));
    d.publisher().deliver(&changes[refused.from()..]).await.unwrap();
    assert_eq!(d.bus.events.lock().unwrap().len(), 13, "every event once on the bus");
}

#[tokio::test]
async fn a_refusal_after_a_reordered_opening_resumes_from_the_earliest_change_behind_it() {
    let d = Desk::new();
    let mut changes = d.texts(0);
    let first_message = d.texts(1).remove(1);
    // The stream gave a message of a conversation before its opening; the bus refuses that batch.
    let c = match &changes[0].new {
        Some(Snapshot::Conversation(c)) => c.clone(),
        _ => unreachable!(),
    };
    let mut m = first_message.clone();
    if let Some(Snapshot::Message { message, .. }) = &first_message.new {
        m.new = msg(&c, message);
    }
    changes.insert(0, m);
    d.bus.failing.store(1, std::sync::atomic::Ordering::SeqCst);
    let refused = d.publisher().deliver(&changes).await.unwrap_err();
    assert_eq!(
        refused.from(),
        0,
        "the message (change 0) is delivered again, not only the opening"
    );
}

#[tokio::test]
async fn a_caller_without_membership_is_listed_nowhere_and_a_disconnect_forgets_a_connection() {
    let d = Desk::new();
    d.connect("C-none", "agent-9", &[Role::Agent]).await;
    assert_eq!(d.world.store.read(|s| s.listeners.values().flatten().count()), 0);
    d.world.member("sup-1", Role::Supervisor);
    d.connect("C-sup", "sup-1", &[Role::Supervisor]).await;
    assert_eq!(d.world.store.read(|s| s.listeners.values().flatten().count()), 1);
    let live = Live {
        store: d.world.store.clone(),
    };
    live.disconnect("C-sup").await.unwrap();
    assert_eq!(d.world.store.read(|s| s.listeners.values().flatten().count()), 0);
}

#[tokio::test]
async fn a_connection_whose_token_expired_is_closed_and_hears_nothing() {
    let d = Desk::new();
    d.world.member("agent-1", Role::Agent);
    d.connect("C-agent", "agent-1", &[Role::Agent]).await;
    d.connect("C-op", "op-1", &[Role::Operator]).await;
    // Their tokens expire (the listings' expiry passes)
    let past = channel_domain::ids::epoch_seconds() - 1;
    d.world.store.write(|s| {
        for listed in s.listeners.values_mut() {
            for c in listed.iter_mut() {
                c.expires_at = past;
            }
        }
    });
    d.publisher().deliver(&d.texts(1)).await.unwrap();
    assert!(d.received("C-agent").is_empty() && d.received("C-op").is_empty());
    let mut closed = d.sockets.closed.lock().unwrap().clone();
    closed.sort();
    assert_eq!(
        closed,
        ["C-agent", "C-op"],
        "the server closes them: the console reconnects with a renewed token"
    );
    assert_eq!(d.world.store.read(|s| s.listeners.values().flatten().count()), 0);
}

#[tokio::test]
async fn an_automated_message_recorded_to_go_out_is_queued_for_the_worker_once_per_delivery() {
    use channel_domain::automation::Kind;
    let d = Desk::new();
    let c = conversation(&d.world.account.account_id);
    let greeting = Message::automated(Kind::Greeting, "Hello", &channel_domain::ids::MessageId::new());
    let changes = vec![change(None, conv(&c)), change(None, msg(&c, &greeting))];
    let delivered = d.publisher().deliver(&changes).await.unwrap();
    assert_eq!(delivered.jobs, 1);
    let jobs = d.work.drain();
    assert!(
        matches!(&jobs[..], [channel_domain::jobs::Job::Send { message_id, .. }] if *message_id == greeting.message_id),
        "{jobs:?}"
    );
    // A queue that refuses leaves the batch to the stream's retry from the job's change
    d.work.unavailable.store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = d.publisher().deliver(&changes).await.unwrap_err();
    assert!(matches!(refused, Undelivered::Work { from: 1, .. }), "{refused:?}");
}

#[tokio::test]
async fn an_account_whose_listeners_cannot_be_read_is_heard_by_nobody_and_holds_nothing_back() {
    // Given a console listening, and the table failing the listeners' read
    let d = Desk::new();
    d.connect("C-op", "op-1", &[Role::Operator]).await;
    d.world.store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut changes = d.texts(2);
    let job = {
        let c = conversation(&d.world.account.account_id);
        let m = Message::automated(channel_domain::automation::Kind::Greeting, "Hi", &MessageId::new());
        change(None, msg(&c, &m))
    };
    changes.push(job);
    // When the batch is delivered
    let delivered = d.publisher().deliver(&changes).await.unwrap();
    // Then its events go to the bus and its job to the worker, posted to nobody, the batch done.
    assert_eq!((delivered.unheard, delivered.posted), (4, 0));
    assert_eq!(d.bus.events.lock().unwrap().len(), 4);
    assert_eq!(d.work.drain().len(), 1);
    assert!(d.received("C-op").is_empty());
}
