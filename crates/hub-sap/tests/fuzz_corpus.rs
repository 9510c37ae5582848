//! Replays the seed corpus (and any saved crash inputs) of the cargo-fuzz targets in `fuzz/`
//! through the same entry points, on stable Rust, so CI exercises them without nightly.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out
}

#[test]
fn idoc_corpus_replays_without_panic() {
    // Scenario: every corpus file of the idoc target goes through the fuzz entry point.
    let files = corpus("idoc");
    assert!(files.len() >= 5, "the seed corpus holds the IDoc fixtures");
    for (path, bytes) in files {
        eprintln!("replaying {}", path.display());
        hub_sap::fuzzing::idoc(&bytes);
    }
}

#[test]
fn cloudevent_corpus_replays_without_panic() {
    // Scenario: every corpus file of the cloudevent target goes through the fuzz entry point.
    let files = corpus("cloudevent");
    assert!(
        files.len() >= 5,
        "the seed corpus holds the CloudEvent fixtures"
    );
    for (path, bytes) in files {
        eprintln!("replaying {}", path.display());
        hub_sap::fuzzing::cloudevent(&bytes);
    }
}

#[test]
fn seed_inputs_are_valid_payloads() {
    // Scenario: the seeds are real payloads the parser accepts, so fuzzing starts from the
    // interesting paths rather than from error exits.
    use hub_sap::{Envelope, Limits, parse_record};
    for (path, bytes) in corpus("idoc") {
        if path.to_string_lossy().contains("/corpus/") {
            parse_record(&Envelope::value_only(&bytes), &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn every_fixture_seeds_its_target() {
    // Scenario: each IDoc and CloudEvent sample of hub_sap::samples is in the corpus of its
    // target (a structured event behind byte 0x00), so a new object's fixtures are fuzzed too.
    use hub_sap::samples;
    let idoc = corpus("idoc");
    let cloudevent = corpus("cloudevent");
    let has = |files: &[(std::path::PathBuf, Vec<u8>)], bytes: &[u8]| {
        files.iter().any(|(_, b)| b == bytes)
    };
    let all = samples::changes()
        .into_iter()
        .chain(samples::suppliers())
        .chain([samples::thin()]);
    for s in all {
        if s.name.ends_with(".xml") {
            assert!(has(&idoc, &s.record.value), "{} not in corpus/idoc", s.name);
        } else if s.record.headers.is_empty() {
            let seed = [&[0u8][..], &s.record.value].concat();
            assert!(
                has(&cloudevent, &seed),
                "{} not in corpus/cloudevent",
                s.name
            );
        }
    }
}
