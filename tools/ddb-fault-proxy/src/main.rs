//! `ddb-fault-proxy --addr 127.0.0.1:8001 --upstream http://127.0.0.1:8000`: DynamoDB Local
//! behind a proxy that plays real DynamoDB's faults on demand (routes in `lib.rs`).

const USAGE: &str = "usage: ddb-fault-proxy --addr 127.0.0.1:PORT --upstream http://127.0.0.1:PORT";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(addr), Some(upstream)) = (value("--addr"), value("--upstream")) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ddb-fault-proxy: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("ddb-fault-proxy on http://{addr} in front of {upstream}");
    ddb_fault_proxy::Proxy::new(upstream).serve(listener).await;
}
