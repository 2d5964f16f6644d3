//! `local-gateway`: creates the table, the parking queue, the work queue, the sweep queue, the export bucket and the key of opt-out
//! tags (a random one, as the template generates it deployed) if they are missing, then serves
//! every function on `127.0.0.1:$SMS_LOCAL_PORT` (default 9000).

use std::sync::Arc;

use local_gateway::Gateway;

#[tokio::main]
async fn main() {
    local_gateway::init_logging();
    if let Err(e) = run().await {
        eprintln!("local-gateway: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = shared::config::parsed("SMS_LOCAL_PORT", 9000)?;
    let table = shared::config::table_name()?;
    let aws = shared::aws::load_config().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    if shared::table::create_if_missing(&client, &table).await? {
        println!("created table {table}");
    }
    let clients = shared::runtime::Clients::from_env().await?;
    let key = format!("{}{}", shared::ids::new_id(), shared::ids::new_id());
    if clients.secrets().ensure_opt_out_key(&key).await? {
        println!("created the key of opt-out tags");
    }
    let queue = shared::config::required("CALLBACK_QUEUE_URL")?;
    let max_receives = shared::config::parsed("CALLBACK_QUEUE_MAX_RECEIVES", local_gateway::queue::MAX_RECEIVES)?;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    local_gateway::queue::ensure_queue(&sqs, &queue, max_receives).await?;
    let work = shared::config::required("WORK_QUEUE_URL")?;
    local_gateway::queue::ensure_queue(&sqs, &work, local_gateway::queue::WORK_MAX_RECEIVES).await?;
    let sweeps = shared::config::required("SWEEP_QUEUE_URL")?;
    local_gateway::queue::ensure_queue(&sqs, &sweeps, local_gateway::queue::SWEEP_MAX_RECEIVES).await?;
    shared::exports::ExportBucket::new(&aws, shared::config::required("EXPORT_BUCKET")?, &Default::default())
        .ensure()
        .await?;
    let gateway = Arc::new(Gateway::from_env().await?);
    gateway.follow_stream().await?;
    let bus = gateway.events.bus();
    match bus.client().create_event_bus().name(bus.name()).send().await {
        Ok(_) => println!("created event bus {}", bus.name()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(format!("the event bus could not be created: {e:?}").into()),
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("local-gateway listening on http://127.0.0.1:{port}");
    println!(
        "tokens: issuer {}, audience {}, roles claim {}",
        gateway.authorizer.issuer, gateway.authorizer.audience, gateway.authorizer.roles_claim
    );
    tokio::select! {
        _ = gateway.serve(listener) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
