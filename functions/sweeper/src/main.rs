use lambda_runtime::{service_fn, LambdaEvent};
use sweeper::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let app = std::sync::Arc::new(App::from_env().await?);
    shared::tls::warm_up(&[shared::tls::Service::DynamoDb]).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            // The sweep queue's batches carry `Records`; the schedule's event does not.
            let turns = event
                .payload
                .get("Records")
                .is_some()
                .then(|| serde_json::from_value::<aws_lambda_events::sqs::SqsEvent>(event.payload.clone()));
            let request_id = [("request_id", event.context.request_id.as_str())];
            match turns {
                Some(Ok(batch)) => {
                    let (response, records) = shared::metrics::scope(Box::pin(app.turns(batch))).await;
                    shared::metrics::write(&records, &request_id);
                    Ok(serde_json::json!(response))
                }
                Some(Err(e)) => Err(lambda_runtime::Error::from(format!(
                    "an SQS event that does not parse: {e}"
                ))),
                None => {
                    let (report, records) = shared::metrics::scope(Box::pin(app.schedule())).await;
                    shared::metrics::write(&records, &request_id);
                    report
                        .map(|r| serde_json::json!(r))
                        .map_err(|e| lambda_runtime::Error::from(e.to_string()))
                }
            }
        }
    }))
    .await
}
