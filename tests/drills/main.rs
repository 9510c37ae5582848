//! `hub-drills`: the reliability drills at full size (docs/reliability.md). Prints one summary
//! table (Markdown) and writes the reports as JSON. `infra/local/drills.sh` builds and runs it
//! on the local stack.

use clap::Parser;
use hub_integration_tests::Fault;
use hub_integration_tests::drills::{self, Report, Rig, Service};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The drills, their sizes and where the report goes.
#[derive(Debug, Parser)]
#[command(
    name = "hub-drills",
    about = "Runs the reliability drills and prints their table"
)]
struct Args {
    /// Drills to run (bridge-crash, domain-crash, outages, poison, failover); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The services the outage drill takes down (kafka, sns, sqs, dynamodb, s3); default all.
    #[arg(long, value_delimiter = ',')]
    services: Vec<String>,
    /// Small sizes (a few minutes in all), as a smoke test of the drills themselves.
    #[arg(long)]
    quick: bool,
    /// Bad records of the poison drill, and as many good ones (default 10,000; 700 with
    /// `--quick`).
    #[arg(long)]
    poison_records: Option<u64>,
    /// Where to write the JSON report.
    #[arg(long, default_value = ".local/drills/latest.json")]
    json: PathBuf,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let want = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let q = args.quick;
    let rig = Rig::start().await;
    let mut reports: Vec<Report> = Vec::new();
    let json_path = args.json.clone();
    let mut run = |r: Report| {
        eprintln!(
            "hub-drills: {} {} in {:.0} s{}",
            r.drill,
            if r.passed() { "holds" } else { "FAILS" },
            r.seconds,
            if r.passed() {
                String::new()
            } else {
                format!(": {}", r.failures.join("; "))
            }
        );
        reports.push(r);
        // After each drill, so a long run interrupted keeps what it measured.
        write(&json_path, &reports, q);
    };
    if want("bridge-crash") {
        eprintln!("hub-drills: bridge crash…");
        let (records, kills) = if q { (300, 5) } else { (3_000, 20) };
        run(drills::bridge_crash(&rig, records, kills, 100).await);
    }
    if want("domain-crash") {
        eprintln!("hub-drills: domain crash…");
        let (records, kills) = if q { (300, 5) } else { (3_000, 20) };
        run(drills::domain_crash(&rig, records, kills, 100).await);
    }
    if want("outages") {
        eprintln!("hub-drills: outages…");
        let (plan, outage) = if q {
            (
                vec![
                    (Service::Kafka, Fault::Hang),
                    (Service::DynamoDb, Fault::Errors),
                ],
                Duration::from_secs(5),
            )
        } else {
            let plan = drills::full_plan()
                .into_iter()
                .filter(|(s, _)| {
                    args.services.is_empty()
                        || args
                            .services
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(s.as_str()))
                })
                .collect();
            (plan, Duration::from_secs(30))
        };
        run(drills::outages(&rig, &plan, outage, 10, 50).await);
    }
    if want("poison") {
        eprintln!("hub-drills: poison…");
        let n = args.poison_records.unwrap_or(if q { 700 } else { 10_000 });
        let (bad, good, oversized) = (n, n, 1);
        run(drills::poison(&rig, bad, good, oversized, 500).await);
    }
    if want("failover") {
        eprintln!("hub-drills: failover…");
        run(drills::failover(&rig, 3, 2, 20, 100).await);
    }
    println!("{}", Report::table(&reports));
    if !write(&args.json, &reports, q) {
        return ExitCode::from(2);
    }
    eprintln!("hub-drills: report written to {}", args.json.display());
    if reports.iter().all(Report::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes the reports so far as JSON; whether it could.
fn write(path: &std::path::Path, reports: &[Report], quick: bool) -> bool {
    let json = serde_json::json!({
        "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "quick": quick,
        "drills": reports.iter().map(Report::to_json).collect::<Vec<_>>(),
        "table": Report::table(reports),
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    match std::fs::write(path, serde_json::to_vec_pretty(&json).expect("JSON")) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("hub-drills: cannot write {}: {e}", path.display());
            false
        }
    }
}
