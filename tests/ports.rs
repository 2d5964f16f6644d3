//! Every store port's contract (`shared::service::testkit::contracts`), held by the DynamoDB
//! adapter on DynamoDB Local: the same suites the in-memory store passes with the rules' tests,
//! so the fakes the rules are tested on keep the store's conditions.

async fn table() -> shared::store::Dynamo {
    shared::runtime::Clients::from_env()
        .await
        .expect("the stack's clients (make test starts it)")
        .dynamo()
}

shared::service::port_contract_tests!(table().await);

/// An account made before stamps had an item of their own: its record holds the stamp, its
/// claims may hold settings changed since. Its first callback reads the record (the settings and
/// the stamp as the record has them) and makes the stamp item, each number's settings on its
/// claim; its later callbacks read the stamp item and the claim, never the record.
#[tokio::test]
async fn an_account_made_before_stamp_items_gets_one_with_its_first_callback() {
    use shared::audit::{Actor, AuditAction, AuditEntry};
    use shared::service::ports::{AccountStore, InboundLog, ReportLog};
    use shared::service::testkit::contracts::{fresh_number, new_account};
    use shared::table;

    let s = table().await;
    let a = new_account();
    let entry = |action| AuditEntry::new(&Actor::System, action, &a.account_id, "t");
    s.create_account(&a, &entry(AuditAction::AccountCreated)).await.unwrap();
    s.stamp_keys(&a.account_id, 41).await.unwrap();
    // As such an account is: no stamp item, and a claim whose settings are older than the record's.
    let stamp = table::stamp_key(a.account_id.as_str());
    let delete = s.client.delete_item().table_name(&s.table);
    delete
        .key(table::PK, s_(&stamp.pk))
        .key(table::SK, s_(&stamp.sk))
        .send()
        .await
        .unwrap();
    let mut changed = a.numbers[0].clone();
    changed.description = "Changed before stamps".into();
    let json = serde_json::to_string(&changed).unwrap();
    let record = table::account_key(a.account_id.as_str());
    s.client
        .update_item()
        .table_name(&s.table)
        .key(table::PK, s_(&record.pk))
        .key(table::SK, s_(&record.sk))
        .update_expression("SET numbers.#n = :v")
        .expression_attribute_names("#n", changed.number.as_str())
        .expression_attribute_values(":v", s_(&json))
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.key_stamp(&a.account_id).await.unwrap(),
        Some(41),
        "a report reads the record's stamp"
    );

    let thread = shared::conversation::Thread {
        account_id: a.account_id.clone(),
        support_number: changed.number.clone(),
        customer_number: fresh_number(),
    };
    let first = s.thread_state(&thread, "no-tag").await.unwrap();
    assert_eq!(first.key_version, Some(41), "the record's stamp");
    assert_eq!(
        first.number,
        Some(("Contract".to_owned(), changed.clone())),
        "the record's settings"
    );
    let made = s
        .client
        .get_item()
        .table_name(&s.table)
        .key(table::PK, s_(&stamp.pk))
        .key(table::SK, s_(&stamp.sk));
    assert!(made.send().await.unwrap().item.is_some(), "the stamp item is made");

    // From the stamp item and the claim now: a rotation and a rename are read at once.
    s.stamp_keys(&a.account_id, 42).await.unwrap();
    let later = s.thread_state(&thread, "no-tag").await.unwrap();
    assert_eq!(later.key_version, Some(42));
    assert_eq!(
        later.number,
        Some(("Contract".to_owned(), changed)),
        "the claim's settings, as the record's"
    );
    assert_eq!(s.key_stamp(&a.account_id).await.unwrap(), Some(42));
}

fn s_(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}
