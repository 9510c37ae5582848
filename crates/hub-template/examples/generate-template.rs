//! Writes `template.yaml` from its definition in `infra/template/`:
//! `cargo run -p hub-template --example generate-template`.

use hub_template::generate::{DIR, render};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = match render(&root.join(DIR)) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{DIR}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = root.join("template.yaml");
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        println!("template.yaml is up to date.");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("cannot write template.yaml: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "Wrote template.yaml ({} lines) from {DIR}/.",
        text.lines().count()
    );
    ExitCode::SUCCESS
}
