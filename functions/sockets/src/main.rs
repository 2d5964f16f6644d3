use lambda_runtime::{service_fn, LambdaEvent};
use sockets::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let app = std::sync::Arc::new(App::from_env().await?);
    shared::tls::warm_up(&[shared::tls::Service::DynamoDb]).await;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest>| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(app.handle(event.payload).await) }
        },
    ))
    .await
}
