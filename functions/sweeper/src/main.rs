use lambda_runtime::{service_fn, LambdaEvent};
use sweeper::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let app = std::sync::Arc::new(App::from_env().await?);
    shared::tls::warm_up(&[shared::tls::Service::DynamoDb]).await;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let (report, records) = shared::metrics::scope(app.handle()).await;
            shared::metrics::write(&records, &[]);
            report
                .map(|r| serde_json::json!(r))
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
