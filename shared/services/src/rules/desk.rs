use crate::desk::{listing_of, Assigned, DeskError, Filter};
use crate::ports::{Listing, Page};
use crate::testkit::harness::*;
use channel_domain::access::UserId;
use channel_domain::conversation::{Conversation, Event, Status};
use channel_domain::phone::PhoneNumber;

const CUSTOMER: &str = "48601234567";

#[tokio::test]
async fn accepting_gives_the_conversation_to_the_agent() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let moved = w.desk().apply(&op("a-7"), &id, Event::Accept).await.unwrap();
    assert_eq!(
        (moved.status, moved.assigned_agent.as_deref()),
        (Status::Active, Some("a-7"))
    );
    assert_eq!(w.conversation(&id), moved);
}

#[tokio::test]
async fn an_illegal_move_is_refused_with_the_current_status() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.desk().apply(&op("a-1"), &id, Event::Close).await.unwrap();
    let refused = w.desk().apply(&op("a-1"), &id, Event::Close).await.unwrap_err();
    assert_eq!(
        refused,
        DeskError::Illegal {
            from: Status::Waiting,
            event: Event::Close
        }
    );
    assert_eq!(
        w.desk()
            .apply(&op("a-1"), &channel_domain::ids::ConversationId::new(), Event::End)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
}

#[tokio::test]
async fn ending_frees_the_thread() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.desk().apply(&op("a-1"), &id, Event::End).await.unwrap();
    assert!(w.store.read(|s| s.pointers.is_empty()));
    assert_eq!(
        w.desk().apply(&op("a-1"), &id, Event::Accept).await.unwrap_err(),
        DeskError::Illegal {
            from: Status::Closed,
            event: Event::Accept
        }
    );
}

#[tokio::test]
async fn a_move_that_lost_a_race_is_decided_again_on_what_is_there_now() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let other = id.clone();
    w.store.before_next_write(move |s| {
        s.conversations.get_mut(&other).unwrap().status = Status::Active;
    });
    let refused = w.desk().apply(&op("a-1"), &id, Event::Accept).await.unwrap_err();
    assert_eq!(
        refused,
        DeskError::Illegal {
            from: Status::Active,
            event: Event::Accept
        }
    );
}

#[tokio::test]
async fn closed_conversations_are_listed_alone() {
    let w = World::new();
    let account = w.account.account_id.clone();
    let mixed = w
        .desk()
        .list(
            &op("a-1"),
            &account,
            &statuses(&[Status::Open, Status::Closed]),
            10,
            None,
        )
        .await;
    assert_eq!(mixed.unwrap_err(), DeskError::Unlistable);
    stored(&w.text(CUSTOMER, "hi", "R1").await);
    let page = w
        .desk()
        .list(&op("a-1"), &account, &Filter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

fn statuses(list: &[Status]) -> Filter {
    Filter {
        statuses: Some(list.to_vec()),
        ..Filter::default()
    }
}

fn assigned(a: Assigned) -> Filter {
    Filter {
        assigned: Some(a),
        ..Filter::default()
    }
}

#[test]
fn a_filter_names_the_partitions_it_lists() {
    let me = op("a-1");
    assert_eq!(
        listing_of(&me, &Filter::default()),
        Ok(Listing::Statuses(Status::LIVE.to_vec()))
    );
    assert_eq!(
        listing_of(&me, &statuses(&[Status::Closed])),
        Ok(Listing::Statuses(vec![Status::Closed]))
    );
    assert_eq!(
        listing_of(&me, &assigned(Assigned::Me)),
        Ok(Listing::Held(Some(UserId::parse("a-1").unwrap())))
    );
    assert_eq!(listing_of(&me, &assigned(Assigned::Nobody)), Ok(Listing::Held(None)));
    let other = UserId::parse("b-2").unwrap();
    assert_eq!(
        listing_of(&me, &assigned(Assigned::User(other.clone()))),
        Ok(Listing::Held(Some(other.clone())))
    );
    let number = PhoneNumber::parse(CUSTOMER).unwrap();
    let of_customer = Filter {
        customer: Some(number.clone()),
        assigned: Some(Assigned::User(other.clone())),
        ..Filter::default()
    };
    assert_eq!(
        listing_of(&me, &of_customer),
        Ok(Listing::Customer {
            number,
            support_numbers: Vec::new(),
            statuses: Status::LIVE.to_vec(),
            held: Some(Some(other))
        })
    );
}

#[test]
fn assigned_lists_every_live_status_and_never_closed_ones() {
    let me = op("a-1");
    let closed = Filter {
        statuses: Some(vec![Status::Closed]),
        assigned: Some(Assigned::Me),
        customer: None,
    };
    assert_eq!(listing_of(&me, &closed), Err(DeskError::AssignedClosed));
    let narrowed = Filter {
        statuses: Some(vec![Status::Waiting]),
        assigned: Some(Assigned::Nobody),
        customer: None,
    };
    assert_eq!(listing_of(&me, &narrowed), Err(DeskError::AssignedNarrowed));
    let all_live = Filter {
        statuses: Some(Status::LIVE.to_vec()),
        assigned: Some(Assigned::Nobody),
        customer: None,
    };
    assert_eq!(listing_of(&me, &all_live), Ok(Listing::Held(None)));
    let mixed = statuses(&[Status::Open, Status::Closed]);
    assert_eq!(listing_of(&me, &mixed), Err(DeskError::Unlistable));
}

#[test]
fn assigned_reads_me_none_or_a_user() {
    assert_eq!(Assigned::parse("me"), Some(Assigned::Me));
    assert_eq!(Assigned::parse("none"), Some(Assigned::Nobody));
    assert_eq!(
        Assigned::parse("u-7"),
        Some(Assigned::User(UserId::parse("u-7").unwrap()))
    );
    assert_eq!(Assigned::parse(""), None);
}

#[tokio::test]
async fn the_desk_lists_mine_unassigned_a_customers_and_counts_them() {
    let w = World::new();
    let account = w.account.account_id.clone();
    let first = stored(&w.text(CUSTOMER, "hi", "R1").await);
    stored(&w.text("48601234568", "hello", "R2").await);
    w.desk().apply(&op("a-1"), &first, Event::Accept).await.unwrap();
    let desk = w.desk();
    let ids = |p: Page<Conversation>| p.items.into_iter().map(|c| c.conversation_id).collect::<Vec<_>>();
    let mine = desk
        .list(&op("a-1"), &account, &assigned(Assigned::Me), 10, None)
        .await
        .unwrap();
    assert_eq!(ids(mine), std::slice::from_ref(&first));
    let nobodys = desk
        .list(&op("a-1"), &account, &assigned(Assigned::Nobody), 10, None)
        .await
        .unwrap();
    assert_eq!(nobodys.items.len(), 1);
    assert_ne!(nobodys.items[0].conversation_id, first);
    let number = PhoneNumber::parse(CUSTOMER).unwrap();
    let history = desk.history(&op("a-1"), &account, &number, 10, None).await.unwrap();
    assert_eq!(ids(history), std::slice::from_ref(&first));
    let counts = desk.counts(&op("a-1"), &account).await.unwrap();
    assert_eq!((counts.all, counts.mine, counts.unassigned), (2, 1, 1));
    w.desk().apply(&op("a-1"), &first, Event::End).await.unwrap();
    let history = desk.history(&op("a-1"), &account, &number, 10, None).await.unwrap();
    assert_eq!(history.items[0].status, Status::Closed, "the history keeps closed ones");
    let counts = desk.counts(&op("a-1"), &account).await.unwrap();
    assert_eq!((counts.all, counts.mine, counts.unassigned), (1, 0, 1));
}

#[tokio::test]
async fn a_transcript_reads_newest_first_when_asked_and_pages_on() {
    use crate::ports::Order;
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "one", "R1").await);
    w.text(CUSTOMER, "two", "R2").await;
    w.text(CUSTOMER, "three", "R3").await;
    let texts = |c: &channel_domain::conversation::Conversation| -> Vec<String> {
        c.messages.iter().flatten().map(|m| m.text.clone()).collect()
    };
    let newest = w
        .desk()
        .transcript(&op("a-1"), &id, Order::Newest, 2, None)
        .await
        .unwrap();
    assert_eq!(texts(&newest), ["three", "two"]);
    let cursor = newest.next_cursor.clone().unwrap();
    let rest = w
        .desk()
        .transcript(&op("a-1"), &id, Order::Newest, 2, Some(&cursor))
        .await
        .unwrap();
    assert_eq!((texts(&rest), rest.next_cursor), (vec!["one".to_owned()], None));
    let oldest = w
        .desk()
        .transcript(&op("a-1"), &id, Order::Oldest, 2, None)
        .await
        .unwrap();
    assert_eq!(texts(&oldest), ["one", "two"]);
}

mod notes {
    use super::*;
    use channel_domain::access::Role;
    use channel_domain::audit::AuditAction;
    use channel_domain::conversation::Direction;
    use channel_domain::telesign::MessageState;

    fn agent(id: &str) -> channel_domain::access::Caller {
        let mut c = caller(id, &[Role::Agent]);
        c.name = Some(format!("Agent {id}"));
        c
    }

    #[tokio::test]
    async fn a_note_joins_the_transcript_with_its_author_and_is_never_sent() {
        let w = World::new();
        w.member("a-1", Role::Agent);
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let note = w.desk().note(&agent("a-1"), &id, "wants a refund").await.unwrap();
        assert_eq!((note.direction, note.status), (Direction::Note, MessageState::Received));
        let author = note.author.clone().unwrap();
        assert_eq!((author.user_id.as_str(), author.name.as_str()), ("a-1", "Agent a-1"));
        assert_eq!(w.transcript(&id)[1], note);
        assert!(w.store.read(|s| s.outrefs.is_empty()), "nothing went out");
        let entry = w.store.read(|s| s.audit.last().cloned()).unwrap();
        assert_eq!((entry.action, entry.actor.as_str()), (AuditAction::NoteWritten, "a-1"));
        assert!(
            !serde_json::to_string(&entry).unwrap().contains("refund"),
            "no text in the entry"
        );
    }

    #[tokio::test]
    async fn an_operator_without_a_name_in_the_token_is_named_by_id() {
        let w = World::new();
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let note = w.desk().note(&op("o-9"), &id, "x").await.unwrap();
        assert_eq!(note.author.unwrap().name, "o-9");
    }

    #[tokio::test]
    async fn an_agent_writes_notes_only_on_their_own_or_unassigned_conversations() {
        let w = World::new();
        w.member("a-1", Role::Agent);
        w.member("a-2", Role::Agent);
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap();
        assert!(w.desk().note(&agent("a-1"), &id, "mine").await.is_ok());
        assert_eq!(
            w.desk().note(&agent("a-2"), &id, "theirs").await.unwrap_err(),
            DeskError::AssignedToOther("a-1".into())
        );
        let outsider = caller("a-3", &[Role::Agent]);
        assert_eq!(
            w.desk().note(&outsider, &id, "x").await.unwrap_err(),
            DeskError::NotFound
        );
        assert_eq!(w.transcript(&id).len(), 2);
    }

    #[tokio::test]
    async fn a_note_is_one_to_2000_characters() {
        let w = World::new();
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let desk = w.desk();
        assert_eq!(
            desk.note(&op("o-1"), &id, " \n ").await.unwrap_err(),
            DeskError::EmptyNote
        );
        let longest = "ż".repeat(2000);
        assert_eq!(desk.note(&op("o-1"), &id, &longest).await.unwrap().text, longest);
        let over = "a".repeat(2001);
        assert_eq!(
            desk.note(&op("o-1"), &id, &over).await.unwrap_err(),
            DeskError::NoteTooLong
        );
    }

    #[tokio::test]
    async fn a_closed_conversation_takes_no_note() {
        let w = World::new();
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        w.desk().apply(&op("o-1"), &id, Event::End).await.unwrap();
        assert_eq!(
            w.desk().note(&op("o-1"), &id, "late").await.unwrap_err(),
            DeskError::Closed
        );
        assert_eq!(w.transcript(&id).len(), 1);
    }

    #[tokio::test]
    async fn a_note_that_lost_a_race_with_an_assignment_is_decided_again() {
        let w = World::new();
        w.member("a-1", Role::Agent);
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let other = id.clone();
        w.store.before_next_write(move |s| {
            s.conversations.get_mut(&other).unwrap().assigned_agent = Some(uid("a-2"));
        });
        assert_eq!(
            w.desk().note(&agent("a-1"), &id, "x").await.unwrap_err(),
            DeskError::AssignedToOther("a-2".into())
        );
        assert_eq!(w.transcript(&id).len(), 1);
    }
}

mod desk_fields {
    use super::*;
    use channel_domain::access::{Role, UserId};

    #[tokio::test]
    async fn a_customer_message_needs_a_reply_waiting_since_the_first_unanswered_one() {
        let w = World::new();
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let first = w.conversation(&id);
        assert!(first.needs_reply);
        assert_eq!(first.waiting_since, Some(first.created_at));
        w.text(CUSTOMER, "anyone?", "R2").await;
        let second = w.conversation(&id);
        assert_eq!(second.waiting_since, first.waiting_since, "still the first one");
        assert_eq!(second.last_customer_message_at, Some(w.transcript(&id)[1].created_at));
    }

    #[tokio::test]
    async fn an_agents_reply_answers_and_the_next_customer_message_waits_anew() {
        let w = World::new();
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        w.sender().reply(&op("a-1"), &id, &draft("hello", None)).await.unwrap();
        let answered = w.conversation(&id);
        assert_eq!((answered.needs_reply, answered.waiting_since), (false, None));
        w.text(CUSTOMER, "thanks", "R2").await;
        let again = w.conversation(&id);
        assert!(again.needs_reply);
        assert_eq!(again.waiting_since, again.last_customer_message_at);
    }

    #[tokio::test]
    async fn an_automated_message_is_not_an_answer() {
        let w = World::new();
        w.set_settings(serde_json::json!({"messages": {"greeting": "We will answer shortly."}}));
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        assert!(w.transcript(&id)[1].automated);
        let c = w.conversation(&id);
        assert_eq!((c.needs_reply, c.waiting_since), (true, Some(c.created_at)));
    }

    #[tokio::test]
    async fn the_holders_name_is_kept_on_the_conversation() {
        let w = World::new();
        w.member("a-2", Role::Agent);
        w.store.write(|s| {
            for ((_, u), m) in s.members.iter_mut() {
                if u.as_str() == "a-2" {
                    m.display_name = Some("Ada".into());
                }
            }
        });
        w.member("a-3", Role::Agent);
        let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
        let a2 = UserId::parse("a-2").unwrap();
        let moved = w.desk().assign(&op("o-1"), &id, Some(&a2)).await.unwrap();
        assert_eq!(moved.assigned_agent_name.as_deref(), Some("Ada"));
        assert_eq!(w.conversation(&id).assigned_agent_name.as_deref(), Some("Ada"));
        let a3 = UserId::parse("a-3").unwrap();
        w.desk().assign(&op("o-1"), &id, Some(&a3)).await.unwrap();
        assert_eq!(
            w.conversation(&id).assigned_agent_name.as_deref(),
            Some("a-3"),
            "no display name"
        );
        w.desk().assign(&op("o-1"), &id, None).await.unwrap();
        assert_eq!(w.conversation(&id).assigned_agent_name, None);
        let mut taker = caller("a-2", &[Role::Agent]);
        taker.name = Some("Ada L.".into());
        w.desk().apply(&taker, &id, Event::Accept).await.unwrap();
        assert_eq!(w.conversation(&id).assigned_agent_name.as_deref(), Some("Ada L."));
    }
}

#[tokio::test]
async fn an_operator_reading_the_desk_of_no_account_is_told_it_is_not_there() {
    let w = World::new();
    let nowhere = channel_domain::ids::AccountId::new();
    let number = PhoneNumber::parse(CUSTOMER).unwrap();
    let desk = w.desk();
    assert_eq!(
        desk.counts(&op("o-1"), &nowhere).await.unwrap_err(),
        DeskError::AccountNotFound
    );
    let history = desk.history(&op("o-1"), &nowhere, &number, 10, None).await;
    assert_eq!(history.unwrap_err(), DeskError::AccountNotFound);
    let canned = w.team().canned_responses(&op("o-1"), &nowhere, 50, None).await;
    assert_eq!(canned.unwrap_err(), crate::team::TeamError::AccountNotFound);
    let here = w.account.account_id.clone();
    assert_eq!(desk.counts(&op("o-1"), &here).await.unwrap().all, 0);
}
