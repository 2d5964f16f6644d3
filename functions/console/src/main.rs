use console::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init();
    let app = App::from_env().await?;
    shared::runtime::serve(app).await
}
