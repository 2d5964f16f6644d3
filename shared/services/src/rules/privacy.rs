use crate::send::SendError;
use crate::testkit::harness::*;
use channel_domain::audit::AuditAction;
use channel_domain::phone::PhoneNumber;

const CUSTOMER: &str = "48601234567";
const OTHER: &str = "48601234568";

fn controller(w: &World) -> crate::privacy::Controller {
    crate::privacy::Controller::from(&w.account)
}

fn soon() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(5)
}

fn number(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

#[tokio::test]
async fn an_export_holds_everything_of_one_customer_and_nothing_of_another() {
    let w = World::new();
    let mine = stored(&w.text(CUSTOMER, "my order is late", "R1").await);
    stored(&w.text(OTHER, "someone else's secret", "R2").await);
    w.text(CUSTOMER, "STOP", "R3").await;
    let export = w
        .privacy()
        .export(&actor(), &controller(&w), &number(CUSTOMER), &w.opt_out_key())
        .await
        .unwrap();
    assert_eq!(export.conversations.len(), 1);
    assert_eq!(export.conversations[0].conversation_id, mine);
    let text = serde_json::to_string(&export).unwrap();
    assert!(text.contains("my order is late") && text.contains("STOP"));
    assert!(!text.contains("someone else's secret") && !text.contains(OTHER));
    assert_eq!(export.consent.len(), 1, "their consent state");
    assert!(export.audit.iter().any(|e| e.action == AuditAction::ConsentChanged));
    let entry = w.store.read(|s| s.audit.last().cloned()).unwrap();
    assert_eq!(entry.action, AuditAction::CustomerExported);
    assert!(
        !serde_json::to_string(&entry).unwrap().contains(CUSTOMER),
        "entries never hold the number"
    );
}

#[tokio::test]
async fn an_erasure_leaves_nothing_of_the_customer_and_keeps_an_opt_out_by_its_tag() {
    let w = World::new();
    let id = stored(&w.text(CUSTOMER, "my order is late", "R1").await);
    w.sender()
        .reply(&op("a-1"), &id, &draft("checking now", None))
        .await
        .unwrap();
    w.text(CUSTOMER, "STOP", "R2").await;
    let kept = stored(&w.text(OTHER, "keep me", "R3").await);
    let erasure = w
        .privacy()
        .erase(&actor(), &controller(&w), &number(CUSTOMER), &w.opt_out_key(), soon())
        .await
        .unwrap();
    assert_eq!(erasure.erased.conversations, 1);
    assert!(erasure.erased.messages >= 3, "{erasure:?}");
    assert_eq!((erasure.erased.consent_records, erasure.opt_out_kept), (1, true));
    let left = w
        .store
        .read(|s| format!("{:?} {:?} {:?}", s.conversations, s.messages, s.consent));
    assert!(!left.contains(CUSTOMER) && !left.contains("my order is late") && !left.contains("checking now"));
    assert!(left.contains("keep me"), "another customer's conversation stays");
    assert!(w.store.read(|s| s.conversations.contains_key(&kept)));
    let refused = w
        .sender()
        .outreach(&op("a-1"), &w.thread(CUSTOMER), &draft("come back!", None))
        .await
        .unwrap_err();
    assert_eq!(refused, SendError::OptedOut, "the tag still refuses the number");
    let audit = w.store.read(|s| s.audit.clone());
    let entry = audit
        .iter()
        .rev()
        .find(|e| e.action == AuditAction::CustomerErased)
        .unwrap();
    assert!(!serde_json::to_string(entry).unwrap().contains(CUSTOMER));
    assert_eq!(entry.detail["conversations"], 1);
}

#[tokio::test]
async fn an_erasure_asked_again_deletes_nothing_more_and_a_fresh_message_starts_a_new_conversation() {
    let w = World::new();
    let first = stored(&w.text(CUSTOMER, "hello", "R1").await);
    let (privacy, who, customer, key) = (w.privacy(), actor(), number(CUSTOMER), w.opt_out_key());
    let owner = controller(&w);
    let again = || privacy.erase(&who, &owner, &customer, &key, soon());
    assert_eq!(again().await.unwrap().erased.conversations, 1);
    let second = again().await.unwrap();
    assert_eq!(
        (second.erased.conversations, second.erased.messages, second.opt_out_kept),
        (0, 0, false)
    );
    let next = stored(&w.text(CUSTOMER, "me again", "R2").await);
    assert_ne!(next, first);
    w.sender()
        .reply(&op("a-1"), &next, &draft("welcome back", None))
        .await
        .expect("a customer who never opted out is texted after an erasure");
}

#[tokio::test]
async fn an_erased_customer_who_had_opted_out_is_shown_opted_out_until_they_text_start() {
    let w = World::new();
    w.text(CUSTOMER, "hello", "R1").await;
    w.text(CUSTOMER, "STOP", "R2").await;
    w.privacy()
        .erase(&actor(), &controller(&w), &number(CUSTOMER), &w.opt_out_key(), soon())
        .await
        .unwrap();
    let back = stored(&w.text(CUSTOMER, "is anyone there", "R3").await);
    assert!(w.conversation(&back).opted_out, "the kept opt-out reads as one");
    let reply = w.sender().reply(&op("a-1"), &back, &draft("yes", None)).await;
    assert_eq!(reply.unwrap_err(), SendError::OptedOut);
    w.text(CUSTOMER, "START", "R4").await;
    assert!(w.store.read(|s| s.opt_out_tags.is_empty()), "the opt-in lifts the tag");
    w.sender()
        .reply(&op("a-1"), &back, &draft("welcome back", None))
        .await
        .expect("texted again after START");
}

#[tokio::test]
async fn an_export_after_an_erasure_tells_whether_the_opt_out_is_kept() {
    let w = World::new();
    w.text(CUSTOMER, "STOP", "R1").await;
    let (privacy, who, customer, key) = (w.privacy(), actor(), number(CUSTOMER), w.opt_out_key());
    privacy
        .erase(&who, &controller(&w), &customer, &key, soon())
        .await
        .unwrap();
    let export = privacy.export(&who, &controller(&w), &customer, &key).await.unwrap();
    assert!(export.conversations.is_empty() && export.consent.is_empty());
    assert!(export.opted_out_by_hash);
    w.text(CUSTOMER, "START", "R2").await;
    let export = privacy.export(&who, &controller(&w), &customer, &key).await.unwrap();
    assert!(!export.opted_out_by_hash, "their START lifted it");
}

#[tokio::test]
async fn an_erasure_that_meets_its_deadline_says_so_and_asking_again_finishes_it() {
    let w = World::new();
    stored(&w.text(CUSTOMER, "first", "R1").await);
    w.text(CUSTOMER, "STOP", "R2").await;
    let (privacy, who, customer, key) = (w.privacy(), actor(), number(CUSTOMER), w.opt_out_key());
    let owner = controller(&w);
    // When the deadline has come before the first conversation
    let stopped = privacy
        .erase(&who, &owner, &customer, &key, std::time::Instant::now())
        .await
        .unwrap();
    // Then nothing is erased yet, the consent stays, and no entry says it was erased
    assert!(!stopped.complete);
    assert_eq!((stopped.erased.conversations, stopped.erased.consent_records), (0, 0));
    assert!(w
        .store
        .read(|s| s.audit.iter().all(|e| e.action != AuditAction::CustomerErased)));
    // and asking again finishes it.
    let done = privacy.erase(&who, &owner, &customer, &key, soon()).await.unwrap();
    assert!(done.complete);
    assert_eq!((done.erased.conversations, done.erased.consent_records), (1, 1));
    assert!(w
        .store
        .read(|s| s.audit.iter().any(|e| e.action == AuditAction::CustomerErased)));
}

#[tokio::test]
async fn an_export_too_large_to_answer_goes_to_the_bucket_and_is_answered_by_its_link() {
    use crate::privacy::{deliver, Delivery};
    let w = World::new();
    stored(&w.text(CUSTOMER, "my order is late", "R1").await);
    let export = w
        .privacy()
        .export(&actor(), &controller(&w), &number(CUSTOMER), &w.opt_out_key())
        .await
        .unwrap();
    let bucket = crate::testkit::fakes::MemoryExports::default();
    let size = serde_json::to_vec(&export).unwrap().len();
    // Up to the limit, in the answer
    let inline = deliver(&bucket, &w.account.account_id, &export, size).await.unwrap();
    assert!(matches!(inline, Delivery::Inline(ref body) if body.len() == size));
    assert!(bucket.objects.lock().unwrap().is_empty());
    // past it, in the bucket, under a name that holds no number, answered by its link.
    let Delivery::Link(link) = deliver(&bucket, &w.account.account_id, &export, size - 1)
        .await
        .unwrap()
    else {
        panic!("a link");
    };
    let objects = bucket.objects.lock().unwrap().clone();
    let (key, body) = objects.iter().next().expect("published");
    assert_eq!(link.export_url, format!("memory://{key}"));
    assert!(key.starts_with(&format!("exports/{}/", w.account.account_id)) && !key.contains(CUSTOMER));
    assert_eq!((body.len(), link.size_bytes, link.conversations), (size, size, 1));
    let valid = link.expires_at.epoch_seconds() - channel_domain::ids::epoch_seconds();
    assert!((890..=900).contains(&valid), "{valid}");
}
