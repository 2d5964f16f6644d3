//! The house as it stands holds every rule, and each way out of a layer is caught.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use structure_checks::{
    adapters, check_manifest, check_sources, crate_sources, domain, edge, function, locked_crates, services, shared,
    tool, Finding, Layer, Source,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace")
}

fn crates() -> BTreeSet<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    locked_crates(&lock)
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Cargo.toml")).expect("a manifest")
}

/// Every finding of one crate of the house against its layer.
fn findings_of(dir: &Path, layer: &Layer) -> Vec<Finding> {
    // A crate's binaries and tests name its own library.
    let mut layer = layer.clone();
    let package = manifest(dir)
        .lines()
        .find_map(|l| {
            l.strip_prefix("name = \"")
                .map(|n| n.trim_end_matches('"').replace('-', "_"))
        })
        .expect("a package name");
    layer.allowed.insert(package);
    let layer = &layer;
    let sources = crate_sources(dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!sources.is_empty(), "{} has sources", dir.display());
    let mut findings = check_sources(layer, &sources, &crates());
    let file = dir.strip_prefix(root()).unwrap_or(dir).join("Cargo.toml");
    findings.extend(check_manifest(layer, &file.display().to_string(), &manifest(dir)));
    findings
}

fn subfolders(dir: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("a folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_crate_of_the_house_keeps_to_its_layer() {
    let mut findings = Vec::new();
    for (dir, layer) in [
        ("shared/domain", domain()),
        ("shared/services", services()),
        ("shared/adapters", adapters()),
        ("shared/edge", edge()),
        ("shared", shared()),
    ] {
        findings.extend(findings_of(&root().join(dir), &layer));
    }
    for dir in subfolders("functions") {
        findings.extend(findings_of(&dir, &function()));
    }
    for dir in subfolders("tools") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        findings.extend(findings_of(&dir, &tool(&name, &manifest(&dir))));
    }
    let findings: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_module_graph_is_read() {
    // The store implements the services' ports: a reference the checks must see, or they read nothing.
    let sources = crate_sources(&root().join("shared/adapters")).unwrap();
    let store = sources
        .iter()
        .find(|s| s.file.ends_with("store/mod.rs"))
        .expect("store/mod.rs");
    let paths = structure_checks::Paths::of(&store.syntax);
    assert!(
        paths.paths.iter().any(|p| p[0] == "channel_services"),
        "{:?}",
        paths.paths
    );
}

fn one(layer: &Layer, module: &[&str], text: &str) -> Vec<String> {
    let source = Source::parse("x.rs", module, text).expect("parses");
    check_sources(layer, &[source], &crates())
        .iter()
        .map(|f| f.what.clone())
        .collect()
}

#[test]
fn a_path_inside_a_macro_is_read() {
    let found = one(
        &domain(),
        &["sms"],
        r#"pub fn f() { let _ = format!("{:?}", reqwest::Method::GET); }"#,
    );
    assert_eq!(found, ["the domain layer names `reqwest` (an HTTP client)"]);
    let found = one(
        &services(),
        &["send"],
        r#"fn f() { tracing::info!(s = ?aws_sdk_sqs::Client::new); }"#,
    );
    assert_eq!(found, ["the services layer names `aws_sdk_sqs` (an AWS SDK)"]);
}

#[test]
fn reqwest_in_the_domain_is_caught() {
    assert_eq!(
        one(&domain(), &["telesign"], "use reqwest::Client;"),
        ["the domain layer names `reqwest` (an HTTP client)"]
    );
    assert_eq!(
        one(
            &domain(),
            &["telesign"],
            "pub async fn f() { tokio::task::yield_now().await }"
        ),
        ["the domain layer names `tokio` (a runtime)"]
    );
}

#[test]
fn http_and_the_queue_and_bus_sdks_in_a_service_are_caught() {
    assert_eq!(
        one(&services(), &["desk"], "fn f() -> http::StatusCode { todo!() }"),
        ["the services layer names `http` (HTTP)"]
    );
    assert_eq!(
        one(&services(), &["worker"], "use aws_sdk_sqs::types::Message;"),
        ["the services layer names `aws_sdk_sqs` (an AWS SDK)"]
    );
    assert_eq!(
        one(&services(), &["events"], "type B = aws_sdk_eventbridge::Client;"),
        ["the services layer names `aws_sdk_eventbridge` (an AWS SDK)"]
    );
    assert_eq!(
        one(&services(), &["desk"], "use lambda_http::Request;"),
        ["the services layer names `lambda_http` (Lambda's HTTP)"]
    );
}

#[test]
fn a_cycle_through_super_super_is_caught() {
    let ports = Source::parse("ports.rs", &["ports"], "use crate::rules::x::Given;").unwrap();
    let rule = Source::parse("rules/x.rs", &["rules", "x"], "use super::super::ports::Store;").unwrap();
    let found: Vec<String> = check_sources(&services(), &[ports, rule], &crates())
        .into_iter()
        .map(|f| f.what)
        .collect();
    assert!(
        found.contains(&"module cycle: ports → rules → … → ports".to_owned()),
        "{found:?}"
    );
    // The same two files without the way back form no cycle.
    let ports = Source::parse("ports.rs", &["ports"], "pub trait Store {}").unwrap();
    let rule = Source::parse("rules/x.rs", &["rules", "x"], "use super::super::ports::Store;").unwrap();
    assert!(check_sources(&services(), &[ports, rule], &crates()).is_empty());
}

#[test]
fn a_tool_never_names_the_channels_rules() {
    let manifest = "[dependencies]\nshared.workspace = true\nhyper.workspace = true\n";
    let gateway = tool("local-gateway", manifest);
    assert_eq!(
        one(&gateway, &["routes"], "use shared::service::desk::Desk;"),
        ["the local-gateway layer names `shared::service`"]
    );
    assert!(one(&gateway, &["routes"], "use shared::table::Keys; use hyper::Request;").is_empty());
    assert_eq!(
        one(&gateway, &["routes"], "use channel_services::desk;"),
        ["the local-gateway layer names `channel_services`"]
    );
}

#[test]
fn a_function_speaks_aws_only_through_shared() {
    assert_eq!(
        one(&function(), &[], "use aws_sdk_dynamodb::Client;"),
        ["the function layer names `aws_sdk_dynamodb` (an AWS SDK)"]
    );
    assert_eq!(
        one(&function(), &[], "use channel_adapters::store::DynamoStore;"),
        ["the function layer names `channel_adapters`"]
    );
}

#[test]
fn a_manifest_that_widens_a_layer_is_caught() {
    let manifest = "[dependencies]\nserde.workspace = true\ntokio = { workspace = true }\n\n[dev-dependencies]\nproptest.workspace = true\n";
    let found: Vec<String> = check_manifest(&domain(), "Cargo.toml", manifest)
        .into_iter()
        .map(|f| f.what)
        .collect();
    assert_eq!(found, ["the domain layer depends on `tokio` (a runtime)"]);
}

#[test]
fn a_long_function_is_caught_but_not_a_long_test() {
    let body = "    let _ = 1;\n".repeat(60);
    let found = one(&domain(), &["sms"], &format!("fn long() {{\n{body}}}\n"));
    assert_eq!(found, ["`long` is 62 lines (at most 60)"]);
    let test =
        format!("#[tokio::test]\nasync fn long() {{\n{body}}}\n#[cfg(test)]\nmod tests {{ fn long() {{\n{body}}} }}");
    assert!(one(&domain(), &["sms"], &test).is_empty(), "a test reads best whole");
    assert!(one(
        &services(),
        &["testkit", "contracts"],
        &format!("pub fn suite() {{\n{body}}}")
    )
    .is_empty());
}
