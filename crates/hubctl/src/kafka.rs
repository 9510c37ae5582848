//! `hubctl kafka serve`: hosts the embedded Kafka until interrupted.

use anyhow::Context as _;
use hub_kafka::EmbeddedKafka;
use std::path::PathBuf;
use std::process::ExitCode;

/// `hubctl kafka …`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start the embedded Kafka (librdkafka mock cluster) on 127.0.0.1 and keep it up until
    /// SIGINT or SIGTERM. Prints the bootstrap address and writes it to --bootstrap-file.
    Serve {
        /// Number of brokers.
        #[arg(long, default_value_t = 1)]
        brokers: i32,
        /// A topic to create, NAME[:PARTITIONS] (repeatable; default: the SAP topics).
        #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
        topics: Vec<String>,
        /// Where to write the bootstrap address for other tools.
        #[arg(long, default_value = ".local/run/kafka.bootstrap")]
        bootstrap_file: PathBuf,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Serve {
        brokers,
        topics,
        bootstrap_file,
    } = cmd;
    let specs: Vec<String> = if topics.is_empty() {
        // Every SAP topic of the object registry, three partitions each (more topics are
        // auto-created on first use).
        hub_model::object::sap_topics()
            .map(|t| format!("{}:3", t.name))
            .collect()
    } else {
        topics
    };
    let topics = specs
        .iter()
        .map(|s| match s.split_once(':') {
            None => Ok((s.clone(), 3)),
            Some((n, p)) => p
                .parse::<i32>()
                .map(|p| (n.to_string(), p))
                .with_context(|| format!("--topic {s}: partitions must be a number")),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kafka = EmbeddedKafka::start(brokers, &topics)?;
    kafka.write_bootstrap_file(&bootstrap_file)?;
    println!("{}", kafka.bootstrap_servers());
    wait_for_signal()?;
    std::fs::remove_file(&bootstrap_file).ok();
    drop(kafka);
    Ok(ExitCode::SUCCESS)
}

/// Blocks until SIGINT or SIGTERM, using a small current-thread runtime for tokio's signals.
fn wait_for_signal() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        Ok::<_, std::io::Error>(())
    })?;
    Ok(())
}
