//! Personal data stays out of logs: the personal values of every fixture (names, streets, tax
//! numbers, phone numbers, bank details) and of the held-back bad inputs (the same values, and an
//! e-mail address, where a number, a date or an identifier belongs) run through the bridge, the
//! domain functions and the redrive, on good and on bad input, with every log line captured at
//! TRACE in both formats, and none of their values appears, in the logs nor in the error text of
//! a dead letter (the raw bytes stay in its body, where they belong). No stand-in needed: the
//! in-memory adapters log what the real ones log around them.

use hub_bridge::pipeline::MemoryPipeline;
use hub_bridge::ports::{MemoryClaims, MemoryPublisher};
use hub_bridge::testing::{mixed_with_poison, record, sample_record};
use hub_bridge::{BridgeDeadLetter, Clock, KafkaRecord, Settings};
use hub_model::{ChangeEvent, Entity, Record};
use hub_redrive::ports::NoObjects;
use hub_redrive::{BridgeDestination, MemoryQueue, QueueDestination, RedriveRequest, RunLimits};
use hub_sap::samples;
use hub_store::MemoryStore;
use hub_sync::testing::sqs_event;
use hub_sync::{MemoryDeadLetters, MemoryPayloads, SyncConfig, process_batch};
use serde_json::json;
use std::collections::BTreeSet;
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

/// Personal values the fixtures carry, listed by hand: the test cannot pass for want of values
/// (each must also be among those read from the parsed records, and in the inputs).
const FIXTURE_PERSONAL: &[&str] = &[
    "Metalúrgica Paulista Ltda.",
    "Rua Barão de Jaguara 1200",
    "+55 19 3232-0000",
    "12345678000195",
    "Fundição Atlântico, S.A.",
    "Unidade de Matosinhos",
    "Rua do Ouro 420",
    "+351 22 600 1200",
    "503123456",
    "PT503123456",
    "PT50003500010001234567805",
    "00012345678",
];

/// Personal values only the held-back bad inputs carry.
const HELD_BACK_PERSONAL: &[&str] = &[
    "Maria Souza",
    "maria.souza@example.com",
    "+55 11 98765-4321",
    "MariaDaSilvaSouza",
];

/// SAP passports of the inputs: opaque SAP data that can carry user and system, never logged
/// (the correlation id is their digest).
const PASSPORTS: &[&str] = &[
    "2A54482A0300E60000756E6B6E6F776E",
    "2A54482A0300E60000756E6B6E6F7752",
    "2A54482A0300E600004D415249415F534F555A41",
];

/// The personal values of parsed records: names, streets, phone, tax and VAT numbers, bank
/// details (customers, suppliers, the partners of sales orders).
fn personal_values(records: &[Record]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| v.len() >= 5) {
            out.insert(v.to_string());
        }
    };
    for r in records {
        match r {
            Record::Customer(c) => {
                for v in [&c.name, &c.name2, &c.street, &c.phone, &c.tax_number] {
                    add(v.as_deref());
                }
            }
            Record::Supplier(s) => {
                for v in [
                    &s.name,
                    &s.name2,
                    &s.street,
                    &s.phone,
                    &s.tax_number,
                    &s.vat_number,
                ] {
                    add(v.as_deref());
                }
                for b in &s.bank_details {
                    for v in [&b.account, &b.iban, &b.account_holder, &b.reference]
                        .into_iter()
                        .flatten()
                    {
                        add(Some(v.expose()));
                    }
                }
            }
            Record::SalesOrder(o) => {
                for p in &o.partners {
                    add(p.name.as_deref());
                    add(p.street.as_deref());
                }
            }
            Record::Material(_) => {}
        }
    }
    out
}

/// `text` with its first `from` replaced, which must be there (a bad input that is not bad
/// proves nothing).
fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} is in the fixture");
    text.replacen(from, to, 1)
}

/// The held-back bad inputs: fixtures with a personal value where a date, a number or an
/// identifier belongs, so that an error quoting the value would carry it into the logs. Each
/// one was logged by the parser's messages before they were made value-free.
fn held_back(passport_record: KafkaRecord) -> Vec<KafkaRecord> {
    let (debmas, orders, cremas) = (samples::DEBMAS07, samples::ORDERS05, samples::CREMAS05);
    let (bp, supplier) = (samples::BUSINESS_PARTNER, samples::SUPPLIER);
    let idocs = [
        (
            "sap.idoc.debmas",
            with(debmas, "<CREDAT>20261120", "<CREDAT>Maria Souza"),
        ),
        (
            "sap.idoc.debmas",
            with(debmas, "<CRETIM>101944", "<CRETIM>+55 19 3232-0000"),
        ),
        (
            "sap.idoc.orders",
            with(orders, "<MENGE>2.000", "<MENGE>Metalúrgica Paulista Ltda."),
        ),
        (
            "sap.idoc.orders",
            with(
                orders,
                "<DATUM>20261204",
                "<DATUM>Rua Barão de Jaguara 1200",
            ),
        ),
        (
            "sap.idoc.cremas",
            with(cremas, "<MINBW>2500.00", "<MINBW>PT50003500010001234567805"),
        ),
        (
            "sap.idoc.cremas",
            with(
                cremas,
                "<MESTYP>CREMAS<",
                "<MESTYP>maria.souza@example.com<",
            ),
        ),
        (
            "sap.idoc.debmas",
            with(debmas, "encoding=\"UTF-8\"", "encoding=\"Maria Souza\""),
        ),
        (
            "sap.idoc.debmas",
            with(
                debmas,
                "<NAME2>Unidade Campinas",
                "<NAME2>&MariaDaSilvaSouza;",
            ),
        ),
        (
            "sap.idoc.cremas",
            with(
                cremas,
                "<STRAS>Rua do Ouro 420</STRAS>",
                "<STRAS>Rua do Ouro 420</Maria Souza>",
            ),
        ),
        (
            "sap.s4.events",
            with(
                bp,
                "\"2026-11-20T10:21:07Z\"",
                "\"maria.souza@example.com\"",
            ),
        ),
        (
            "sap.s4.events",
            with(
                bp,
                "\"specversion\": \"1.0\"",
                "\"specversion\": \"+55 11 98765-4321\"",
            ),
        ),
        (
            "sap.s4.events",
            with(
                bp,
                "businesspartner.v1.BusinessPartner",
                "Maria Souza.v1.BusinessPartner",
            ),
        ),
        (
            "sap.s4.events",
            with(
                supplier,
                "\"MinimumOrderAmount\": \"2500.00\"",
                "\"MinimumOrderAmount\": \"PT503123456\"",
            ),
        ),
    ];
    let mut out: Vec<KafkaRecord> = idocs
        .iter()
        .enumerate()
        .map(|(i, (topic, text))| record(topic, 200 + i as i64, text.as_bytes()))
        .collect();
    out.push(passport_record);
    out
}

/// Every value in `forbidden` that `text` contains.
fn leaked<'a>(text: &str, forbidden: &'a BTreeSet<String>) -> Vec<&'a str> {
    forbidden
        .iter()
        .filter(|v| text.contains(v.as_str()))
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn no_personal_value_reaches_the_logs_or_a_dead_letters_error() {
    // Scenario: every fixture (and the drills' poison records), the held-back bad inputs, and
    // the same fixtures "from the future" (a bridge clock before their SAP times) through the
    // bridge; every event published to its domain function, misrouted to another, and damaged
    // so that it is no event (a personal value where an enum or a version belongs); then both
    // DLQs redriven (a dry run, then for real: the bridge's through the pipeline again). Every
    // log line at TRACE, human and JSON, the error text and attributes of every dead letter and
    // the redrive reports hold not one personal value nor passport of the inputs, while the
    // published events carry them to the table.
    let (logs, _guard) = capture();

    // The personal values: read from the parsed fixtures, and listed by hand.
    let parsed: Vec<Record> = samples::changes()
        .iter()
        .flat_map(|s| {
            hub_sap::parse_record(
                &s.record.envelope(Some(s.topic), None, None),
                &Default::default(),
            )
            .expect("a fixture parses")
        })
        .filter_map(|o| match o {
            hub_sap::Outcome::Change(e) => e.data,
            hub_sap::Outcome::NeedsEnrichment(_) => None,
        })
        .collect();
    let from_records = personal_values(&parsed);
    for v in FIXTURE_PERSONAL {
        assert!(
            from_records.contains(*v),
            "{v} is read from the fixtures: {from_records:?}"
        );
    }
    let inputs: String = samples::changes()
        .iter()
        .map(|s| String::from_utf8_lossy(&s.record.value).into_owned())
        .collect();
    for v in FIXTURE_PERSONAL {
        assert!(inputs.contains(v), "{v} is in the fixtures");
    }
    let mut forbidden: BTreeSet<String> = from_records;
    forbidden.extend(FIXTURE_PERSONAL.iter().map(|v| v.to_string()));
    forbidden.extend(HELD_BACK_PERSONAL.iter().map(|v| v.to_string()));
    forbidden.extend(PASSPORTS.iter().map(|v| v.to_string()));
    assert!(forbidden.len() >= 20, "{forbidden:?}");

    // The bridge: the fixtures, the drills' poison, the held-back bad inputs, and a binary-mode
    // event whose passport header spells a name.
    let mut product = sample_record(samples::changes().swap_remove(4), 300);
    product
        .headers
        .push(("ce_sappassport".into(), PASSPORTS[2].as_bytes().to_vec()));
    let bad = held_back(product);
    for v in HELD_BACK_PERSONAL {
        assert!(
            bad.iter()
                .any(|r| String::from_utf8_lossy(&r.value).contains(v)),
            "{v} is in a held-back input"
        );
    }
    let mut records = mixed_with_poison();
    records.extend(bad.iter().cloned());
    let bridge = MemoryPipeline::in_memory(Settings::default());
    let report = bridge.process(&records).await;
    assert_eq!(
        report.published,
        samples::changes().len() + 1,
        "the passport one too"
    );
    assert_eq!(report.dead_lettered, 3 + bad.len() - 1);
    // The drill of a wrong clock: every fixture from the future.
    let future = MemoryPipeline::in_memory(Settings {
        clock: Clock::Fixed(chrono::DateTime::UNIX_EPOCH),
        ..Settings::default()
    });
    let fixtures = hub_bridge::testing::fixture_records();
    assert_eq!(
        future.process(&fixtures).await.dead_lettered,
        fixtures.len()
    );

    let bodies: Vec<String> = bridge
        .publisher()
        .published()
        .iter()
        .map(|m| m.body.clone())
        .collect();
    let mut letters: Vec<BridgeDeadLetter> = bridge.dead_letters().letters();
    letters.extend(future.dead_letters().letters());
    // Each held-back input fails where it was meant to.
    let held: Vec<&str> = letters
        .iter()
        .filter(|d| (200..300).contains(&d.kafka.offset))
        .map(|d| d.error.kind.as_str())
        .collect();
    assert_eq!(
        held,
        [
            "bad_date",
            "bad_date",
            "bad_number",
            "bad_date",
            "bad_number",
            "unsupported_idoc_type",
            "bad_encoding",
            "bad_xml",
            "bad_xml",
            "bad_date",
            "unsupported_specversion",
            "unsupported_event_type",
            "bad_number",
        ]
    );
    let kinds: BTreeSet<&str> = letters.iter().map(|d| d.error.kind.as_str()).collect();
    for kind in [
        "bad_date",
        "bad_number",
        "unsupported_idoc_type",
        "future_version",
    ] {
        assert!(kinds.contains(kind), "{kind} among {kinds:?}");
    }
    // What an operator reads of a dead letter: its error and attributes (not the raw bytes).
    let mut envelopes = String::new();
    for d in &letters {
        envelopes.push_str(&serde_json::to_string(&d.error).unwrap());
        envelopes.push_str(&format!("{:?}\n", d.attributes()));
    }

    // The domain functions: each event to its own, all of them misrouted to the customers', and
    // events that are none.
    let mut not_events = Vec::new();
    for body in &bodies {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        if v["entity"] != "customer" && v["entity"] != "supplier" {
            continue;
        }
        for (field, personal) in [
            ("op", "Maria Souza"),
            ("version", "maria.souza@example.com"),
            ("entity", "+55 11 98765-4321"),
            ("schema", "Maria Souza"),
        ] {
            let mut bad = v.clone();
            bad[field] = json!(personal);
            not_events.push((Entity::Customer, bad.to_string()));
        }
        let mut bad = v.clone();
        bad["data"]["name"] = json!(["Maria Souza"]);
        not_events.push((Entity::Customer, bad.to_string()));
    }
    let store = MemoryStore::new();
    let domain_dlq = MemoryDeadLetters::default();
    let mut batches: Vec<(Entity, Vec<String>)> = Vec::new();
    for entity in [
        Entity::Customer,
        Entity::Material,
        Entity::SalesOrder,
        Entity::Supplier,
    ] {
        let own: Vec<String> = bodies
            .iter()
            .filter(|b| serde_json::from_str::<ChangeEvent>(b).unwrap().entity == entity)
            .filter(|b| !b.contains("\"op\":\"delete\""))
            .cloned()
            .collect();
        batches.push((entity, own));
    }
    batches.push((Entity::Customer, bodies.clone()));
    batches.push((
        Entity::Customer,
        not_events.into_iter().map(|(_, b)| b).collect(),
    ));
    for (entity, batch) in batches {
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
            &domain_dlq,
            &MemoryPayloads::default(),
            &config,
            deadline,
        )
        .await;
    }
    let stored = format!("{:?}", store.snapshot());
    for v in ["Metalúrgica Paulista Ltda.", "Fundição Atlântico, S.A."] {
        assert!(stored.contains(v), "the table keeps {v}");
    }
    let domain_letters = domain_dlq.messages();
    assert!(domain_letters.len() >= 8, "{}", domain_letters.len());
    for (_, attributes) in &domain_letters {
        envelopes.push_str(&format!("{attributes:?}\n"));
    }

    // The redrive: the bridge DLQ through the pipeline again (they fail again: new letters), with
    // a body that is no dead letter among them; the domain DLQ back to its queue.
    let limits = || {
        let mut l = RunLimits::within(Duration::from_secs(60));
        l.send_retry.base = Duration::from_millis(1);
        l.send_retry.cap = Duration::from_millis(2);
        l
    };
    let bridge_dlq = MemoryQueue::new("bridge-dlq");
    for d in &letters {
        let attributes: Vec<(&str, String)> = d.attributes();
        let attributes: Vec<(&str, &str)> =
            attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        bridge_dlq.push(&d.body(), &attributes);
    }
    bridge_dlq.push(r#"{"kafka": "Maria Souza"}"#, &[("error_class", "poison")]);
    let again = BridgeDestination::new(
        "topic",
        MemoryPublisher::default(),
        MemoryClaims::default(),
        NoObjects,
        MemoryQueue::new("bridge-dlq-again"),
        Settings::default(),
        Duration::from_secs(5),
    );
    let domain_queue = MemoryQueue::new("customers-dlq");
    for (body, attributes) in &domain_letters {
        let attributes: Vec<(&str, &str)> = attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        domain_queue.push(body, &attributes);
    }
    let back = QueueDestination::new(MemoryQueue::new("customers"));
    let mut reports = String::new();
    for dry_run in [true, false] {
        let request = RedriveRequest {
            dry_run,
            ..RedriveRequest::default()
        };
        let r = hub_redrive::run(&request, &bridge_dlq, &again, limits(), |_| {}).await;
        reports.push_str(&serde_json::to_string(&r).unwrap());
        let r = hub_redrive::run(&request, &domain_queue, &back, limits(), |_| {}).await;
        reports.push_str(&serde_json::to_string(&r).unwrap());
    }
    let sent_again = again.dlq().sent();
    assert!(
        sent_again.len() >= letters.len() - fixtures.len(),
        "{}",
        sent_again.len()
    );
    for o in sent_again.iter().chain(back.queue().sent().iter()) {
        envelopes.push_str(&format!("{:?}\n", o.attributes));
    }

    let text = logs.text();
    assert!(text.lines().count() > 50, "the run logged: {text}");
    assert!(text.contains("Record dead-lettered.") && text.contains("Dead-lettered."));
    let in_logs = leaked(&text, &forbidden);
    assert!(
        in_logs.is_empty(),
        "personal values in the logs: {in_logs:?}\n{text}"
    );
    let in_letters = leaked(&envelopes, &forbidden);
    assert!(
        in_letters.is_empty(),
        "personal values in dead letters' errors: {in_letters:?}\n{envelopes}"
    );
    let in_reports = leaked(&reports, &forbidden);
    assert!(
        in_reports.is_empty(),
        "in redrive reports: {in_reports:?}\n{reports}"
    );
}
