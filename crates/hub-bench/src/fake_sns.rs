//! `hub-bench fake-sns`: an SNS-compatible endpoint that answers at once, for measuring the bridge
//! alone (the stand-ins answer 100–150 calls/s, which would measure them instead).
//!
//! It speaks SNS's query protocol for `Publish` and `PublishBatch`: the request must be signed
//! (an `AWS4-HMAC-SHA256` `Authorization` header; the signature itself is not verified), every
//! entry is accepted, and the answer lists them as successful. `GET /stats` returns the calls,
//! entries and bytes received, so benchmarks count requests at the endpoint.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the endpoint received.
#[derive(Debug, Default)]
pub struct Stats {
    calls: AtomicU64,
    entries: AtomicU64,
    bytes: AtomicU64,
    unsigned: AtomicU64,
}

impl Stats {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "calls": self.calls.load(Ordering::Relaxed),
            "entries": self.entries.load(Ordering::Relaxed),
            "bytes": self.bytes.load(Ordering::Relaxed),
            "unsigned": self.unsigned.load(Ordering::Relaxed),
        })
    }
}

/// Serves on 127.0.0.1:`port` (0: any free port); prints the endpoint URL on stdout, then serves
/// until the process is stopped.
pub async fn serve(port: u16) -> anyhow::Result<std::process::ExitCode> {
    crate::local_http::serve(port, Arc::new(Stats::default()), |req, stats| async move {
        answer(req, &stats).await
    })
    .await
}

/// What the endpoint at `endpoint` has received so far (`GET /stats`).
pub async fn fetch_stats(endpoint: &str) -> anyhow::Result<serde_json::Value> {
    crate::local_http::get_json(&format!("{endpoint}/stats")).await
}

/// The signed calls received between two [`fetch_stats`] answers.
pub fn calls_between(before: &serde_json::Value, after: &serde_json::Value) -> u64 {
    after["calls"].as_u64().unwrap_or(0) - before["calls"].as_u64().unwrap_or(0)
}

fn xml(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    xml(
        status,
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
        ),
    )
}

async fn answer(req: Request<Incoming>, stats: &Stats) -> Response<Full<Bytes>> {
    if req.method() == hyper::Method::GET && req.uri().path() == "/stats" {
        return Response::new(Full::new(Bytes::from(stats.json().to_string())));
    }
    let signed = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="));
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "unreadable body");
    };
    if !signed {
        stats.unsigned.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "request is not signed",
        );
    }
    stats.calls.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let mut action = None;
    let mut ids = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        if k == "Action" {
            action = Some(v.into_owned());
        } else if k.starts_with("PublishBatchRequestEntries.member.") && k.ends_with(".Id") {
            ids.push(v.into_owned());
        }
    }
    match action.as_deref() {
        Some("PublishBatch") => {
            stats.entries.fetch_add(ids.len() as u64, Ordering::Relaxed);
            let members: String = ids
                .iter()
                .map(|id| format!("<member><Id>{id}</Id><MessageId>fake-{id}</MessageId></member>"))
                .collect();
            xml(
                StatusCode::OK,
                format!(
                    "<PublishBatchResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishBatchResult><Successful>{members}</Successful><Failed/></PublishBatchResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></PublishBatchResponse>"
                ),
            )
        }
        Some("Publish") => {
            stats.entries.fetch_add(1, Ordering::Relaxed);
            xml(
                StatusCode::OK,
                "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>fake</MessageId></PublishResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></PublishResponse>".into(),
            )
        }
        other => error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("unsupported action {other:?}"),
        ),
    }
}
