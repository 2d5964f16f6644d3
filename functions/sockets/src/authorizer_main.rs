use lambda_runtime::{service_fn, LambdaEvent};
use sockets::authorizer::Authorizer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let authorizer = std::sync::Arc::new(Authorizer::from_env()?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest>| {
            let authorizer = authorizer.clone();
            // API Gateway answers 401 when the authorizer fails with exactly "Unauthorized".
            async move { authorizer.authorize(event.payload).await.map_err(|_| "Unauthorized") }
        },
    ))
    .await
}
