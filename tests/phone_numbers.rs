//! Phone numbers as people type them, through the API: read with the numbering plan of their
//! country, a national format in the country of the support number; numbers from TeleSign kept as
//! TeleSign wrote them.

use channel_tests::{code, random_number, stack, Account, Stack};
use rand::Rng;
use serde_json::json;

/// `14255550123` as a person in the US writes it: `(425) 555-0123`.
fn us_national(number: &str) -> String {
    format!("({}) {}-{}", &number[1..4], &number[4..7], &number[7..])
}

/// An account with one support number typed as `typed`; its number as stored.
async fn account_typed(s: &Stack, typed: &str) -> (Account, String) {
    let customer = s.customer("active").await;
    let (status, body) = s
        .post(
            "/accounts",
            json!({"name": "Typed", "customer_id": customer.id, "api_key": customer.key,
                   "numbers": [{"number": typed, "type": "long_code"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let stored = body["numbers"][0]["number"].as_str().expect("number").to_owned();
    let account = Account {
        id: body["account_id"].as_str().expect("account_id").to_owned(),
        customer,
        numbers: vec![stored.clone()],
        callback_url: body["callback_url"].as_str().expect("callback_url").to_owned(),
    };
    (account, stored)
}

#[tokio::test]
async fn a_support_number_typed_with_its_country_code_is_stored_as_telesign_writes_it() {
    let s = stack();
    let number = random_number();
    let (_, stored) = account_typed(&s, &format!("+1 {}", us_national(&number))).await;
    assert_eq!(stored, number);
}

#[tokio::test]
async fn a_support_number_without_its_country_code_is_refused_with_what_to_write() {
    let s = stack();
    let c = s.customer("active").await;
    let answer = s
        .post(
            "/accounts",
            json!({"name": "x", "customer_id": c.id, "api_key": c.key,
                   "numbers": [{"number": us_national(&random_number()), "type": "long_code"}]}),
        )
        .await;
    assert_eq!(code(&answer), (400, Some("invalid_phone_number")), "{}", answer.1);
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("country code"));
}

#[tokio::test]
async fn a_national_format_is_read_in_the_country_of_the_support_number() {
    let s = stack();
    // Given a US support number
    let (us, us_support) = account_typed(&s, &random_number()).await;
    let customer = random_number();
    // When an agent writes to a US customer as people in the US write numbers
    let (status, sent) = s
        .post(
            "/messages",
            json!({"account_id": us.id, "from": us_support, "to": us_national(&customer), "text": "Hello"}),
        )
        .await;
    // Then the message goes to the full number, and the conversation is the customer's
    assert_eq!(status, 202, "{sent}");
    let c = s.conversation(sent["conversation_id"].as_str().expect("id")).await;
    assert_eq!(c["customer_number"], customer.as_str());
    let to: Vec<_> = s
        .sim_messages(&us.customer)
        .await
        .iter()
        .map(|m| m["phone_number"].clone())
        .collect();
    assert_eq!(to, vec![json!(customer)]);

    // Given a UK support number, a UK mobile written the British way is a UK number
    let (uk, uk_support) = account_typed(&s, "+44 20 7946 0123").await;
    assert_eq!(uk_support, "442079460123");
    let (status, sent) = s
        .post(
            "/messages",
            json!({"account_id": uk.id, "from": "+44 20 7946 0123", "to": "07400 123789", "text": "Hello"}),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let c = s.conversation(sent["conversation_id"].as_str().expect("id")).await;
    assert_eq!(c["customer_number"], "447400123789");
}

#[tokio::test]
async fn numbers_that_are_no_valid_number_are_refused() {
    let s = stack();
    let (account, support) = account_typed(&s, &random_number()).await;
    for to in ["425-555", "+1 555 010 0000", "+48 601 234", "22395"] {
        let answer = s
            .post(
                "/messages",
                json!({"account_id": account.id, "from": support, "to": to, "text": "x"}),
            )
            .await;
        assert_eq!(code(&answer), (400, Some("invalid_phone_number")), "{to}: {}", answer.1);
    }
}

#[tokio::test]
async fn a_customer_number_from_telesign_is_kept_as_telesign_wrote_it() {
    let s = stack();
    let (account, _) = account_typed(&s, &random_number()).await;
    // 555 is no US area code: a number no person could type here, and still a customer's message.
    let odd = format!("1555{:07}", rand::rng().random_range(0..10_000_000u32));
    let (status, body) = s.text(&account, &odd, "hello").await;
    assert_eq!(status, 200, "{body}");
    let list = s.conversations(&account, "open").await;
    assert_eq!(list[0]["customer_number"], odd.as_str());
}
