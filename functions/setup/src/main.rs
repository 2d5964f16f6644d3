use lambda_runtime::{service_fn, LambdaEvent};
use setup::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let app = std::sync::Arc::new(App::from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { app.handle(event.payload).await.map_err(lambda_runtime::Error::from) }
    }))
    .await
}
