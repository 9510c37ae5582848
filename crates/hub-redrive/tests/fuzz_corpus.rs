//! Replays the seed corpus (and any saved crash inputs) of the `redrive_request` cargo-fuzz
//! target through its entry point on stable Rust, so CI exercises them without nightly.

use std::path::PathBuf;

#[test]
fn redrive_request_corpus_replays_without_panic() {
    // Scenario: every corpus file of the redrive_request target, the regression of the
    // out-of-range age among them, goes through the fuzz entry point.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("redrive_request")) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() {
                eprintln!("replaying {}", path.display());
                hub_redrive::request::fuzz(&std::fs::read(&path).unwrap());
                files += 1;
            }
        }
    }
    assert!(files >= 4, "the seed corpus holds the console's inputs");
}
