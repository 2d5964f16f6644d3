use crate::conversation::{Event, Status};
use crate::service::desk::DeskError;
use crate::service::harness::*;

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
            .apply(&op("a-1"), &crate::ids::ConversationId::new(), Event::End)
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
        .list(&op("a-1"), &account, &[Status::Open, Status::Closed], 10, None)
        .await;
    assert_eq!(mixed.unwrap_err(), DeskError::Unlistable);
    stored(&w.text(CUSTOMER, "hi", "R1").await);
    let page = w
        .desk()
        .list(&op("a-1"), &account, &Status::LIVE, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn a_transcript_reads_newest_first_when_asked_and_pages_on() {
    use crate::service::ports::Order;
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "one", "R1").await);
    w.text(CUSTOMER, "two", "R2").await;
    w.text(CUSTOMER, "three", "R3").await;
    let texts = |c: &crate::conversation::Conversation| -> Vec<String> {
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
