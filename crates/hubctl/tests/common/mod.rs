//! Runs the `hubctl` binary from the repository root, as an operator would.

#![allow(dead_code)] // each test binary uses part of it

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Runs `hubctl ARGS`; returns the exit status, the JSON lines of stdout and stderr.
pub fn hubctl_full(args: &[&str]) -> (i32, Vec<Value>, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_hubctl"))
        .args(args)
        .current_dir(root)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        lines,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs `hubctl ARGS` as a user would, with the log level left to the command (no `RUST_LOG`);
/// returns the exit status, stdout and stderr.
pub fn hubctl_as_user(args: &[&str]) -> (i32, String, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_hubctl"))
        .args(args)
        .current_dir(root)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs `hubctl ARGS`; returns the exit status and the JSON lines of stdout.
pub fn hubctl(args: &[&str]) -> (i32, Vec<Value>) {
    let (code, lines, _) = hubctl_full(args);
    (code, lines)
}
