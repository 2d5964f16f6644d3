//! `channel-bench sizes`: the memory size of each function, chosen by measurement. Each function's
//! release bootstrap runs over TLS (the bench's endpoints) under the CPU share Lambda gives each
//! memory size: its init, its first invocation, then warm invocations in the same process; and
//! what a million invocations cost at that size.

use std::process::Command;
use std::time::Duration;

use crate::cold::{bootstrap, cold_start, ms, tls_endpoints, Sample, Scenario};

/// What is measured: the function, and the invocation its first and warm ones are.
const SUBJECTS: [(&str, &str, &str); 7] = [
    ("inbound-callback", "inbound-callback", "inbound SMS"),
    ("outbound-send", "outbound-send", "reply"),
    ("outbound-send", "outreach", "business message, typed number"),
    ("conversations", "conversations", "list"),
    ("accounts", "accounts", "read account"),
    (
        "validate-credentials",
        "validate-credentials",
        "validate stored credentials",
    ),
    ("console", "console", "page"),
];

/// Lambda's price on arm64 (us-east-1, public list price): per GB-second and per request.
pub const GB_SECOND_USD: f64 = 0.000_013_333_4;
/// Per request.
pub const REQUEST_USD: f64 = 0.000_000_2;

/// What `channel-bench sizes` runs.
pub struct Sizes {
    /// Where the bootstraps are.
    pub lambda_dir: String,
    /// Processes per function and size.
    pub runs: usize,
    /// Warm invocations per process after the first.
    pub warm: usize,
    /// The memory sizes.
    pub memory_mb: Vec<u64>,
    /// Only these functions (all when empty).
    pub only: Vec<String>,
    /// The TLS endpoints' ports.
    pub tls_ports: [u16; 3],
    /// Where the bench's CA is written.
    pub state_dir: std::path::PathBuf,
}

/// The cost of a million invocations of `millis` each (billed by the millisecond, rounded up) at
/// `memory_mb`, requests included.
pub fn per_million(memory_mb: u64, millis: f64) -> f64 {
    let billed_seconds = millis.max(1.0).ceil() / 1000.0;
    1e6 * (REQUEST_USD + memory_mb as f64 / 1024.0 * billed_seconds * GB_SECOND_USD)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

async fn samples(
    s: &Sizes,
    scenario: &Scenario,
    env: &[(&str, String)],
    (function, case): (&str, &str),
    mb: u64,
) -> Result<Vec<Sample>, String> {
    let cap = crate::cpu::CpuCap::lambda_share(mb)?;
    let mut out = Vec::new();
    for _ in 0..s.runs {
        let mut command = Command::new(bootstrap(&s.lambda_dir, function)?);
        command.envs(env.iter().map(|(k, v)| (*k, v)));
        let events = (0..=s.warm)
            .map(|_| scenario.event(case))
            .collect::<Result<Vec<_>, _>>()?;
        let sample = cold_start(command, function, events, Some(&cap)).await?;
        if sample.status >= 400 {
            return Err(format!("{function} answered {}", sample.status));
        }
        out.push(sample);
    }
    Ok(out)
}

/// Measures every function at every size and prints the table the choice is made from.
pub async fn run(s: Sizes) -> Result<(), String> {
    let scenario = Scenario::new().await?;
    let (_ca, env) = tls_endpoints(s.tls_ports, &s.state_dir).await?;
    println!(
        "\nMemory sizes: each function over TLS under Lambda's CPU share of each size; {} processes,",
        s.runs
    );
    println!(
        "each a cold start then {} warm invocations; medians in ms. Cost per million invocations at",
        s.warm
    );
    println!("arm64 list prices (${GB_SECOND_USD}/GB-s, billed per ms rounded up, $0.20/M requests).\n");
    println!("| function | invocation | memory | CPU share | init | first invocation | warm invocation | $/M warm | $/M cold (init + first) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (function, case, what) in SUBJECTS {
        if !s.only.is_empty() && !s.only.iter().any(|o| o == function) {
            continue;
        }
        for &mb in &s.memory_mb {
            let samples = samples(&s, &scenario, &env, (function, case), mb).await?;
            let init = median(samples.iter().map(|x| ms(x.ready)).collect());
            let first = median(samples.iter().map(|x| ms(x.first)).collect());
            let warm = median(
                samples
                    .iter()
                    .flat_map(|x| x.warm.iter().map(|d: &Duration| ms(*d)))
                    .collect(),
            );
            println!(
                "| {function} | {what} | {mb} MB | {:.1} % | {init:.1} | {first:.1} | {warm:.1} | {:.2} | {:.2} |",
                100.0 * mb as f64 / 1769.0,
                per_million(mb, warm),
                per_million(mb, init + first),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_short_invocations_cost_the_requests_and_one_billed_millisecond_each() {
        // 1e6 × (0.20 µ$ + 0.125 GB × 0.001 s × 13.3334 µ$/GB-s) = 0.20 $ + 0.0017 $
        assert!((per_million(128, 0.4) - 0.201_666_675).abs() < 1e-9);
        // 10.2 ms is billed as 11 ms: 0.20 $ + 1 GB × 0.011 s × 13.3334 $ per million GB-s
        assert!((per_million(1024, 10.2) - (0.2 + 0.011 * 13.3334)).abs() < 1e-9);
    }
}
