//! The long-running bridge's health endpoint: `GET /health/live` and `GET /health/ready`, JSON.
//!
//! - **Liveness** (`/health/live`): the consumer loop turned within `BRIDGE_LIVENESS_STALL_MS`
//!   (it turns at least once a second, with or without records). A failing liveness check is
//!   the one signal an orchestrator should act on by restarting the process: nothing else
//!   recovers a stuck loop. An SNS outage or a broker outage does not fail it (the bridge
//!   pauses and retries on its own; a restart would not help).
//! - **Readiness** (`/health/ready`): partitions are assigned to this member, the SNS circuit
//!   breaker is closed, and the consumer lag is at most `BRIDGE_READY_MAX_LAG`. It is for
//!   alarms and dashboards, and for holding back a rolling deployment until the new member
//!   works. It must not restart the process: a member with no partitions (more members than
//!   partitions), an open breaker (SNS down) or a catch-up after an outage all fail it by
//!   design. While stopping, readiness fails and liveness holds.
//!
//! The body says why, e.g. `{"ready":false,"reasons":["breaker open"],"partitions":3,…}`.
//! `kafka-bridge health [live|ready]` asks the endpoint and exits 0 when it answers 200: the
//! check command of an image without a shell or curl.

use http_body_util::{Empty, Full};
use hub_bridge::{BreakerState, BridgeMetrics, CircuitBreaker};
use hub_core::config::{ConfigError, Env};
use hub_kafka::bridge::ConsumerHealth;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// The endpoint's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Where to listen; `None` when `BRIDGE_HEALTH_ADDR=off`.
    pub addr: Option<SocketAddr>,
    /// Readiness fails above this consumer lag (records).
    pub ready_max_lag: i64,
    /// Liveness fails when the loop has not turned for this long.
    pub liveness_stall: Duration,
}

impl HealthConfig {
    /// `BRIDGE_HEALTH_ADDR` (`0.0.0.0:8080`; `off` disables), `BRIDGE_READY_MAX_LAG` (100000),
    /// `BRIDGE_LIVENESS_STALL_MS` (30000).
    pub fn from_env(env: &Env) -> Result<HealthConfig, ConfigError> {
        let addr = match env.get("BRIDGE_HEALTH_ADDR").as_deref() {
            Some("off") => None,
            raw => Some(
                raw.unwrap_or(DEFAULT_ADDR)
                    .parse()
                    .map_err(|e| ConfigError {
                        variable: "BRIDGE_HEALTH_ADDR".into(),
                        message: format!("not an address like 0.0.0.0:8080 (or off): {e}"),
                    })?,
            ),
        };
        Ok(HealthConfig {
            addr,
            ready_max_lag: env.number("BRIDGE_READY_MAX_LAG", 100_000, 0..=i64::MAX)?,
            liveness_stall: env.millis("BRIDGE_LIVENESS_STALL_MS", 30_000, 2_000..=3_600_000)?,
        })
    }

    /// The URL `kafka-bridge health` asks: the configured port on the loopback address when
    /// listening on every address.
    pub fn local_url(&self, check: Check) -> Option<String> {
        let mut addr = self.addr?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Some(format!("http://{addr}{}", check.path()))
    }
}

const DEFAULT_ADDR: &str = "0.0.0.0:8080";

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `/health/live`.
    Live,
    /// `/health/ready`.
    Ready,
}

impl Check {
    /// The path.
    pub fn path(self) -> &'static str {
        match self {
            Check::Live => "/health/live",
            Check::Ready => "/health/ready",
        }
    }
}

/// What the checks read.
#[derive(Clone)]
pub struct HealthState {
    /// The consumer loop's report.
    pub consumer: Arc<ConsumerHealth>,
    /// The SNS circuit breaker.
    pub breaker: Arc<CircuitBreaker>,
    /// The bridge's metrics (consumer lag).
    pub metrics: Arc<BridgeMetrics>,
    /// The bounds.
    pub config: HealthConfig,
}

/// A check's answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Whether the check passes.
    pub ok: bool,
    /// Why not (empty when it passes).
    pub reasons: Vec<String>,
    /// Partitions assigned to this member.
    pub partitions: usize,
    /// `closed`, `open` or `half-open`.
    pub breaker: &'static str,
    /// The consumer lag (records), from librdkafka's statistics.
    pub lag: i64,
    /// Readiness's lag bound.
    pub max_lag: i64,
    /// Milliseconds since the consumer loop last turned.
    pub last_turn_ms_ago: Option<u64>,
    /// Whether shutdown has begun.
    pub stopping: bool,
}

impl HealthState {
    /// Evaluates a check now.
    pub fn report(&self, check: Check) -> Report {
        let c = &self.consumer;
        let since = c.since_last_turn();
        let breaker = self.breaker.state();
        let lag = self.metrics.consumer_lag();
        let mut reasons = Vec::new();
        match since {
            None => reasons.push("the consumer loop has not started".to_string()),
            Some(d) if d > self.config.liveness_stall => reasons.push(format!(
                "the consumer loop has not turned for {} ms",
                d.as_millis()
            )),
            Some(_) => {}
        }
        if check == Check::Ready {
            if c.stopping() {
                reasons.push("stopping".into());
            }
            if c.assigned_partitions() == 0 {
                reasons.push(if c.joined() {
                    "no partition assigned to this member".into()
                } else {
                    "not yet in the consumer group".into()
                });
            }
            if breaker != BreakerState::Closed {
                reasons.push(format!("breaker {}", breaker.as_str()));
            }
            if lag > self.config.ready_max_lag {
                reasons.push(format!(
                    "consumer lag {lag} above {}",
                    self.config.ready_max_lag
                ));
            }
        }
        Report {
            ok: reasons.is_empty(),
            reasons,
            partitions: c.assigned_partitions(),
            breaker: breaker.as_str(),
            lag,
            max_lag: self.config.ready_max_lag,
            last_turn_ms_ago: since.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            stopping: c.stopping(),
        }
    }

    fn answer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let check = match (req.method(), req.uri().path()) {
            (&hyper::Method::GET, "/health/live") => Check::Live,
            (&hyper::Method::GET, "/health/ready") => Check::Ready,
            _ => return respond(StatusCode::NOT_FOUND, br#"{"error":"not found"}"#.to_vec()),
        };
        let report = self.report(check);
        let status = if report.ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        respond(status, serde_json::to_vec(&report).unwrap_or_default())
    }
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    res
}

/// Binds the endpoint (so that a port in use fails at start) and serves it on a task of its
/// own until the process ends. Returns the bound address.
pub async fn serve(state: HealthState) -> std::io::Result<Option<SocketAddr>> {
    let Some(addr) = state.config.addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    info!(addr = %bound, "Health endpoint listening (/health/live, /health/ready).");
    let state = Arc::new(state);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "Health endpoint: accept failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let res = state.answer(&req);
                    async move { Ok::<_, std::convert::Infallible>(res) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Some(bound))
}

/// `GET url` within `timeout`: the status and the body.
pub async fn ask(url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: no host"))?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let call = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("{url}: {e}"))?;
        tokio::spawn(conn);
        let req = Request::get(path)
            .header(hyper::header::HOST, format!("{host}:{port}"))
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("{url}: {e}"))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = res.status().as_u16();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| format!("{url}: no answer within {} ms", timeout.as_millis()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_can_be_turned_off() {
        // Scenario: by default the endpoint listens on every address, port 8080, and the check
        // command asks the loopback address; `off` disables it; a bad address names its variable.
        let c = HealthConfig::from_env(&Env::from_pairs(&[])).unwrap();
        assert_eq!(c.addr, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(
            c.local_url(Check::Ready).as_deref(),
            Some("http://127.0.0.1:8080/health/ready")
        );
        assert_eq!(c.ready_max_lag, 100_000);
        let c = HealthConfig::from_env(&Env::from_pairs(&[("BRIDGE_HEALTH_ADDR", "off")])).unwrap();
        assert_eq!(c.addr, None);
        let e = HealthConfig::from_env(&Env::from_pairs(&[("BRIDGE_HEALTH_ADDR", "8080")]))
            .unwrap_err();
        assert_eq!(e.variable, "BRIDGE_HEALTH_ADDR");
    }

    #[test]
    fn readiness_needs_partitions_a_closed_breaker_and_a_bounded_lag() {
        // Scenario: before the loop turns neither check passes; once it turns liveness passes
        // while readiness waits for partitions; an open breaker or a lag over the bound fail
        // readiness only, each with its reason.
        let metrics = Arc::new(BridgeMetrics::default());
        let breaker = Arc::new(CircuitBreaker::new(
            hub_bridge::breaker::BreakerSettings::default(),
        ));
        let consumer = Arc::new(ConsumerHealth::default());
        let state = HealthState {
            consumer,
            breaker,
            metrics: metrics.clone(),
            config: HealthConfig {
                addr: None,
                ready_max_lag: 10,
                liveness_stall: Duration::from_secs(30),
            },
        };
        let live = state.report(Check::Live);
        assert!(!live.ok);
        assert_eq!(live.reasons, ["the consumer loop has not started"]);
        metrics.set_consumer_lag(11);
        let ready = state.report(Check::Ready);
        assert!(!ready.ok);
        assert!(
            ready
                .reasons
                .iter()
                .any(|r| r == "consumer lag 11 above 10"),
            "{:?}",
            ready.reasons
        );
        assert!(
            ready
                .reasons
                .iter()
                .any(|r| r == "not yet in the consumer group")
        );
    }
}
