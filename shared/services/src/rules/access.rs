//! Roles, membership, assignment and audit, through the services over the in-memory store.

use crate::desk::DeskError;
use crate::send::SendError;
use crate::team::TeamError;
use crate::testkit::harness::*;
use channel_domain::access::{Role, UserId};
use channel_domain::audit::AuditAction;
use channel_domain::conversation::{Event, Status};

const CUSTOMER: &str = "48601234567";

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn agent(id: &str) -> channel_domain::access::Caller {
    caller(id, &[Role::Agent])
}

fn supervisor(id: &str) -> channel_domain::access::Caller {
    caller(id, &[Role::Supervisor])
}

#[tokio::test]
async fn an_agent_who_is_not_a_member_sees_nothing_of_the_account() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let outsider = agent("a-9");
    let account = w.account.account_id.clone();
    assert_eq!(
        w.desk()
            .list(&outsider, &account, &Default::default(), 10, None)
            .await
            .unwrap_err(),
        DeskError::AccountNotFound
    );
    assert_eq!(
        w.desk()
            .transcript(&outsider, &id, crate::ports::Order::Oldest, 10, None)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
    assert_eq!(
        w.desk().apply(&outsider, &id, Event::Accept).await.unwrap_err(),
        DeskError::NotFound
    );
    let refused = w.sender().reply(&outsider, &id, &draft("hi", None)).await.unwrap_err();
    assert_eq!(refused, SendError::ConversationNotFound);
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_reply_to_a_conversation_another_agent_holds_is_refused_and_nothing_is_sent() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("a-2", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let taken = w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap();
    assert_eq!(taken.assigned_agent.as_deref(), Some("a-1"));
    let refused = w
        .sender()
        .reply(&agent("a-2"), &id, &draft("mine now", None))
        .await
        .unwrap_err();
    assert_eq!(refused, SendError::AssignedToOther("a-1".into()));
    assert_eq!(
        w.desk().apply(&agent("a-2"), &id, Event::End).await.unwrap_err(),
        DeskError::AssignedToOther("a-1".into())
    );
    assert!(w.gateway.sent().is_empty());
    assert_eq!(w.transcript(&id).len(), 1);
}

#[tokio::test]
async fn an_assignment_between_the_read_and_the_send_stops_the_send() {
    let w = World::new();
    w.member("a-2", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let other = id.clone();
    w.store.before_next_write(move |s| {
        s.conversations.get_mut(&other).unwrap().assigned_agent = Some(uid("a-3"));
    });
    let refused = w
        .sender()
        .reply(&agent("a-2"), &id, &draft("hello", None))
        .await
        .unwrap_err();
    assert_eq!(refused, SendError::AssignedToOther("a-3".into()));
    assert!(w.gateway.sent().is_empty());
}

#[tokio::test]
async fn a_member_removed_between_the_read_and_the_accept_takes_nothing() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let account = w.account.account_id.clone();
    w.store.before_next_write(move |s| {
        s.members.remove(&(account, UserId::parse("a-1").unwrap()));
    });
    let refused = w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap_err();
    assert_eq!(refused, DeskError::NotFound);
    assert_eq!(w.conversation(&id).assigned_agent, None);
}

#[tokio::test]
async fn an_agent_transfers_their_own_conversation_to_a_member_only() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("a-2", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap();
    let stranger = w
        .desk()
        .assign(&agent("a-1"), &id, Some(&user("x-1")))
        .await
        .unwrap_err();
    assert_eq!(stranger, DeskError::NotAMember(user("x-1")));
    let moved = w.desk().assign(&agent("a-1"), &id, Some(&user("a-2"))).await.unwrap();
    assert_eq!(
        (moved.assigned_agent.as_deref(), moved.status),
        (Some("a-2"), Status::Active)
    );
    let back = w
        .desk()
        .assign(&agent("a-1"), &id, Some(&user("a-1")))
        .await
        .unwrap_err();
    assert_eq!(back, DeskError::AssignedToOther("a-2".into()));
    w.sender()
        .reply(&agent("a-2"), &id, &draft("I have it", None))
        .await
        .unwrap();
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_supervisor_assigns_any_conversation_of_their_account() {
    let w = World::new();
    w.member("s-1", Role::Supervisor);
    w.member("a-1", Role::Agent);
    w.member("a-2", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap();
    let moved = w
        .desk()
        .assign(&supervisor("s-1"), &id, Some(&user("a-2")))
        .await
        .unwrap();
    assert_eq!(moved.assigned_agent.as_deref(), Some("a-2"));
    let freed = w.desk().assign(&supervisor("s-1"), &id, None).await.unwrap();
    assert_eq!(freed.assigned_agent, None);
    assert_eq!(w.conversation(&id).assigned_agent, None);
}

#[tokio::test]
async fn removing_a_member_lets_go_of_their_conversations() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    let first = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let second = stored(&w.text("48601234568", "hello", "R2").await);
    for id in [&first, &second] {
        w.desk().apply(&agent("a-1"), id, Event::Accept).await.unwrap();
    }
    let account = w.account.account_id.clone();
    let released = w
        .team()
        .remove_member(&op("o-1"), &account, &user("a-1"))
        .await
        .unwrap();
    assert_eq!(released, 2);
    assert_eq!(w.conversation(&first).assigned_agent, None);
    assert_eq!(w.conversation(&second).assigned_agent, None);
    let gone = w.desk().apply(&agent("a-1"), &first, Event::Accept).await.unwrap_err();
    assert_eq!(gone, DeskError::NotFound);
    // Repeating it finds nothing more to do.
    assert_eq!(
        w.team()
            .remove_member(&op("o-1"), &account, &user("a-1"))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn only_operators_and_supervisors_text_customers_first() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("s-1", Role::Supervisor);
    let thread = w.thread(CUSTOMER);
    let refused = w
        .sender()
        .outreach(&agent("a-1"), &thread, &draft("hi", None))
        .await
        .unwrap_err();
    assert_eq!(refused, SendError::Forbidden);
    let outsider = w
        .sender()
        .outreach(&supervisor("s-9"), &thread, &draft("hi", None))
        .await;
    assert_eq!(outsider.unwrap_err(), SendError::AccountNotFound);
    w.sender()
        .outreach(&supervisor("s-1"), &thread, &draft("hi", None))
        .await
        .unwrap();
    assert_eq!(w.gateway.sent().len(), 1);
}

#[tokio::test]
async fn the_trail_is_the_supervisors_and_the_operators_and_agents_see_whom_to_transfer_to() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("s-1", Role::Supervisor);
    let account = w.account.account_id.clone();
    let team = w.team();
    assert_eq!(
        team.members(&agent("a-1"), &account, 100, None)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(
        team.members(&agent("a-9"), &account, 100, None).await.unwrap_err(),
        TeamError::AccountNotFound
    );
    assert_eq!(
        team.members(&supervisor("s-1"), &account, 100, None)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(
        team.audit(&agent("a-1"), &account, 10, None).await.unwrap_err(),
        TeamError::Forbidden
    );
    assert_eq!(
        team.audit(&supervisor("s-9"), &account, 10, None).await.unwrap_err(),
        TeamError::AccountNotFound
    );
    let put = team
        .put_member(&supervisor("s-1"), &account, user("a-2"), Role::Agent, None)
        .await;
    assert_eq!(put.unwrap_err(), TeamError::Forbidden);
    let operator = team
        .put_member(&op("o-1"), &account, user("a-2"), Role::Operator, None)
        .await;
    assert_eq!(operator.unwrap_err(), TeamError::InvalidRole);
}

#[tokio::test]
async fn an_operator_asking_about_an_account_that_does_not_exist_is_told_so() {
    let w = World::new();
    let nowhere = channel_domain::ids::AccountId::new();
    let team = w.team();
    assert_eq!(
        team.members(&op("o-1"), &nowhere, 100, None).await.unwrap_err(),
        TeamError::AccountNotFound
    );
    let removed = team.remove_member(&op("o-1"), &nowhere, &user("a-1")).await;
    assert_eq!(removed.unwrap_err(), TeamError::AccountNotFound);
    let put = team
        .put_member(&op("o-1"), &nowhere, user("a-1"), Role::Agent, None)
        .await;
    assert_eq!(put.unwrap_err(), TeamError::AccountNotFound);
    // A user who was no member of an existing account: nothing to remove, nothing to let go.
    let account = w.account.account_id.clone();
    assert_eq!(team.remove_member(&op("o-1"), &account, &user("a-1")).await.unwrap(), 0);
}

#[tokio::test]
async fn me_lists_the_accounts_a_caller_works_in_with_the_role_the_token_allows() {
    let w = World::new();
    w.member("a-1", Role::Supervisor);
    let me = w.team().me(&agent("a-1")).await.unwrap();
    assert_eq!(me.accounts.len(), 1);
    assert_eq!(me.accounts[0].role, Role::Agent);
    assert!(w.team().me(&agent("nobody")).await.unwrap().accounts.is_empty());
    assert_eq!(w.team().me(&op("o-1")).await.unwrap().accounts[0].role, Role::Operator);
}

#[tokio::test]
async fn every_change_leaves_one_entry_naming_its_actor_and_no_text() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("a-2", Role::Agent);
    let id = stored(&w.text(CUSTOMER, "secret order 1234", "R1").await);
    w.desk().apply(&agent("a-1"), &id, Event::Accept).await.unwrap();
    w.sender()
        .reply(&agent("a-1"), &id, &draft("private words", None))
        .await
        .unwrap();
    w.desk().assign(&agent("a-1"), &id, Some(&user("a-2"))).await.unwrap();
    w.desk().apply(&agent("a-2"), &id, Event::Close).await.unwrap();
    w.text(CUSTOMER, "STOP", "R2").await;
    w.desk().apply(&agent("a-2"), &id, Event::End).await.unwrap();
    let trail = w.store.read(|s| s.audit.clone());
    let seen: Vec<(AuditAction, &str)> = trail.iter().map(|e| (e.action, e.actor.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (AuditAction::ConversationAccepted, "a-1"),
            (AuditAction::MessageSent, "a-1"),
            (AuditAction::ConversationAssigned, "a-1"),
            (AuditAction::ConversationClosed, "a-2"),
            (AuditAction::ConsentChanged, "customer"),
            (AuditAction::ConversationEnded, "a-2"),
        ]
    );
    let text = serde_json::to_string(&trail).unwrap();
    for secret in ["secret order", "private words", KEY, CUSTOMER] {
        assert!(!text.contains(secret), "{secret} in the trail");
    }
    let page = w
        .team()
        .audit(&op("o-1"), &w.account.account_id, 2, None)
        .await
        .unwrap();
    assert_eq!(page.items[0].action, AuditAction::ConversationEnded);
    assert!(page.next_cursor.is_some());
}

#[tokio::test]
async fn closing_or_ending_an_unassigned_conversation_takes_nobody() {
    let w = World::new();
    w.member("s-1", Role::Supervisor);
    let id = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let closed = w.desk().apply(&supervisor("s-1"), &id, Event::Close).await.unwrap();
    assert_eq!((closed.status, closed.assigned_agent), (Status::Waiting, None));
    let ended = w.desk().apply(&supervisor("s-1"), &id, Event::End).await.unwrap();
    assert_eq!((ended.status, ended.assigned_agent), (Status::Closed, None));
}

#[tokio::test]
async fn a_display_name_is_not_blank_and_at_most_a_hundred_characters() {
    let w = World::new();
    let account = w.account.account_id.clone();
    let team = w.team();
    for bad in ["   ", &"x".repeat(101)] {
        let refused = team
            .put_member(&op("o-1"), &account, user("a-1"), Role::Agent, Some(bad.to_owned()))
            .await;
        assert_eq!(refused.unwrap_err(), TeamError::InvalidDisplayName, "{bad:?}");
    }
    let named = team
        .put_member(
            &op("o-1"),
            &account,
            user("a-1"),
            Role::Agent,
            Some(format!(" {} ", "x".repeat(100))),
        )
        .await
        .unwrap();
    assert_eq!(named.display_name, Some("x".repeat(100)));
}

#[tokio::test]
async fn removing_a_member_leaves_an_ended_conversation_as_it_was() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    let live = stored(&w.text(CUSTOMER, "hi", "R1").await);
    let ended = stored(&w.text("48601234568", "hello", "R2").await);
    for id in [&live, &ended] {
        w.desk().apply(&agent("a-1"), id, Event::Accept).await.unwrap();
    }
    w.desk().apply(&agent("a-1"), &ended, Event::End).await.unwrap();
    let account = w.account.account_id.clone();
    let released = w
        .team()
        .remove_member(&op("o-1"), &account, &user("a-1"))
        .await
        .unwrap();
    assert_eq!(released, 1);
    assert_eq!(
        w.conversation(&ended).assigned_agent.as_deref(),
        Some("a-1"),
        "history keeps who ended it"
    );
    assert_eq!(w.conversation(&live).assigned_agent, None);
}

#[tokio::test]
async fn canned_responses_are_written_by_supervisors_and_read_by_every_member() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    w.member("s-1", Role::Supervisor);
    let account = w.account.account_id.clone();
    let team = w.team();
    let written = team
        .create_canned_response(&supervisor("s-1"), &account, " Parcel ", "It ships tomorrow.")
        .await
        .unwrap();
    assert_eq!(written.title, "Parcel");
    let by_agent = team.create_canned_response(&agent("a-1"), &account, "Mine", "x").await;
    assert_eq!(by_agent.unwrap_err(), TeamError::Forbidden);
    let read = team.canned_responses(&agent("a-1"), &account, 50, None).await.unwrap();
    assert_eq!(read.items, std::slice::from_ref(&written));
    let outsider = team.canned_responses(&agent("a-9"), &account, 50, None).await;
    assert_eq!(outsider.unwrap_err(), TeamError::AccountNotFound);
    let id = written.canned_response_id.clone();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let changed = team
        .change_canned_response(&op("o-1"), &account, &id, "Parcels", "It ships today.")
        .await
        .unwrap();
    assert_eq!(changed.title, "Parcels");
    assert!(changed.updated_at > written.updated_at, "the change is dated");
    assert_eq!(
        (changed.text.as_str(), changed.created_at),
        ("It ships today.", written.created_at)
    );
    assert_eq!(
        team.change_canned_response(&agent("a-1"), &account, &id, "t", "x")
            .await
            .unwrap_err(),
        TeamError::Forbidden
    );
    assert_eq!(
        team.change_canned_response(&op("o-1"), &account, &id, "", "x")
            .await
            .unwrap_err(),
        TeamError::InvalidCanned(channel_domain::canned::CannedError::Title)
    );
    team.delete_canned_response(&supervisor("s-1"), &account, &id)
        .await
        .unwrap();
    assert_eq!(
        team.delete_canned_response(&supervisor("s-1"), &account, &id)
            .await
            .unwrap_err(),
        TeamError::CannedNotFound
    );
    let other = channel_domain::ids::CannedResponseId::new();
    assert_eq!(
        team.change_canned_response(&op("o-1"), &account, &other, "t", "x")
            .await
            .unwrap_err(),
        TeamError::CannedNotFound
    );
}

#[tokio::test]
async fn canned_responses_are_audited_by_title_and_need_their_account() {
    let w = World::new();
    let account = w.account.account_id.clone();
    let team = w.team();
    let written = team
        .create_canned_response(&op("o-1"), &account, "Parcel", "It ships tomorrow.")
        .await
        .unwrap();
    let id = written.canned_response_id.clone();
    team.change_canned_response(&op("o-1"), &account, &id, "Parcel", "Today.")
        .await
        .unwrap();
    team.delete_canned_response(&op("o-1"), &account, &id).await.unwrap();
    let trail: Vec<String> = w
        .store
        .read(|s| s.audit.iter().map(|e| e.action.as_str().to_owned()).collect());
    let canned: Vec<&String> = trail.iter().filter(|a| a.starts_with("canned_response")).collect();
    assert_eq!(
        canned,
        [
            "canned_response.changed",
            "canned_response.changed",
            "canned_response.deleted"
        ]
    );
    let nowhere = channel_domain::ids::AccountId::new();
    assert_eq!(
        team.create_canned_response(&op("o-1"), &nowhere, "t", "x")
            .await
            .unwrap_err(),
        TeamError::AccountNotFound
    );
}

#[tokio::test]
async fn an_account_keeps_at_most_its_canned_responses_and_lists_them_a_page_at_a_time() {
    // Given an account with as many canned responses as it may keep
    let w = World::new();
    let account = w.account.account_id.clone();
    let team = w.team();
    for i in 0..channel_domain::canned::MAX_PER_ACCOUNT {
        team.create_canned_response(&op("o-1"), &account, &format!("Answer {i:03}"), "x")
            .await
            .unwrap();
    }
    // Then one more is refused, until one is deleted
    let more = team.create_canned_response(&op("o-1"), &account, "One more", "x").await;
    assert_eq!(more.unwrap_err(), TeamError::TooManyCanned);
    // And the list comes a page at a time, by title, each page full but the last
    let first = team.canned_responses(&op("o-2"), &account, 500, None).await;
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        first.items.len(),
        channel_domain::canned::MAX_PAGE,
        "a page is at most {}",
        channel_domain::canned::MAX_PAGE
    );
    assert_eq!(first.items[0].title, "Answer 000");
    let second = team
        .canned_responses(&op("o-2"), &account, 500, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.items[0].title, "Answer 100");
    assert_eq!(second.next_cursor, None, "the last page");
    let bad = team.canned_responses(&op("o-2"), &account, 10, Some("nope")).await;
    assert!(matches!(bad, Err(TeamError::Cursor(_))));
    let gone = first.items[0].canned_response_id.clone();
    team.delete_canned_response(&op("o-1"), &account, &gone).await.unwrap();
    assert!(team
        .create_canned_response(&op("o-1"), &account, "One more", "x")
        .await
        .is_ok());
}

#[tokio::test]
async fn an_accounts_members_come_a_full_page_at_a_time_by_user_id() {
    let w = World::new();
    let account = w.account.account_id.clone();
    for i in [3, 1, 4, 2, 5] {
        w.member(&format!("agent-{i}"), Role::Agent);
    }
    let team = w.team();
    let first = team.members(&op("o-1"), &account, 2, None).await.unwrap();
    let ids = |p: &crate::ports::Page<crate::ports::Member>| -> Vec<String> {
        p.items.iter().map(|m| m.user_id.to_string()).collect()
    };
    assert_eq!(ids(&first), ["agent-1", "agent-2"]);
    let second = team
        .members(&op("o-1"), &account, 2, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(ids(&second), ["agent-3", "agent-4"]);
    let last = team
        .members(&op("o-1"), &account, 2, second.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!((ids(&last), last.next_cursor), (vec!["agent-5".to_owned()], None));
}
