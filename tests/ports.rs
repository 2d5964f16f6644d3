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
