//! The baseline's processes: `infra/baseline/baseline.py` (confluent-kafka + boto3) in the
//! virtualenv `infra/local/install.sh` prepares.

use anyhow::{Context as _, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The interpreter and the script.
#[derive(Debug, Clone)]
pub struct Python {
    /// The Python interpreter (with confluent-kafka and boto3).
    pub interpreter: PathBuf,
    /// `baseline.py`.
    pub script: PathBuf,
}

/// Which of the baseline's two designs (`baseline.py --mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// What a team writes first: one `Publish` per event, one `PutItem` and one
    /// `DeleteMessage` per message, last writer wins.
    Naive,
    /// A competent simple design: `PublishBatch`, per-key coalescing within a receive, a
    /// version-guarded conditional `PutItem`, `DeleteMessageBatch`.
    Competent,
}

impl Mode {
    /// The name `baseline.py --mode` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Naive => "naive",
            Mode::Competent => "competent",
        }
    }
}

/// What a baseline process reports when it stops.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Figures {
    /// Kafka records (bridge) or SQS messages (consumer) handled.
    pub records: u64,
    /// Events published (bridge) or items written (consumer).
    pub events: u64,
    /// Records it could not handle.
    pub errors: u64,
    /// CPU seconds (user + system, all threads).
    pub cpu_seconds: Option<f64>,
    /// Wall seconds.
    pub wall_seconds: Option<f64>,
}

/// A running baseline process.
pub struct Process {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    what: String,
}

impl Python {
    /// Checks that the interpreter has the baseline's packages.
    pub async fn check(&self) -> anyhow::Result<()> {
        if !self.script.exists() {
            bail!(
                "{} not found (run from the repository root)",
                self.script.display()
            );
        }
        let ok = Command::new(&self.interpreter)
            .args(["-c", "import confluent_kafka, boto3"])
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            bail!(
                "{} cannot import confluent_kafka and boto3: run bash infra/local/install.sh",
                self.interpreter.display()
            );
        }
        Ok(())
    }

    /// Starts `baseline.py <args>` and waits until it says it is ready.
    pub async fn start(&self, args: &[&str]) -> anyhow::Result<Process> {
        let mut p = self.spawn(args)?;
        let ready = tokio::time::timeout(Duration::from_secs(60), p.lines.next_line())
            .await
            .with_context(|| format!("{} did not get ready within 60 s", p.what))??;
        match ready {
            Some(l) if l.contains("\"ready\"") => Ok(p),
            other => bail!("{} did not start: {other:?}", p.what),
        }
    }

    /// Runs `baseline.py <args>` to its end and returns its figures.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<Figures> {
        let p = self.spawn(args)?;
        p.finish().await
    }

    fn spawn(&self, args: &[&str]) -> anyhow::Result<Process> {
        let what = format!("baseline {}", args.first().copied().unwrap_or(""));
        let mut child = Command::new(&self.interpreter)
            .arg(&self.script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let stdout = child.stdout.take().context("baseline stdout")?;
        Ok(Process {
            child,
            lines: BufReader::new(stdout).lines(),
            what,
        })
    }
}

impl Process {
    /// Asks the process to stop (SIGTERM) and returns its figures.
    pub async fn stop(self) -> anyhow::Result<Figures> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        self.finish().await
    }

    async fn finish(mut self) -> anyhow::Result<Figures> {
        let mut last = None;
        let read = async {
            while let Some(l) = self.lines.next_line().await? {
                if l.contains("cpu_seconds") {
                    last = Some(l);
                }
            }
            anyhow::Ok(())
        };
        tokio::time::timeout(Duration::from_secs(600), read)
            .await
            .with_context(|| format!("{} did not finish", self.what))??;
        let status = self.child.wait().await?;
        let line = last.with_context(|| format!("{} printed no figures ({status})", self.what))?;
        serde_json::from_str(&line).with_context(|| format!("{}: {line}", self.what))
    }
}
