//! Rules that only the real store enforces, each exercised at the moment it matters: every test
//! here fails when its condition in the DynamoDB adapter is weakened (the rank of a delivery
//! report; the consent check inside the send transaction).

use std::time::{Duration, Instant};

use channel_tests::{conversation_id_of, messages, random_number, stack, Account, Stack};
use serde_json::{json, Value};
use shared::access::{Caller, Role, UserId};
use shared::audit::AuditEntry;
use shared::conversation::{Conversation, Thread};
use shared::ids::{AccountId, ConversationId};
use shared::service::ports::{
    BeginWrite, Committed, ConversationMoves, IdempotencyLog, IdempotencyRecord, IdempotencyScope, Member, Members,
    Move, OutboundLog, OutboundRecord, Page, ReadError, Settlement, StoreError,
};
use shared::service::send::{Draft, SendError, Sender};
use shared::store::Dynamo;

/// Kills the weakened rank condition (`status_rank <= :r`): a report of the same rank as the
/// final state neither replaces it nor counts as an update.
#[tokio::test]
async fn a_same_rank_report_after_a_final_state_changes_nothing() {
    let s = stack();
    let account = s.account(1).await;
    s.text(&account, &random_number(), "hello").await;
    let conversation = conversation_id_of(&s.conversations(&account, "open").await[0]);
    let (status, sent) = s
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let reference = sent["telesign_reference_id"].as_str().expect("reference").to_owned();
    s.eventually(&conversation, "delivered", |c| {
        messages(c).iter().any(|m| m["status"] == "delivered")
    })
    .await;
    let report = |code: u32| {
        let body = json!({"reference_id": reference, "status": {"code": code, "description": "late"}});
        let to = json!({"callback_url": account.callback_url, "customer_id": account.customer.id, "body": body});
        s.sim("POST", "callback", Some(to))
    };
    assert_eq!(
        report(200).await.1["body"]["result"],
        "duplicate",
        "the same report again"
    );
    assert_eq!(
        report(207).await.1["body"]["result"],
        "ignored",
        "a failure after delivery"
    );
    let after = s.conversation(&conversation).await;
    let last = messages(&after).last().cloned().expect("message");
    assert_eq!(
        (last["status"].as_str(), last["status_code"].as_u64()),
        (Some("delivered"), Some(200))
    );
}

/// The table, with the customer texting STOP right before the send transaction.
struct StopFirst {
    table: Dynamo,
    stack: Stack,
    account: Account,
    customer: String,
}

impl ConversationMoves for StopFirst {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.table.conversation(id).await
    }

    async fn apply_move(&self, m: &Move) -> Result<Committed, StoreError> {
        self.table.apply_move(m).await
    }
}

impl Members for StopFirst {
    async fn member(&self, a: &AccountId, u: &UserId) -> Result<Option<Member>, StoreError> {
        self.table.member(a, u).await
    }

    async fn members(&self, a: &AccountId, limit: u32, cursor: Option<&str>) -> Result<Page<Member>, ReadError> {
        self.table.members(a, limit, cursor).await
    }

    async fn memberships(&self, u: &UserId) -> Result<Vec<Member>, StoreError> {
        self.table.memberships(u).await
    }

    async fn put_member(&self, m: &Member, e: &AuditEntry) -> Result<Committed, StoreError> {
        self.table.put_member(m, e).await
    }

    async fn remove_member(&self, a: &AccountId, u: &UserId, e: &AuditEntry) -> Result<bool, StoreError> {
        self.table.remove_member(a, u, e).await
    }

    async fn held_by(&self, a: &AccountId, u: &UserId) -> Result<Vec<ConversationId>, StoreError> {
        self.table.held_by(a, u).await
    }
}

impl IdempotencyLog for StopFirst {
    async fn idempotency(&self, scope: &IdempotencyScope) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.table.idempotency(scope).await
    }
}

impl OutboundLog for StopFirst {
    async fn number_owner(&self, number: &shared::phone::PhoneNumber) -> Result<Option<AccountId>, StoreError> {
        self.table.number_owner(number).await
    }

    async fn live_conversation(&self, thread: &Thread) -> Result<(Option<Conversation>, bool), StoreError> {
        self.table.live_conversation(thread).await
    }

    async fn begin_outbound(&self, r: &OutboundRecord) -> Result<BeginWrite, StoreError> {
        let (status, body) = self.stack.text(&self.account, &self.customer, "STOP").await;
        assert_eq!(status, 200, "{body}");
        self.table.begin_outbound(r).await
    }

    async fn settle(&self, s: &Settlement) -> Result<(), StoreError> {
        self.table.settle(s).await
    }
}

/// Kills the consent check inside the send transaction made always true: the service's own
/// check has passed (the conversation was read before the STOP), only the transaction stops it.
#[tokio::test]
async fn a_stop_between_the_read_and_the_send_transaction_stops_the_send() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    s.text(&account, &customer, "hello").await;
    let conversation =
        ConversationId::parse(&conversation_id_of(&s.conversations(&account, "open").await[0])).expect("id");
    let clients = shared::runtime::Clients::from_env()
        .await
        .expect("the stack's environment");
    let sender = Sender {
        directory: clients.directory().expect("directory"),
        log: StopFirst {
            table: clients.dynamo(),
            stack: s.clone(),
            account: account.clone(),
            customer: customer.clone(),
        },
        gateway: clients.telesign().expect("TeleSign client"),
    };
    let operator = Caller {
        user_id: UserId::parse("agent-1").expect("user id"),
        name: None,
        roles: vec![Role::Operator],
    };
    let draft = Draft {
        text: "are you still there?".into(),
        info: shared::sms::check_text("are you still there?").expect("text"),
        agent: Some(UserId::parse("agent-1").unwrap()),
        agent_name: None,
        idempotency: None,
        callback_base: None,
        deadline: Instant::now() + Duration::from_secs(10),
    };
    assert_eq!(
        sender.reply(&operator, &conversation, &draft).await.unwrap_err(),
        SendError::OptedOut
    );
    let to_customer: Vec<Value> = s
        .sim_messages(&account.customer)
        .await
        .into_iter()
        .filter(|m| m["phone_number"].as_str() == Some(customer.as_str()))
        .filter(|m| m["message"].as_str() == Some("are you still there?"))
        .collect();
    assert!(
        to_customer.is_empty(),
        "nothing but the stop confirmation may reach an opted-out customer: {to_customer:?}"
    );
}
