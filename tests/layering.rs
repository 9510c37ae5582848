//! The workspace's rooms, checked on `cargo tree`: each Lambda links only what it needs (the
//! domain functions neither the SAP parser, the bridge, the template reader nor the local
//! stack), and no Lambda crate depends on another. No stand-in needed.

use std::collections::BTreeSet;
use std::process::Command;

/// The crates `package` links in its normal (non-dev) build with its default features.
fn linked(package: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree", "--locked", "-p", package, "-e", "normal", "--prefix", "none",
        ])
        .args(["--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

const LAMBDAS: [&str; 5] = [
    "domain-sync",
    "kafka-bridge",
    "dlq-redrive",
    "change-stream",
    "s4-enricher",
];

/// Development and operator tooling: no Lambda links it.
const TOOLING: [&str; 7] = [
    "hub-template",
    "hub-reconcile",
    "serde_norway",
    "hub-local",
    "hub-bench",
    "hubctl",
    "rdkafka",
];

#[test]
fn no_lambda_links_development_tooling() {
    // Scenario: the template reader, the provisioner and the local stack stay out of every
    // deployable and of the adapter crate they share (the bridge Lambda without its `consumer` feature links no Kafka client).
    for runtime in LAMBDAS.iter().chain(&["hub-aws"]) {
        let crates = linked(runtime);
        for tool in TOOLING {
            assert!(!crates.contains(tool), "{runtime} links {tool}");
        }
    }
}

#[test]
fn the_domain_functions_link_no_parser_and_no_bridge() {
    // Scenario: a domain function reads canonical events; SAP's formats and the bridge's
    // pipeline and HTTP publisher are not its business.
    let crates = linked("domain-sync");
    for other in ["hub-sap", "hub-bridge", "hub-redrive", "quick-xml"] {
        assert!(!crates.contains(other), "domain-sync links {other}");
    }
    for needed in ["hub-sync", "hub-store", "hub-model", "hub-core", "hub-aws"] {
        assert!(crates.contains(needed), "domain-sync should link {needed}");
    }
}

#[test]
fn the_bridge_and_the_redrive_link_the_parser() {
    // Scenario: the bridge parses SAP records, and the redrive of the bridge DLQ parses them
    // again: both need hub-sap, and neither the domain store.
    for lambda in ["kafka-bridge", "dlq-redrive"] {
        let crates = linked(lambda);
        assert!(crates.contains("hub-sap"), "{lambda} should link hub-sap");
        assert!(!crates.contains("hub-store"), "{lambda} links hub-store");
    }
}

#[test]
fn no_lambda_crate_depends_on_another() {
    // Scenario: wiring two Lambdas need lives in the adapter crate, not in one of them.
    for lambda in LAMBDAS {
        let crates = linked(lambda);
        for other in LAMBDAS.iter().filter(|o| **o != lambda) {
            assert!(!crates.contains(*other), "{lambda} depends on {other}");
        }
    }
}
