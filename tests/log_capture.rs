//! Personal data stays out of logs: the suppliers' bank details (account, IBAN, holder,
//! reference) run through the bridge and a domain function, on good and on bad input, with
//! every log line captured at TRACE, and none of their values appears. No stand-in needed: the
//! in-memory adapters log what the real ones log around them.

use hub_bridge::pipeline::MemoryPipeline;
use hub_bridge::testing::record;
use hub_bridge::{KafkaRecord, Settings};
use hub_model::{ChangeEvent, Entity, Record};
use hub_sap::samples;
use hub_store::MemoryStore;
use hub_sync::testing::sqs_event;
use hub_sync::{MemoryDeadLetters, MemoryPayloads, SyncConfig, process_batch};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every line any subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Captures every event and span field at TRACE, in both of the hub's formats (human and JSON),
/// for the current thread (the test's runtime is single-threaded).
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt;
    let out = Captured::default();
    let (human, json_out) = (out.clone(), out.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(move || human.clone()))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(move || json_out.clone()),
        )
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let guard = tracing::subscriber::set_default(subscriber);
    (out, guard)
}

/// The bank values of the supplier fixtures, read from the events the bridge publishes.
fn bank_values(bodies: &[String]) -> Vec<String> {
    let mut values = Vec::new();
    for body in bodies {
        let event: ChangeEvent = serde_json::from_str(body).unwrap();
        if let Some(Record::Supplier(s)) = event.data {
            for b in &s.bank_details {
                for v in [&b.account, &b.iban, &b.account_holder, &b.reference]
                    .into_iter()
                    .flatten()
                {
                    values.push(v.expose().to_string());
                }
            }
        }
    }
    values.sort();
    values.dedup();
    values
}

#[tokio::test]
async fn supplier_bank_details_never_reach_the_logs() {
    // Scenario: the supplier fixtures and damaged copies of them (a bad date, a missing key, a
    // truncated document, an unknown message type) through the bridge; its events, the same
    // events misrouted, and bodies that are no events (bank details of the wrong type) through
    // the suppliers' and the customers' domain functions. Every log line is captured: not one
    // bank value of the fixtures is in them, while the events do carry them to the table.
    let (logs, _guard) = capture();

    let cremas = samples::CREMAS05;
    let damaged = [
        cremas.replacen("<CREDAT>", "<CREDAT>2026-99-", 1),
        cremas.replacen("<LIFNR>0000300123</LIFNR>", "", 1),
        cremas[..cremas.find("</E1LFBKM>").expect("a bank segment") + 4].to_string(),
        cremas.replacen("<MESTYP>CREMAS</MESTYP>", "<MESTYP>ZCREMAS</MESTYP>", 1),
    ];
    let mut records: Vec<KafkaRecord> = samples::suppliers()
        .into_iter()
        .enumerate()
        .map(|(i, s)| KafkaRecord::from_sample(s, i as i64))
        .collect();
    for (i, bad) in damaged.iter().enumerate() {
        records.push(record("sap.idoc.cremas", 100 + i as i64, bad.as_bytes()));
    }
    let bridge = MemoryPipeline::in_memory(Settings::default());
    let report = bridge.process(&records).await;
    assert_eq!(report.published, samples::suppliers().len());
    assert_eq!(report.dead_lettered, damaged.len());

    let bodies: Vec<String> = bridge
        .publisher()
        .published()
        .iter()
        .map(|m| m.body.clone())
        .collect();
    let secrets = bank_values(&bodies);
    assert!(
        secrets.len() >= 3,
        "the fixtures carry bank details: {}",
        secrets.len()
    );

    // Bodies that are no events: a supplier whose bank details are one of their values (so a
    // parser's message would quote it), and a truncated one.
    let mut not_events: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let mut v: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
            v["data"]["bank_details"] = json!(secret);
            v.to_string()
        })
        .collect();
    not_events.push(bodies[0][..bodies[0].len() / 2].to_string());
    // The supplier ends deleted (the CREMAS06 fixture): its live versions go first, alone, so
    // that the table holds its bank details when the test looks.
    let live: Vec<String> = bodies
        .iter()
        .filter(|b| !b.contains("\"op\":\"delete\""))
        .cloned()
        .collect();
    let store = MemoryStore::new();
    for (entity, batch) in [
        (Entity::Supplier, live),
        (Entity::Supplier, not_events),
        (Entity::Customer, bodies.clone()),
    ] {
        let dlq = MemoryDeadLetters::default();
        let config = SyncConfig::new(entity, entity.object().domain);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        process_batch(
            sqs_event(
                entity.as_str(),
                batch
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (format!("m{i}"), b.clone())),
            ),
            &store,
            &dlq,
            &MemoryPayloads::default(),
            &config,
            deadline,
        )
        .await;
    }
    let stored = serde_json::to_string(
        &store
            .snapshot()
            .iter()
            .map(|i| &i.attrs)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(
        secrets.iter().any(|s| stored.contains(s.as_str())),
        "the table keeps the bank details"
    );

    let text = logs.text();
    assert!(text.lines().count() > 10, "the run logged: {text}");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a bank value is in the logs:\n{text}"
        );
    }
}
