//! A batch of thin events to their fates.
//!
//! **A Created or Changed event whose object S/4 no longer has** (absent from the `$filter`
//! answer: the `404` of a read by key) becomes [`Fate::NotFound`]: acknowledged, counted
//! (`enrich_not_found_total`) and logged with its key, never dead-lettered and never published.
//! The object was deleted after the event, and S/4 raises a Deleted event for that deletion,
//! which the bridge publishes as a delete with its own, later version; the hub needs nothing
//! from this one. It is not turned into a delete either: S/4 also hides objects the technical
//! user may not read (a missing authorisation for a sales organisation looks the same as a
//! deletion), and a hub that deleted on absence would turn a role missing in S/4 into deleted
//! records in every domain.

use crate::api::{CallError, S4Api};
use crate::breaker::{Admission, Breakers};
use crate::limiter::RateLimiter;
use crate::metrics::EnrichMetrics;
use crate::settings::Settings;
use hub_core::retry::Backoff;
use hub_model::{ChangeEvent, Entity, Op, Version};
use hub_sap::odata::{self, ApiObject, Mapped};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// A thin event and the id of the message that brought it.
#[derive(Debug, Clone)]
pub struct Thin {
    /// The SQS message id.
    pub id: String,
    /// The event (without `data`).
    pub event: ChangeEvent,
}

/// What becomes of a thin event.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Publish this event: the object read from S/4, at the newer of the event's version and
    /// the object's last change.
    Enriched(Box<ChangeEvent>),
    /// Publish it as it is: a delete, or an event that already has its data.
    AsIs(Box<ChangeEvent>),
    /// Another event of the same key in the batch is published with the object's state.
    Superseded,
    /// S/4 no longer has the object (see the module documentation).
    NotFound,
    /// S/4 could not be read (down, slow, throttling, breaker open, out of time): leave the
    /// message in the queue for later.
    Unavailable {
        /// Why, for the log.
        reason: String,
    },
    /// What S/4 answered cannot be made an event, or the request is refused as such: to the
    /// enricher's DLQ with this context.
    Failed {
        /// A stable kind: `mapping`, `s4_refused`, `unsupported_entity`.
        kind: &'static str,
        /// What went wrong.
        message: String,
        /// The field at fault, when known.
        path: Option<String>,
    },
}

/// The enricher: an S/4 API behind breakers and a rate limit.
#[derive(Debug)]
pub struct Enricher<A> {
    api: A,
    settings: Settings,
    breakers: Arc<Breakers>,
    limiter: RateLimiter,
    metrics: Arc<EnrichMetrics>,
    transitions_counted: AtomicU64,
}

/// The keys of one entity read the same way, and the events of each key.
type Group = BTreeMap<String, Vec<usize>>;

impl<A: S4Api> Enricher<A> {
    /// An enricher over `api` with `settings`.
    pub fn new(api: A, settings: Settings) -> Enricher<A> {
        Enricher {
            api,
            breakers: Arc::new(Breakers::new(settings.breaker)),
            limiter: RateLimiter::new(
                settings.rate_per_environment(),
                settings.rate_per_environment().ceil(),
                settings.max_retry_after,
            ),
            settings,
            metrics: Arc::new(EnrichMetrics::default()),
            transitions_counted: AtomicU64::new(0),
        }
    }

    /// The API (tests inspect it).
    pub fn api(&self) -> &A {
        &self.api
    }

    /// The breakers.
    pub fn breakers(&self) -> &Arc<Breakers> {
        &self.breakers
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<EnrichMetrics> {
        &self.metrics
    }

    /// A batch arrived while the breaker is open: the mapping is on again, so the next call
    /// probes ([`Breakers::probe_now`]).
    pub fn batch_arrived(&self) {
        self.breakers.probe_now(self.api.host());
    }

    /// The state of the breaker of the API's host.
    pub fn breaker_state(&self) -> crate::BreakerState {
        self.breakers.state(self.api.host())
    }

    /// The fate of every event of `batch`, in its order. No wait ends after `deadline`: what
    /// is not read by then is [`Fate::Unavailable`].
    pub async fn enrich(&self, batch: &[Thin], deadline: Option<Instant>) -> Vec<Fate> {
        let mut fates: Vec<Option<Fate>> = vec![None; batch.len()];
        let mut groups: BTreeMap<(Entity, &'static str), Group> = BTreeMap::new();
        for (i, t) in batch.iter().enumerate() {
            let e = &t.event;
            if e.op == Op::Delete || e.data.is_some() {
                fates[i] = Some(Fate::AsIs(Box::new(e.clone())));
            } else if odata::api(e.entity).is_none() {
                fates[i] = Some(Fate::Failed {
                    kind: "unsupported_entity",
                    message: format!(
                        "no S/4 API read is defined for {} events; this event cannot be enriched",
                        e.entity
                    ),
                    path: None,
                });
            } else {
                let property = odata::key_property(e.entity, &e.source.message_type);
                groups
                    .entry((e.entity, property))
                    .or_default()
                    .entry(e.key.clone())
                    .or_default()
                    .push(i);
            }
        }
        for ((entity, property), group) in groups {
            let keys: Vec<&String> = group.keys().collect();
            for chunk in keys.chunks(self.settings.max_keys_per_call.max(1)) {
                let chunk: Vec<&str> = chunk.iter().map(|k| k.as_str()).collect();
                self.read(
                    entity, property, &chunk, &group, batch, &mut fates, deadline,
                )
                .await;
            }
        }
        let fates: Vec<Fate> = fates
            .into_iter()
            .map(|f| {
                f.unwrap_or(Fate::Unavailable {
                    reason: "not read".into(),
                })
            })
            .collect();
        self.count(&fates);
        fates
    }

    fn count(&self, fates: &[Fate]) {
        self.metrics.update(|c| {
            c.events += fates.len() as u64;
            for f in fates {
                match f {
                    Fate::Enriched(_) => c.enriched += 1,
                    Fate::AsIs(_) => c.as_is += 1,
                    Fate::Superseded => c.superseded += 1,
                    Fate::NotFound => c.not_found += 1,
                    Fate::Unavailable { .. } => c.unavailable += 1,
                    Fate::Failed { .. } => {}
                }
            }
        });
        let now = self.breakers.transitions();
        let before = self.transitions_counted.swap(now, Ordering::Relaxed);
        self.metrics
            .update(|c| c.breaker_transitions += now.saturating_sub(before));
        self.metrics.breaker(self.breaker_state());
    }

    /// Reads `keys` in one call (retried within the settings' attempts) and settles the fate of
    /// their events. A call S/4 refuses as a request is split into single-key calls, so that
    /// one bad key fails alone.
    #[allow(clippy::too_many_arguments)]
    async fn read(
        &self,
        entity: Entity,
        property: &'static str,
        keys: &[&str],
        group: &Group,
        batch: &[Thin],
        fates: &mut [Option<Fate>],
        deadline: Option<Instant>,
    ) {
        let unavailable = |fates: &mut [Option<Fate>], reason: &str| {
            for k in keys {
                for &i in &group[*k] {
                    fates[i] = Some(Fate::Unavailable {
                        reason: reason.to_string(),
                    });
                }
            }
        };
        let api = odata::api(entity).expect("checked by the caller");
        let path = odata::query(&api, property, keys);
        let body = match self.call(&path, deadline).await {
            Ok(body) => body,
            Err(CallOutcome::Refused(e)) if keys.len() > 1 => {
                debug!(error = %e, keys = keys.len(), "S/4 refused a multi-key read; reading each key alone.");
                for k in keys {
                    Box::pin(self.read(entity, property, &[k], group, batch, fates, deadline))
                        .await;
                }
                return;
            }
            Err(CallOutcome::Refused(e)) => {
                for &i in &group[keys[0]] {
                    fates[i] = Some(Fate::Failed {
                        kind: "s4_refused",
                        message: format!("S/4 refused the read of {entity} {}: {e}", keys[0]),
                        path: None,
                    });
                }
                return;
            }
            Err(CallOutcome::Unavailable(reason)) => {
                unavailable(fates, &reason);
                return;
            }
        };
        let objects = match odata::read(entity, property, &body, self.settings.max_json_depth) {
            Ok(o) => o,
            Err(e) => {
                // A 2xx that is not an OData answer is a gateway or proxy page: S/4 was not
                // reached as it should be.
                warn!(error = %e, "S/4's answer is not an OData entity set; the events wait.");
                self.breakers.failure(self.api.host());
                unavailable(fates, &format!("S/4's answer is not an entity set: {e}"));
                return;
            }
        };
        let mut by_key: BTreeMap<&str, &ApiObject> = BTreeMap::new();
        for o in &objects {
            by_key.entry(o.matched.as_str()).or_insert(o);
        }
        for k in keys {
            let indices = &group[*k];
            match by_key.get(k).map(|o| &o.record) {
                None => {
                    info!(%entity, key = k, events = indices.len(), "S/4 no longer has the object: not found, acknowledged.");
                    for &i in indices {
                        fates[i] = Some(Fate::NotFound);
                    }
                }
                Some(Err(e)) => {
                    for &i in indices {
                        fates[i] = Some(Fate::Failed {
                            kind: "mapping",
                            message: format!("{entity} {k} read from S/4 does not map: {e}"),
                            path: e.path().map(str::to_string),
                        });
                    }
                }
                Some(Ok(mapped)) => {
                    // The key's newest event is published with the object; the others are
                    // covered by it.
                    let newest = *indices
                        .iter()
                        .max_by_key(|&&i| batch[i].event.version)
                        .expect("a key has events");
                    for &i in indices {
                        fates[i] = Some(if i == newest {
                            Fate::Enriched(Box::new(made_whole(&batch[i].event, mapped)))
                        } else {
                            Fate::Superseded
                        });
                    }
                }
            }
        }
    }

    /// The scheduled probe's read of S/4: `path` once, through the rate limit. Success closes
    /// the host's breaker (the caller then turns the event source mapping back on).
    pub async fn probe(&self, path: &str) -> Result<(), CallError> {
        let host = self.api.host();
        let _ = self.limiter.acquire(None).await;
        let outcome = self.get(path).await.map(|_| {
            self.breakers.close(host);
        });
        self.count(&[]);
        outcome
    }

    /// One GET, timed and counted; a `Retry-After` in its failure holds the next calls.
    async fn get(&self, path: &str) -> Result<Vec<u8>, CallError> {
        let started = Instant::now();
        let result = self.api.get(path).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        self.metrics.update(|c| {
            c.calls += 1;
            c.call_ms.push(ms);
            c.call_failures += u64::from(result.is_err());
        });
        if let Some(after) = result.as_ref().err().and_then(CallError::retry_after) {
            self.limiter.pause(after);
        }
        result
    }

    /// One read, with its attempts: through the breaker and the rate limit, honouring
    /// `Retry-After`.
    async fn call(&self, path: &str, deadline: Option<Instant>) -> Result<Vec<u8>, CallOutcome> {
        let host = self.api.host();
        let backoff: Backoff = self.settings.backoff;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if self.breakers.admit(host) == Admission::Refused {
                return Err(CallOutcome::Unavailable(format!(
                    "the breaker of {host} is open"
                )));
            }
            match self.limiter.acquire(deadline).await {
                Ok(waited) if !waited.is_zero() => self.metrics.update(|c| {
                    c.rate_limited_waits += 1;
                    c.rate_limited_wait_ms += waited.as_secs_f64() * 1000.0;
                }),
                Ok(_) => {}
                Err(e) => return Err(CallOutcome::Unavailable(e.to_string())),
            }
            let error = match self.get(path).await {
                Ok(body) => {
                    self.breakers.success(host);
                    return Ok(body);
                }
                Err(e) => e,
            };
            if error.is_request_refused() {
                return Err(CallOutcome::Refused(error));
            }
            warn!(error = %error, kind = error.kind(), attempt, "S/4 call failed.");
            self.breakers.failure(host);
            if !backoff.allows(attempt) {
                return Err(CallOutcome::Unavailable(error.to_string()));
            }
            let delay = backoff.delay(attempt - 1);
            if deadline.is_some_and(|d| Instant::now() + delay > d) {
                return Err(CallOutcome::Unavailable(error.to_string()));
            }
            tokio::time::sleep(delay).await;
        }
    }
}

enum CallOutcome {
    /// S/4 refused the request as such.
    Refused(CallError),
    /// S/4 could not be read now.
    Unavailable(String),
}

/// `thin` made whole with `mapped`: the key, op and record the full event would have, at the
/// newer of the event's version and the object's last change (with the event's tie-breaker).
pub fn made_whole(thin: &ChangeEvent, mapped: &Mapped) -> ChangeEvent {
    let version = mapped
        .last_change
        .map(|at| Version::new(at, thin.version.seq))
        .filter(|v| *v > thin.version)
        .unwrap_or(thin.version);
    ChangeEvent {
        key: mapped.key.clone(),
        op: mapped.op,
        version,
        occurred_at: version.at,
        published_at: None,
        data: Some(mapped.record.clone()),
        ..thin.clone()
    }
}
