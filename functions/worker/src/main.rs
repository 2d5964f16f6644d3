use lambda_runtime::{service_fn, LambdaEvent};
use worker::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let app = std::sync::Arc::new(App::from_env().await?);
    shared::tls::warm_up(&[shared::tls::Service::DynamoDb, shared::tls::Service::SecretsManager]).await;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let app = app.clone();
            async move {
                let (response, records) = shared::metrics::scope(app.handle(event.payload)).await;
                shared::metrics::write(&records, &[("request_id", event.context.request_id.as_str())]);
                Ok::<_, std::convert::Infallible>(response)
            }
        },
    ))
    .await
}
