//! The sample events of `events/` (for `cargo lambda invoke --data-file`) are API Gateway v2
//! events the functions read: one for every route, each routed as the template routes it, the
//! callbacks signed as TeleSign signs them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use lambda_http::RequestExt;
use local_gateway::routes::{find, ROUTES};
use shared::telesign::verify_callback;
use shared::telesign::ApiKey;

/// The demo credentials the sample callbacks are signed with (also the local stack's demo account).
const DEMO_CUSTOMER: &str = "DEMO0000-0000-4000-8000-000000000001";
const DEMO_KEY: &str = "ZGVtby1rZXktZm9yLXRoZS1sb2NhbC1zdGFjay0wMDAwMDA=";

#[test]
fn every_route_has_a_sample_event_that_parses_and_routes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("events/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (route, params) =
            find(req.method().as_str(), req.uri().path()).unwrap_or_else(|_| panic!("{name}: no route"));
        for (k, v) in &params {
            assert_eq!(
                req.path_parameters_ref().and_then(|p| p.first(k)),
                Some(v.as_str()),
                "{name}: {k}"
            );
        }
        if route.function == "inbound-callback" {
            let body = shared::http::body_bytes(&req);
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
            let key = ApiKey::parse(DEMO_KEY).expect("key");
            assert!(
                verify_callback(auth, body, DEMO_CUSTOMER, &key, None).is_ok(),
                "{name}: signed"
            );
        } else if !route.public {
            assert!(
                shared::http::caller_id(&req).is_some(),
                "{name}: carries the authorizer's claims"
            );
        }
        covered.insert((route.method, route.path));
    }
    let all: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a sample event: {missing:?}");
}
