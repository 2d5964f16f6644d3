use inbound_callback::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init();
    let app = App::from_env().await?;
    shared::tls::warm_up(&[shared::tls::Service::DynamoDb, shared::tls::Service::SecretsManager]).await;
    shared::runtime::serve(app).await
}
