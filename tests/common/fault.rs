//! Faults from the outside: a TCP proxy in front of an AWS stand-in that fails the way a
//! service does, in three forms, and the embedded Kafka's own fault injection.
//!
//! - [`Fault::Refused`]: nothing listens (the port is closed: connection refused), and the open
//!   connections are severed.
//! - [`Fault::Hang`]: connections are accepted and requests read, and nothing ever answers; the
//!   open connections stop answering too (a partition, a half-dead load balancer).
//! - [`Fault::Errors`]: every request is answered at once with an error the service gives when
//!   it is overloaded, alternately a 5xx and a throttling answer, in the service's own protocol
//!   (DynamoDB and SQS JSON, SNS query XML, S3 REST XML).
//!
//! And the forms of an HTTP API such as S/4's OData (the S/4 drills, `tests/enricher.rs`):
//!
//! - [`Fault::Slow`]: every request is held for a while, then passed on (one request per
//!   connection, so that each is held).
//! - [`Fault::ServerErrors`]: every request is answered `500` with an OData error.
//! - [`Fault::TooManyRequests`]: every request is answered `429` with `Retry-After`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How a proxied service behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It works (bytes pass through).
    None,
    /// Connection refused.
    Refused,
    /// Accepted, never answered.
    Hang,
    /// 5xx and throttling answers.
    Errors,
    /// Each request held this long, then passed on.
    Slow(Duration),
    /// `500 Internal Server Error`, an OData error body.
    ServerErrors,
    /// `429 Too Many Requests` with `Retry-After` of this many seconds.
    TooManyRequests(u64),
}

impl Fault {
    /// The three forms of an outage.
    pub const FORMS: [Fault; 3] = [Fault::Refused, Fault::Hang, Fault::Errors];

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Refused => "refused",
            Fault::Hang => "hang",
            Fault::Errors => "5xx/throttling",
            Fault::Slow(_) => "slow",
            Fault::ServerErrors => "500",
            Fault::TooManyRequests(_) => "429",
        }
    }
}

/// A TCP proxy in front of a stand-in, whose [`Fault`] can be set at any time.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    fault: Arc<watch::Sender<Fault>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `target` (`host:port`), working.
    pub async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (fault, _) = watch::channel(Fault::None);
        let fault = Arc::new(fault);
        let task = tokio::spawn(serve(listener, addr, target.to_string(), fault.clone()));
        Proxy {
            endpoint: format!("http://{addr}"),
            fault,
            task,
        }
    }

    /// Sets the fault (`Fault::None` restores the service).
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Cuts (`false`: connection refused) or restores (`true`) the service.
    pub fn set_up(&self, up: bool) {
        self.set(if up { Fault::None } else { Fault::Refused });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut listener: TcpListener,
    addr: SocketAddr,
    target: String,
    fault: Arc<watch::Sender<Fault>>,
) {
    let mut changes = fault.subscribe();
    loop {
        let now = *changes.borrow_and_update();
        if now == Fault::Refused {
            // Close the port: connecting is refused until the service is back.
            drop(listener);
            while *changes.borrow_and_update() == Fault::Refused {
                if changes.changed().await.is_err() {
                    return;
                }
            }
            listener = loop {
                match TcpListener::bind(addr).await {
                    Ok(l) => break l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            continue;
        }
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((inbound, _)) = accepted else { continue };
                let rx = fault.subscribe();
                match now {
                    Fault::None => { tokio::spawn(pass(inbound, target.clone(), rx)); }
                    Fault::Hang => { tokio::spawn(hang(inbound, rx)); }
                    Fault::Errors | Fault::ServerErrors | Fault::TooManyRequests(_) => {
                        tokio::spawn(errors(inbound, rx));
                    }
                    Fault::Slow(delay) => { tokio::spawn(slow(inbound, target.clone(), delay)); }
                    Fault::Refused => {}
                }
            }
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}

/// Passes bytes both ways while the service works. When a fault begins, a refused or erring
/// service severs the connection; a hanging one keeps it open and stops answering until the
/// service is back, then severs it.
async fn pass(mut inbound: TcpStream, target: String, mut fault: watch::Receiver<Fault>) {
    let Ok(mut outbound) = TcpStream::connect(&target).await else {
        return;
    };
    let began = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
        f = async {
            loop {
                if fault.changed().await.is_err() { return Fault::Refused; }
                let f = *fault.borrow_and_update();
                if f != Fault::None { return f; }
            }
        } => f,
    };
    drop(outbound);
    if began == Fault::Hang {
        hang(inbound, fault).await;
    }
}

/// Reads and discards whatever comes, answers nothing, until the service is back.
async fn hang(mut inbound: TcpStream, mut fault: watch::Receiver<Fault>) {
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            n = inbound.read(&mut sink) => if matches!(n, Ok(0) | Err(_)) { return },
            changed = fault.changed() => {
                if changed.is_err() || *fault.borrow_and_update() != Fault::Hang {
                    return;
                }
            }
        }
    }
}

/// Answers every HTTP request on the connection with an overload error, alternately a 5xx and
/// a throttling answer, until the fault changes.
async fn errors(mut inbound: TcpStream, fault: watch::Receiver<Fault>) {
    let mut n = 0u64;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let now = *fault.borrow();
        if !matches!(
            now,
            Fault::Errors | Fault::ServerErrors | Fault::TooManyRequests(_)
        ) {
            return;
        }
        // The request head.
        let Some(head_end) = read_head(&mut inbound, &mut buf, &mut chunk).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                l.strip_prefix(&format!("{name}:"))
                    .map(|v| v.trim().to_string())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        // The body (a chunked one is not framed here: answer and close).
        while !chunked && buf.len() < head_end + length {
            match tokio::time::timeout(Duration::from_secs(30), inbound.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            }
        }
        let answer = match now {
            Fault::ServerErrors => http_api_answer(500, None),
            Fault::TooManyRequests(secs) => http_api_answer(429, Some(secs)),
            _ => overload_answer(header("x-amz-target").as_deref(), &head, n),
        };
        n += 1;
        if inbound.write_all(answer.as_bytes()).await.is_err() || chunked {
            return;
        }
        buf.drain(..head_end + length);
    }
}

/// An OData service's error answer (S/4's gateway): `500`, or `429` with `Retry-After`.
fn http_api_answer(status: u16, retry_after: Option<u64>) -> String {
    let (line, message) = match status {
        429 => ("429 Too Many Requests", "Too many requests; retry later."),
        _ => ("500 Internal Server Error", "Internal server error."),
    };
    let body = format!(
        r#"{{"error":{{"code":"/IWBEP/CM_MGW_RT/{status}","message":{{"lang":"en","value":"{message}"}}}}}}"#
    );
    let retry = retry_after
        .map(|s| format!("retry-after: {s}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {line}\r\ncontent-type: application/json\r\n{retry}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Holds the connection's one request for `delay`, then passes it on with `Connection: close`
/// and relays the answer until the service closes.
async fn slow(mut inbound: TcpStream, target: String, delay: Duration) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let Some(head_end) = read_head(&mut inbound, &mut buf, &mut chunk).await else {
        return;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match inbound.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    tokio::time::sleep(delay).await;
    let mut lines: Vec<&str> = head.trim_end().split("\r\n").collect();
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let request = format!("{}\r\nconnection: close\r\n\r\n", lines.join("\r\n"));
    let Ok(mut outbound) = TcpStream::connect(&target).await else {
        return;
    };
    if outbound.write_all(request.as_bytes()).await.is_err()
        || outbound.write_all(&buf[head_end..]).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy(&mut outbound, &mut inbound).await;
    let _ = inbound.shutdown().await;
}

/// Reads into `buf` until it holds a whole HTTP request head; where the head ends, or `None`
/// when the client closed or stayed silent for 30 s.
async fn read_head(inbound: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Option<usize> {
    loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            return Some(i + 4);
        }
        match tokio::time::timeout(Duration::from_secs(30), inbound.read(chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The HTTP answer of an overloaded service to a request (`target`: its `x-amz-target`,
/// lowercased; `head`: its head, lowercased), the `n`th: even ones 5xx, odd ones throttling.
fn overload_answer(target: Option<&str>, head: &str, n: u64) -> String {
    let throttle = n % 2 == 1;
    let (status, content_type, extra, body) = match target {
        Some(t) if t.starts_with("dynamodb_") => {
            let (status, kind, message) = if throttle {
                (
                    "400 Bad Request",
                    "ThrottlingException",
                    "Rate of requests exceeds the allowed throughput.",
                )
            } else {
                (
                    "500 Internal Server Error",
                    "InternalServerError",
                    "Internal server error",
                )
            };
            (
                status,
                "application/x-amz-json-1.0",
                String::new(),
                format!(
                    r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{message}"}}"#
                ),
            )
        }
        Some(t) if t.starts_with("amazonsqs.") => {
            let (status, kind, fault) = if throttle {
                ("400 Bad Request", "ThrottlingException", "Sender")
            } else {
                ("500 Internal Server Error", "InternalError", "Receiver")
            };
            (
                status,
                "application/x-amz-json-1.0",
                format!("x-amzn-query-error: {kind};{fault}\r\n"),
                format!(r#"{{"__type":"com.amazonaws.sqs#{kind}","message":"Overloaded."}}"#),
            )
        }
        _ if head.contains("application/x-www-form-urlencoded") => {
            // SNS (the query protocol).
            let (status, code, kind) = if throttle {
                ("400 Bad Request", "Throttling", "Sender")
            } else {
                ("503 Service Unavailable", "ServiceUnavailable", "Receiver")
            };
            (
                status,
                "text/xml",
                String::new(),
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>Overloaded.</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
                ),
            )
        }
        _ => {
            // S3 (REST XML): SlowDown is its throttling answer.
            let (status, code) = if throttle {
                ("503 Slow Down", "SlowDown")
            } else {
                ("500 Internal Server Error", "InternalError")
            };
            (
                status,
                "application/xml",
                String::new(),
                format!(
                    "<Error><Code>{code}</Code><Message>Overloaded.</Message><RequestId>fault</RequestId></Error>"
                ),
            )
        }
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{extra}x-amzn-requestid: fault\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The embedded Kafka's fault injection, in the same three forms.
pub mod kafka {
    use super::Fault;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::DefaultProducerContext;
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    use std::time::Duration;

    /// The request kinds a client of the bridge makes.
    const APIS: [RDKafkaApiKey; 6] = [
        RDKafkaApiKey::Fetch,
        RDKafkaApiKey::Produce,
        RDKafkaApiKey::OffsetCommit,
        RDKafkaApiKey::OffsetFetch,
        RDKafkaApiKey::Heartbeat,
        RDKafkaApiKey::Metadata,
    ];

    /// Sets `fault` on every broker of `cluster` (`brokers` of them, ids 1..=brokers), undoing
    /// `previous`. A hang holds each answer for `hang`, the outage's length.
    pub fn set(
        cluster: &MockCluster<'static, DefaultProducerContext>,
        brokers: i32,
        previous: Fault,
        fault: Fault,
        hang: Duration,
    ) {
        // Undo.
        match previous {
            Fault::Refused => {
                for b in 1..=brokers {
                    let _ = cluster.broker_up(b);
                }
            }
            Fault::Hang => {
                for b in 1..=brokers {
                    let _ = cluster.broker_round_trip_time(b, Duration::ZERO);
                }
            }
            Fault::Errors => {
                for api in APIS {
                    cluster.clear_request_errors(api);
                }
            }
            // The HTTP forms have no Kafka counterpart.
            _ => {}
        }
        match fault {
            // The brokers close their connections and refuse new ones.
            Fault::Refused => {
                for b in 1..=brokers {
                    let _ = cluster.broker_down(b);
                }
            }
            // Every answer is held for the outage's length: requests go unanswered.
            Fault::Hang => {
                for b in 1..=brokers {
                    let _ = cluster.broker_round_trip_time(b, hang);
                }
            }
            // Every request of the clients' kinds fails with a retriable broker error, as an
            // overloaded or failing-over cluster answers.
            Fault::Errors => {
                use RDKafkaRespErr::*;
                for api in APIS {
                    let errors: &[RDKafkaRespErr] = match api {
                        RDKafkaApiKey::Fetch | RDKafkaApiKey::Produce => &[
                            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                        ],
                        RDKafkaApiKey::Metadata => &[RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT],
                        _ => &[
                            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                        ],
                    };
                    let many: Vec<RDKafkaRespErr> =
                        errors.iter().cycle().take(100_000).copied().collect();
                    cluster.request_errors(api, &many);
                }
            }
            _ => {}
        }
    }
}
