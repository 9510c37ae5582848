//! The bridge's SNS adapter: [`SnsPublisher`], the SNS implementation of
//! [`hub_bridge::Publisher`] (`PublishBatch`). The only module that publishes to SNS.
//!
//! # Why not the SDK's `publish_batch()`
//! `PublishBatch` is the bridge's hot path: one call per ten events. Profiled under the bench,
//! the SDK's orchestrator (config layers, interceptors, endpoint resolution, the query
//! serializer's many small allocations) cost about 20 µs of CPU per event, half of the bridge's
//! whole budget. This path does the same call with the same parts, once each:
//!
//! - the endpoint is resolved **once**, at construction, by the SDK's own SNS endpoint resolver
//!   (`AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL`, region, FIPS and dual-stack settings, as the
//!   SDK client would);
//! - credentials come from the SDK configuration's provider (the default chain in Lambda, on ECS,
//!   on EC2), cached until five minutes before they expire;
//! - the `awsQuery` body is written in one pass, signed with `aws-sigv4` (the SDK's signer);
//! - it is sent on a pooled `hyper` client with `rustls` (the SDK's HTTP stack);
//! - the XML answer is read with `quick-xml`.
//!
//! Retries are not done here: the pipeline retries failed entries and whole calls itself (full
//! jitter, behind the breaker), and bounds every call with `BRIDGE_CALL_TIMEOUT_MS`.

use crate::AwsClients;
use crate::error::classify_code;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use futures::FutureExt as _;
use http_body_util::{BodyExt, Full};
use hub_bridge::Message;
use hub_bridge::ports::{EntryFailure, Publisher};
use hub_core::ErrorClass;
use hub_core::PortError;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

const OPERATION: &str = "sns:PublishBatch";

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Publishes to one SNS topic. Cheap to clone.
#[derive(Clone)]
pub struct SnsPublisher {
    inner: Arc<Inner>,
}

struct Inner {
    topic_arn: String,
    /// The resolved endpoint and its text (which the signer takes), or why it could not be
    /// resolved (reported by every call).
    endpoint: Result<(http::Uri, String), String>,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    cached: RwLock<Option<Credentials>>,
    refresh: tokio::sync::Mutex<()>,
    http: Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>, String>,
}

impl std::fmt::Debug for SnsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsPublisher")
            .field("topic_arn", &self.inner.topic_arn)
            .field("endpoint", &self.inner.endpoint)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl SnsPublisher {
    /// A publisher to `topic_arn`, with the region, credentials and SNS endpoint of `clients`.
    ///
    /// Nothing here fails: a configuration the SDK could not have called with either (no region
    /// and no endpoint, no trusted roots) makes every call fail with a permanent error that says
    /// why, as the SDK client would.
    pub fn new(clients: &AwsClients, topic_arn: impl Into<String>) -> SnsPublisher {
        let config = &clients.config;
        let region = config.region().map(|r| r.to_string());
        let endpoint = resolve_endpoint(
            region.as_deref(),
            clients.sns_endpoint_url.as_deref(),
            config.use_fips().unwrap_or(false),
            config.use_dual_stack().unwrap_or(false),
        )
        .map(|uri| {
            let text = uri.to_string();
            (uri, text)
        });
        SnsPublisher {
            inner: Arc::new(Inner {
                topic_arn: topic_arn.into(),
                endpoint,
                region: region.unwrap_or_else(|| "us-east-1".to_string()),
                credentials: config.credentials_provider(),
                cached: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                http: http_client(),
            }),
        }
    }

    async fn credentials(&self) -> Result<Credentials, PortError> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
        };
        let cached = |inner: &Inner| {
            inner
                .cached
                .read()
                .ok()
                .and_then(|c| c.as_ref().filter(|c| fresh(c)).cloned())
        };
        if let Some(c) = cached(&self.inner) {
            return Ok(c);
        }
        // One refresh at a time; the others then find it cached.
        let _guard = self.inner.refresh.lock().await;
        if let Some(c) = cached(&self.inner) {
            return Ok(c);
        }
        let provider = self.inner.credentials.as_ref().ok_or_else(|| {
            permanent("no credentials provider is configured (the SDK's default chain found none)")
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| PortError::caused_by(OPERATION, ErrorClass::Transient, e))?;
        if let Ok(mut slot) = self.inner.cached.write() {
            *slot = Some(credentials.clone());
        }
        Ok(credentials)
    }
}

/// The SNS endpoint, resolved as the SDK client resolves it.
fn resolve_endpoint(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    use_fips: bool,
    use_dual_stack: bool,
) -> Result<http::Uri, String> {
    use aws_sdk_sns::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let params = Params::builder()
        .set_region(region.map(str::to_string))
        .set_endpoint(endpoint_url.map(str::to_string))
        .use_fips(use_fips)
        .use_dual_stack(use_dual_stack)
        .build()
        .map_err(|e| format!("SNS endpoint parameters: {e}"))?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .now_or_never()
        .ok_or("the SNS endpoint resolver did not answer at once")?
        .map_err(|e| format!("SNS endpoint: {e}"))?;
    endpoint
        .url()
        .parse::<http::Uri>()
        .map_err(|e| format!("SNS endpoint {}: {e}", endpoint.url()))
}

/// A pooled HTTP/1.1 client for `https` (rustls, the system's roots) and `http` (local
/// stand-ins) endpoints.
fn http_client() -> Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>, String> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(Duration::from_secs(3)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))
        .map_err(|e| format!("no trusted root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(20))
        .build(https))
}

fn permanent(message: impl Into<String>) -> PortError {
    PortError::new(OPERATION, ErrorClass::Permanent, message.into())
}

/// Which bytes the query protocol leaves as they are: RFC 3986's unreserved characters.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

/// Appends `value` percent-encoded (every byte but the unreserved ones, as the SDK's query
/// writer does). The body is mostly JSON, so this is the path's busiest loop: groups of four
/// bytes that need no escape are copied at once, the others written from a table of escapes (the
/// `percent-encoding` crate's bit set and chunk iterator took about 2.7 times as long:
/// `cargo bench -p hub-aws --bench publish_body`).
/// Same output as `percent-encoding` (proptest).
pub fn encode(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let start = out.len();
    // Room for the worst case (every byte escaped), written by index, then cut to what was
    // written: no capacity check per byte.
    out.resize(start + bytes.len() * 3, 0);
    let dst = &mut out[start..];
    let mut w = 0;
    let mut chunks = bytes.chunks_exact(4);
    for chunk in &mut chunks {
        // Four bytes tested without a branch, and copied at once when none needs escaping (the
        // best of 4, 8 and 16 on event JSON: `cargo bench -p hub-aws --bench publish_body`).
        if chunk
            .iter()
            .fold(true, |clean, &b| clean & UNRESERVED[b as usize])
        {
            dst[w..w + 4].copy_from_slice(chunk);
            w += 4;
        } else {
            w += escape_into(&mut dst[w..], chunk);
        }
    }
    w += escape_into(&mut dst[w..], chunks.remainder());
    out.truncate(start + w);
}

/// Writes `bytes` escaped at the start of `dst` (at least three times as long); the length
/// written.
fn escape_into(dst: &mut [u8], bytes: &[u8]) -> usize {
    let mut w = 0;
    for &b in bytes {
        let [first, hi, lo] = ESCAPED[b as usize];
        dst[w] = first;
        if first == b'%' {
            dst[w + 1] = hi;
            dst[w + 2] = lo;
            w += 3;
        } else {
            w += 1;
        }
    }
    w
}

/// Each byte as the query protocol writes it: itself when unreserved, else `%XX`.
const ESCAPED: [[u8; 3]; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut table = [[0u8; 3]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if UNRESERVED[b] {
            [b as u8, 0, 0]
        } else {
            [b'%', HEX[b >> 4], HEX[b & 15]]
        };
        b += 1;
    }
    table
};

/// The `awsQuery` body of one `PublishBatch` call (ASCII); entry ids are the indexes in
/// `messages`.
pub fn request_body(topic_arn: &str, messages: &[&Message]) -> Vec<u8> {
    let size: usize = messages
        .iter()
        .map(|m| m.body.len() * 2 + 160 * (m.attributes.len() + 2))
        .sum();
    let mut out = Vec::with_capacity(128 + topic_arn.len() * 3 + size);
    out.extend_from_slice(b"Action=PublishBatch&Version=2010-03-31&TopicArn=");
    encode(&mut out, topic_arn);
    // Field names are written piece by piece: `write!` cost a third of the body's time.
    for (i, m) in messages.iter().enumerate() {
        let mut n = itoa::Buffer::new();
        let n = n.format(i + 1).as_bytes();
        let member = |out: &mut Vec<u8>, field: &[u8]| {
            out.extend_from_slice(b"&PublishBatchRequestEntries.member.");
            out.extend_from_slice(n);
            out.extend_from_slice(field);
        };
        member(&mut out, b".Id=");
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
        member(&mut out, b".Message=");
        encode(&mut out, &m.body);
        for (j, (name, value)) in m.attributes.iter().enumerate() {
            let attribute = |out: &mut Vec<u8>, field: &[u8]| {
                member(out, b".MessageAttributes.entry.");
                out.extend_from_slice(itoa::Buffer::new().format(j + 1).as_bytes());
                out.extend_from_slice(field);
            };
            attribute(&mut out, b".Name=");
            encode(&mut out, name);
            attribute(&mut out, b".Value.DataType=String");
            attribute(&mut out, b".Value.StringValue=");
            encode(&mut out, value);
        }
        if let Some(group) = &m.group_id {
            member(&mut out, b".MessageGroupId=");
            encode(&mut out, group);
        }
        if let Some(dedup) = &m.dedup_id {
            member(&mut out, b".MessageDeduplicationId=");
            encode(&mut out, dedup);
        }
    }
    out
}

/// One failed entry of a `PublishBatch` answer, or the error of an error answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Fault {
    id: String,
    code: String,
    message: String,
    /// `true` or `false`, as SNS writes it.
    sender_fault: String,
}

/// What a `PublishBatch` answer says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Answer {
    /// `Failed` members of a success answer.
    failed: Vec<Fault>,
    /// The `Error` of an error answer.
    error: Option<Fault>,
    /// How many `Successful` members.
    successful: usize,
}

/// The elements of an answer that [`read_answer`] tells apart; any other is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Successful,
    Failed,
    Member,
    ErrorResponse,
    Error,
    Id,
    Code,
    Message,
    SenderFault,
    Other,
}

impl Tag {
    fn of(local_name: &[u8]) -> Tag {
        match local_name {
            b"Successful" => Tag::Successful,
            b"Failed" => Tag::Failed,
            b"member" => Tag::Member,
            b"ErrorResponse" => Tag::ErrorResponse,
            b"Error" => Tag::Error,
            b"Id" => Tag::Id,
            b"Code" => Tag::Code,
            b"Message" => Tag::Message,
            b"SenderFault" => Tag::SenderFault,
            _ => Tag::Other,
        }
    }
}

/// Reads a `PublishBatchResponse` or an `ErrorResponse`. The open elements are kept as
/// [`Tag`]s and the events borrow from `xml`: nothing is allocated but the faults' texts.
fn read_answer(xml: &[u8]) -> Result<Answer, quick_xml::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut answer = Answer::default();
    let mut path: Vec<Tag> = Vec::with_capacity(8);
    let mut fault: Option<Fault> = None;
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                let tag = Tag::of(e.local_name().as_ref());
                let parent = path.last().copied();
                if (tag == Tag::Member && parent == Some(Tag::Failed))
                    || (tag == Tag::Error && parent == Some(Tag::ErrorResponse))
                {
                    fault = Some(Fault::default());
                }
                if tag == Tag::Member && parent == Some(Tag::Successful) {
                    answer.successful += 1;
                }
                path.push(tag);
            }
            Event::End(_) => {
                let tag = path.pop().unwrap_or(Tag::Other);
                let parent = path.last().copied();
                if tag == Tag::Member && parent == Some(Tag::Failed) {
                    answer.failed.extend(fault.take());
                } else if tag == Tag::Error && parent == Some(Tag::ErrorResponse) {
                    answer.error = fault.take();
                }
            }
            // Texts come in pieces, split at entity references (`&amp;`): each is appended.
            Event::Text(t) => {
                if let Some(text) = field_of(&mut fault, &path) {
                    text.push_str(&t.decode()?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(text) = field_of(&mut fault, &path) {
                    match r.resolve_char_ref()? {
                        Some(c) => text.push(c),
                        None => {
                            let name = r.decode()?;
                            let entity = quick_xml::escape::resolve_predefined_entity(&name);
                            text.push_str(entity.unwrap_or_default());
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(answer)
}

/// The text field of `fault` that `path` is in, if any.
fn field_of<'a>(fault: &'a mut Option<Fault>, path: &[Tag]) -> Option<&'a mut String> {
    let f = fault.as_mut()?;
    match path.last()? {
        Tag::Id => Some(&mut f.id),
        Tag::Code => Some(&mut f.code),
        Tag::Message => Some(&mut f.message),
        Tag::SenderFault => Some(&mut f.sender_fault),
        _ => None,
    }
}

/// The entry failures of a success answer.
fn entry_failures(failed: Vec<Fault>) -> Vec<EntryFailure> {
    failed
        .into_iter()
        .filter_map(|f| {
            let index = f.id.parse::<usize>().ok()?;
            // Throttling and internal errors may succeed next time even when SNS marks them a
            // sender fault; anything else a sender fault names is permanent.
            let retryable = f.sender_fault.trim() != "true"
                || classify_code(Some(&f.code), None) == ErrorClass::Transient;
            Some(EntryFailure {
                index,
                code: f.code,
                message: f.message,
                retryable,
            })
        })
        .collect()
}

/// The error of a non-2xx answer.
fn call_error(status: u16, body: &[u8]) -> PortError {
    let fault = read_answer(body).ok().and_then(|a| a.error);
    let code = fault
        .as_ref()
        .map(|f| f.code.as_str())
        .filter(|c| !c.is_empty());
    let class = classify_code(code, Some(status));
    let message = match &fault {
        Some(f) => format!("HTTP {status}, {}: {}", f.code, f.message),
        None => format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ),
    };
    PortError::new(OPERATION, class, message)
}

impl Publisher for SnsPublisher {
    async fn publish_batch(&self, messages: &[&Message]) -> Result<Vec<EntryFailure>, PortError> {
        let inner = &self.inner;
        let (uri, uri_text) = inner.endpoint.as_ref().map_err(|e| permanent(e.clone()))?;
        let http = inner.http.as_ref().map_err(|e| permanent(e.clone()))?;
        let body = request_body(&inner.topic_arn, messages);
        let credentials = self.credentials().await?;

        const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
        let identity = Identity::from(credentials);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&inner.region)
            .name("sns")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| permanent(format!("signing parameters: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            uri_text.as_str(),
            [("content-type", CONTENT_TYPE)].into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| permanent(format!("signing: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| permanent(format!("signing: {e}")))?
            .into_parts();
        let mut request = http::Request::post(uri.clone())
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| permanent(format!("request: {e}")))?;
        instructions.apply_to_request_http1x(&mut request);

        let transient = |message: String| PortError::new(OPERATION, ErrorClass::Transient, message);
        // One attempt, answer included, is bounded as the SDK clients' are: a connection that
        // stays open with no answer fails the attempt as transient instead of holding it.
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| PortError::caused_by(OPERATION, ErrorClass::Transient, e))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| PortError::caused_by(OPERATION, ErrorClass::Transient, e))?
                .to_bytes();
            Ok::<_, PortError>((status, body))
        };
        let (status, body) = tokio::time::timeout(crate::clients::ATTEMPT_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                transient(format!(
                    "no answer within {:?}",
                    crate::clients::ATTEMPT_TIMEOUT
                ))
            })??;
        if !(200..300).contains(&status) {
            return Err(call_error(status, &body));
        }
        let answer = read_answer(&body).map_err(|e| {
            transient(format!(
                "unreadable PublishBatch answer (HTTP {status}): {e}"
            ))
        })?;
        if answer.successful + answer.failed.len() != messages.len() {
            // An answer that does not account for every entry cannot say which were published.
            return Err(transient(format!(
                "the PublishBatch answer accounts for {} of {} entries",
                answer.successful + answer.failed.len(),
                messages.len()
            )));
        }
        Ok(entry_failures(answer.failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(body: &str, fifo: bool) -> Message {
        Message {
            event_id: "e-1".into(),
            correlation_id: "c-1".into(),
            body: body.into(),
            attributes: vec![
                ("entity", "material".into()),
                ("source", "idoc/MATMAS".into()),
            ],
            group_id: fifo.then(|| "material#42".into()),
            dedup_id: fifo.then(|| "e-1".into()),
            occurred_at: Utc::now(),
            entity: "material",
        }
    }

    fn form(body: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(body).into_owned().collect()
    }

    #[test]
    fn the_body_is_the_query_protocols_publish_batch() {
        let a = message(r#"{"a":"x y&z=1","ü":"+"}"#, false);
        let b = message("two", true);
        let body = request_body("arn:aws:sns:eu-west-1:1:t", &[&a, &b]);
        let pairs = form(&body);
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Action"), Some("PublishBatch"));
        assert_eq!(get("Version"), Some("2010-03-31"));
        assert_eq!(get("TopicArn"), Some("arn:aws:sns:eu-west-1:1:t"));
        let m1 = "PublishBatchRequestEntries.member.1.";
        let m2 = "PublishBatchRequestEntries.member.2.";
        assert_eq!(get(&format!("{m1}Id")), Some("0"));
        assert_eq!(get(&format!("{m1}Message")), Some(a.body.as_str()));
        assert_eq!(
            get(&format!("{m1}MessageAttributes.entry.2.Name")),
            Some("source")
        );
        assert_eq!(
            get(&format!("{m1}MessageAttributes.entry.2.Value.StringValue")),
            Some("idoc/MATMAS")
        );
        assert_eq!(
            get(&format!("{m1}MessageAttributes.entry.1.Value.DataType")),
            Some("String")
        );
        assert_eq!(get(&format!("{m1}MessageGroupId")), None);
        assert_eq!(get(&format!("{m2}Id")), Some("1"));
        assert_eq!(get(&format!("{m2}MessageGroupId")), Some("material#42"));
        assert_eq!(get(&format!("{m2}MessageDeduplicationId")), Some("e-1"));
        // Only unreserved characters go unescaped, as the SDK's query writer does.
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.is_ascii());
        assert!(!text.contains('+') && !text.contains(' ') && !text.contains('"'));
        assert!(text.contains("%2B"));
    }

    proptest::proptest! {
        #[test]
        fn encoding_matches_the_percent_encoding_crate(value in "\\PC*|[ -~]*") {
            const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
                .remove(b'-')
                .remove(b'_')
                .remove(b'.')
                .remove(b'~');
            let mut ours = b"x=".to_vec();
            encode(&mut ours, &value);
            let theirs = format!("x={}", percent_encoding::utf8_percent_encode(&value, QUERY));
            proptest::prop_assert_eq!(ours, theirs.into_bytes());
        }
    }

    #[test]
    fn a_partial_failure_names_the_failed_entries_and_their_class() {
        let xml = br#"<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
          <PublishBatchResult>
            <Successful><member><Id>0</Id><MessageId>m0</MessageId></member></Successful>
            <Failed>
              <member><Id>1</Id><Code>InternalError</Code><Message>try again</Message><SenderFault>false</SenderFault></member>
              <member><Id>2</Id><Code>InvalidParameter</Code><Message>a &amp; b</Message><SenderFault>true</SenderFault></member>
              <member><Id>3</Id><Code>Throttling</Code><Message>slow down</Message><SenderFault>true</SenderFault></member>
            </Failed>
          </PublishBatchResult>
          <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
        </PublishBatchResponse>"#;
        let answer = read_answer(xml).unwrap();
        assert_eq!(answer.successful, 1);
        assert_eq!(answer.error, None);
        let failures = entry_failures(answer.failed);
        let summary: Vec<_> = failures
            .iter()
            .map(|f| (f.index, f.code.as_str(), f.retryable))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, "InternalError", true),
                (2, "InvalidParameter", false),
                (3, "Throttling", true)
            ]
        );
        assert_eq!(failures[1].message, "a & b");
    }

    #[test]
    fn an_error_answer_is_classified_by_code_and_status() {
        let xml = br#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
          <Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error>
          <RequestId>r</RequestId></ErrorResponse>"#;
        let e = call_error(404, xml);
        assert_eq!(e.class, ErrorClass::Permanent);
        assert!(
            e.to_string().contains("NotFound: Topic does not exist"),
            "{}",
            e.to_string()
        );

        let throttled = String::from_utf8_lossy(xml)
            .replace("NotFound", "Throttling")
            .replace("Topic does not exist", "Rate exceeded");
        assert_eq!(
            call_error(400, throttled.as_bytes()).class,
            ErrorClass::Transient
        );
        assert_eq!(
            call_error(503, b"<html>busy</html>").class,
            ErrorClass::Transient
        );
        assert_eq!(call_error(403, b"").class, ErrorClass::Permanent);
    }

    /// A provider that counts its calls and hands out credentials expiring in `ttl`.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<std::sync::atomic::AtomicUsize>,
        ttl: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                "id",
                "secret",
                None,
                Some(SystemTime::now() + self.ttl),
                "t",
            )))
        }
    }

    async fn calls_after_three_loads(ttl: Duration) -> usize {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let provider = Counting {
            calls: calls.clone(),
            ttl,
        };
        let config = aws_types::SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let publisher = SnsPublisher::new(&AwsClients::from_config(config), "arn");
        for _ in 0..3 {
            publisher.credentials().await.unwrap();
        }
        calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn credentials_are_cached_until_five_minutes_before_they_expire() {
        assert_eq!(calls_after_three_loads(Duration::from_secs(3600)).await, 1);
        assert_eq!(calls_after_three_loads(Duration::from_secs(120)).await, 3);
    }

    #[test]
    fn the_endpoint_is_resolved_as_the_sdk_resolves_it() {
        let aws = resolve_endpoint(Some("eu-west-1"), None, false, false).unwrap();
        assert_eq!(aws.to_string(), "https://sns.eu-west-1.amazonaws.com/");
        let fips = resolve_endpoint(Some("us-east-1"), None, true, false).unwrap();
        assert_eq!(fips.host(), Some("sns-fips.us-east-1.amazonaws.com"));
        let local = resolve_endpoint(None, Some("http://127.0.0.1:4566"), false, false).unwrap();
        assert_eq!(local.to_string(), "http://127.0.0.1:4566/");
        assert!(resolve_endpoint(None, None, false, false).is_err());
    }
}
