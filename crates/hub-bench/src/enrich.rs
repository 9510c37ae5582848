//! `hub-bench enrich`: the S/4 enricher against the local S/4 (SAP CAP), on a thin-event load:
//! S/4 requests per event and the latency enrichment adds, beside two peers over the same HTTPS
//! adapter and mappings:
//!
//! - **per event** (naive): one read per thin event, as a consumer that enriches each message
//!   it receives would;
//! - **per key** (competent): one read per distinct key of a batch, each key its own call;
//! - **the enricher**: one read per distinct key, up to 40 keys per call (`$filter` with `or`),
//!   behind its breaker and its rate limit (the template's 50 requests/s over a concurrency of
//!   2: 25/s for this one environment).
//!
//! The load: `--objects` business partners, products and sales orders created in the S/4 (deep
//! inserts through OData V4), then `--events` thin Changed events over them, keys drawn
//! uniformly, in batches of `--batch` (the template's event source mapping: 100 within a
//! one-second window). The added latency of an event is the time its batch spends in
//! enrichment (an event waits for its batch).

use anyhow::{Context as _, bail};
use hub_enrich::{Enricher, Fate, S4Api, Settings, Thin};
use hub_model::{ChangeEvent, Entity};
use hub_sap::{Limits, Outcome, OwnedRecord};
use s4_enricher::credentials::S4Secret;
use s4_enricher::s4_http::HttpS4;
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `hub-bench enrich`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An S/4 to use instead of a fresh one (by default the bench serves its own local S/4
    /// with `infra/local/s4-serve.sh`, without Kafka, so that its objects and events are its
    /// own).
    #[arg(long)]
    s4: Option<String>,
    /// Objects of each kind created in the S/4 for the load.
    #[arg(long, default_value_t = 200)]
    objects: u32,
    /// Thin events in the load.
    #[arg(long, default_value_t = 2000)]
    events: u32,
    /// Events per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Write the table (Markdown) here too.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// One way of enriching a batch, measured.
#[derive(Debug, Default)]
struct Run {
    name: &'static str,
    requests: u64,
    events: u64,
    enriched: u64,
    batch_ms: Vec<f64>,
}

impl Run {
    fn per_event(&self) -> f64 {
        self.requests as f64 / self.events.max(1) as f64
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The key of object `i` of a kind, beside the seed's own keys.
fn key(prefix: u32, i: u32) -> String {
    format!("{}", prefix * 100_000 + i)
}

const KINDS: [(Entity, &str, &str, &str, u32); 3] = [
    (
        Entity::Customer,
        "API_BUSINESS_PARTNER",
        "A_BusinessPartner",
        "BusinessPartner",
        7,
    ),
    (
        Entity::Material,
        "API_PRODUCT_SRV",
        "A_Product",
        "Product",
        8,
    ),
    (
        Entity::SalesOrder,
        "API_SALES_ORDER_SRV",
        "A_SalesOrder",
        "SalesOrder",
        9,
    ),
];

fn fixture_data(entity: Entity) -> serde_json::Value {
    let (text, field) = match entity {
        Entity::Customer => (hub_sap::samples::BUSINESS_PARTNER, "data"),
        Entity::Material => (hub_sap::samples::PRODUCT_BINARY, "value"),
        _ => (hub_sap::samples::SALES_ORDER, "data"),
    };
    let v: serde_json::Value = serde_json::from_str(text).expect("a fixture is JSON");
    v[field].clone()
}

/// Creates the load's objects in the S/4: deep inserts through OData V4, the fixtures' data
/// under new keys.
fn create_objects(s4: &str, objects: u32) -> anyhow::Result<()> {
    for (entity, service, set, property, prefix) in KINDS {
        let template = fixture_data(entity);
        for i in 0..objects {
            let mut o = template.clone();
            let k = key(prefix, i);
            o[property] = k.clone().into();
            if entity == Entity::Customer {
                o["Customer"] = k.clone().into();
            }
            // The children take their parent's key from the composition.
            if let Some(m) = o.as_object_mut() {
                for (_, v) in m.iter_mut() {
                    if let Some(items) = v.as_array_mut() {
                        for item in items {
                            if let Some(item) = item.as_object_mut() {
                                item.remove(property);
                            }
                        }
                    }
                }
            }
            let url = format!("{s4}/odata/v4/{service}/{set}");
            let status = hub_local::s4::request("POST", &url, Some(&o.to_string()))
                .map_err(anyhow::Error::msg)?;
            if status != 201 {
                bail!("POST {url} answered {status}");
            }
        }
    }
    Ok(())
}

fn thin_event(entity: Entity, k: &str, n: u64) -> ChangeEvent {
    let (object, stem, field) = match entity {
        Entity::Customer => ("businesspartner", "BusinessPartner", "BusinessPartner"),
        Entity::Material => ("product", "Product", "Product"),
        _ => ("salesorder", "SalesOrder", "SalesOrder"),
    };
    let event = serde_json::json!({
        "specversion": "1.0",
        "type": format!("sap.s4.beh.{object}.v1.{stem}.Changed.v1"),
        "source": "/default/sap.s4.beh/S4LCLNT100",
        "id": format!("bench-{n}"),
        "time": "2026-12-04T10:00:00Z",
        "data": { field: k },
    });
    let record = OwnedRecord {
        value: event.to_string().into_bytes(),
        ..OwnedRecord::default()
    };
    match hub_sap::parse_record(&record.envelope(None, None, None), &Limits::default()) {
        Ok(mut out) => match out.remove(0) {
            Outcome::NeedsEnrichment(t) => t.into_event(),
            Outcome::Change(e) => *e,
        },
        Err(e) => panic!("the bench's thin event parses: {e}"),
    }
}

/// The load: `events` thin events over the objects, in batches.
fn load(objects: u32, events: u32, batch: usize) -> Vec<Vec<Thin>> {
    let mut rng = fastrand::Rng::with_seed(20);
    let all: Vec<Thin> = (0..u64::from(events))
        .map(|n| {
            let (entity, _, _, _, prefix) = KINDS[rng.usize(..KINDS.len())];
            let k = key(prefix, rng.u32(..objects));
            Thin {
                id: n.to_string(),
                event: thin_event(entity, &k, n),
            }
        })
        .collect();
    all.chunks(batch).map(<[Thin]>::to_vec).collect()
}

async fn peer(api: &HttpS4, batches: &[Vec<Thin>], per_key: bool) -> anyhow::Result<Run> {
    let mut run = Run {
        name: if per_key {
            "per key (competent)"
        } else {
            "per event (naive)"
        },
        ..Run::default()
    };
    for batch in batches {
        let started = Instant::now();
        let mut seen = BTreeSet::new();
        let mut whole = BTreeSet::new();
        for t in batch {
            let e = &t.event;
            if per_key && !seen.insert((e.entity, e.key.clone())) {
                continue;
            }
            let a = hub_sap::odata::api(e.entity).context("an API")?;
            let property = hub_sap::odata::key_property(e.entity, &e.source.message_type);
            let body = api
                .get(&hub_sap::odata::query(&a, property, &[e.key.as_str()]))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            run.requests += 1;
            let objects = hub_sap::odata::read(e.entity, property, &body, 64)?;
            if objects.iter().any(|o| o.record.is_ok()) {
                whole.insert((e.entity, e.key.clone()));
            }
        }
        run.enriched += batch
            .iter()
            .filter(|t| whole.contains(&(t.event.entity, t.event.key.clone())))
            .count() as u64;
        run.events += batch.len() as u64;
        run.batch_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(run)
}

async fn hub(api: HttpS4, batches: &[Vec<Thin>]) -> Run {
    let enricher = Enricher::new(api, Settings::default());
    let mut run = Run {
        name: "the enricher",
        ..Run::default()
    };
    for batch in batches {
        let started = Instant::now();
        let fates = enricher.enrich(batch, None).await;
        run.batch_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        run.events += batch.len() as u64;
        run.enriched += fates
            .iter()
            .filter(|f| matches!(f, Fate::Enriched(_) | Fate::Superseded))
            .count() as u64;
    }
    run.requests = enricher.metrics().snapshot().calls;
    run
}

/// Runs the bench and prints its table.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let secret = S4Secret::parse(r#"{"auth":"basic","username":"hub","password":"hub-local"}"#)
        .map_err(anyhow::Error::msg)?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (_own, s4) = match &args.s4 {
        Some(url) => (None, url.clone()),
        None => {
            let own = hub_local::s4::LocalS4::start(&root, None)
                .await
                .map_err(anyhow::Error::msg)?;
            let url = own.url.clone();
            (Some(own), url)
        }
    };
    let new_api = || HttpS4::new(&s4, secret.clone(), Duration::from_secs(30), true);
    eprintln!(
        "Creating {} objects of each kind in the S/4 at {s4}…",
        args.objects
    );
    create_objects(&s4, args.objects)?;
    let batches = load(args.objects, args.events, args.batch);
    // A warm-up pass (connections, the S/4's statement caches), not counted.
    let _ = peer(&new_api()?, &batches[..1], true).await?;
    let naive = peer(&new_api()?, &batches, false).await?;
    let competent = peer(&new_api()?, &batches, true).await?;
    let hub = hub(new_api()?, &batches).await;
    let mut md = format!(
        "S/4 enrichment: {} thin events over {} objects of each kind, batches of {} (local S/4: SAP CAP)\n\n\
         | | S/4 requests per event | added latency p50 (ms) | p99 (ms) | events made whole |\n|---|---:|---:|---:|---:|\n",
        args.events, args.objects, args.batch
    );
    for r in [&naive, &competent, &hub] {
        let mut ms = r.batch_ms.clone();
        ms.sort_by(f64::total_cmp);
        md.push_str(&format!(
            "| {} | {:.3} | {:.0} | {:.0} | {} |\n",
            r.name,
            r.per_event(),
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            r.enriched,
        ));
    }
    let ratio = |a: &Run, b: &Run| a.per_event() / b.per_event().max(f64::MIN_POSITIVE);
    md.push_str(&format!(
        "\nRequests per event: the enricher {:.3} (target ≤ 0.3): {:.2}× the per-key peer's, {:.2}× the per-event peer's.\n",
        hub.per_event(),
        ratio(&hub, &competent),
        ratio(&hub, &naive)
    ));
    print!("{md}");
    if let Some(path) = &args.out {
        std::fs::write(path, &md).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if hub.per_event() <= 0.3 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
