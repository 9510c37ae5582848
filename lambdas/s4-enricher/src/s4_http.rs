//! The S/4 API over HTTPS: the [`S4Api`] adapter. Pooled connections (hyper with rustls on
//! ring, the TLS stack of every hub binary), the system's roots and the secret's CA, Basic or
//! OAuth 2.0 client credentials, a timeout per call, `Retry-After` read.

use crate::credentials::{Auth, S4Secret};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hub_enrich::api::{CallError, S4Api};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::debug;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The longest answer body read (a page of 100 sales orders with items is well below).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Why the adapter cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The base URL.
    #[error("S4_API_BASE_URL {0:?}: {1}")]
    BaseUrl(String, String),
    /// The trust store.
    #[error("S/4 trust store: {0}")]
    Trust(String),
}

/// S/4's OData API at one base URL.
pub struct HttpS4 {
    base: String,
    host: String,
    client: HttpClient,
    secret: S4Secret,
    timeout: Duration,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for HttpS4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpS4")
            .field("base", &self.base)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpS4 {
    /// The API at `base_url` (`https://my-s4.example.com`, no path), logged on with `secret`,
    /// each call answered within `timeout`. Plain `http` only when `allow_http` (the local
    /// stack).
    pub fn new(
        base_url: &str,
        secret: S4Secret,
        timeout: Duration,
        allow_http: bool,
    ) -> Result<HttpS4, SetupError> {
        let base = base_url.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|e| SetupError::BaseUrl(base.clone(), format!("{e}")))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if allow_http => {}
            _ => {
                return Err(SetupError::BaseUrl(
                    base,
                    "must be an https:// URL".to_string(),
                ));
            }
        }
        let host = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| SetupError::BaseUrl(base.clone(), "has no host".into()))?;
        let client = http_client(secret.ca_pem.as_deref(), timeout)?;
        Ok(HttpS4 {
            base,
            host,
            client,
            secret,
            timeout,
            token: Mutex::new(None),
        })
    }

    /// The `Authorization` header's value.
    async fn authorization(&self) -> Result<String, CallError> {
        match &self.secret.auth {
            Auth::Basic { username, password } => Ok(basic(username, password)),
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let mut cached = self.token.lock().await;
                if let Some((token, until)) = cached.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(format!("Bearer {token}"));
                }
                let (token, lifetime) = self
                    .fetch_token(token_url, client_id, client_secret, scope.as_deref())
                    .await?;
                // Renewed a minute before it expires (or at half its life when shorter).
                let margin = Duration::from_secs(60).min(lifetime / 2);
                *cached = Some((token.clone(), Instant::now() + lifetime - margin));
                Ok(format!("Bearer {token}"))
            }
        }
    }

    async fn fetch_token(
        &self,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
    ) -> Result<(String, Duration), CallError> {
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(s) = scope {
                form.append_pair("scope", s);
            }
            form.finish()
        };
        let request = Request::post(token_url)
            .header(header::AUTHORIZATION, basic(client_id, client_secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| CallError::Credentials(format!("token request: {e}")))?;
        let (status, _, body) = self.send(request).await.map_err(|e| match e {
            CallError::Status { status, .. } => {
                CallError::Credentials(format!("the token endpoint answered HTTP {status}"))
            }
            other => other,
        })?;
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: Token = serde_json::from_slice(&body).map_err(|_| {
            CallError::Credentials(format!(
                "the token endpoint's answer (HTTP {status}) has no access_token"
            ))
        })?;
        Ok((
            t.access_token,
            Duration::from_secs(t.expires_in.unwrap_or(300).max(10)),
        ))
    }

    /// Sends `request` within the timeout; a 2xx answer's status, headers and body.
    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), CallError> {
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| CallError::Connect(error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| CallError::Connect(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, CallError>((parts.status, parts.headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| CallError::Timeout(self.timeout))??;
        if status.is_success() {
            return Ok((status, headers, body));
        }
        Err(CallError::Status {
            status: status.as_u16(),
            retry_after: headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after),
            message: odata_error_message(&body),
        })
    }
}

impl S4Api for HttpS4 {
    fn host(&self) -> &str {
        &self.host
    }

    async fn get(&self, path_and_query: &str) -> Result<Vec<u8>, CallError> {
        let mut url = format!("{}{}", self.base, path_and_query);
        if let Some(client) = &self.secret.sap_client {
            let client: String = form_urlencoded::byte_serialize(client.as_bytes()).collect();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("sap-client=");
            url.push_str(&client);
        }
        let authorization = self.authorization().await?;
        let request = Request::get(&url)
            .header(header::ACCEPT, "application/json")
            .header(
                header::AUTHORIZATION,
                HeaderValue::from_str(&authorization)
                    .map_err(|_| CallError::Credentials("not a header value".into()))?,
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| CallError::Connect(format!("request {url}: {e}")))?;
        debug!(url = %url, "GET S/4.");
        match self.send(request).await {
            Ok((_, _, body)) => Ok(body.to_vec()),
            Err(e) => {
                if matches!(e, CallError::Status { status: 401, .. }) {
                    // An expired or revoked token: the next call fetches a new one.
                    *self.token.lock().await = None;
                }
                Err(e)
            }
        }
    }
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `Retry-After`: seconds, or an HTTP date (the time until it).
pub fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let left = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

/// The message of an OData error (`{"error": {"message": {"value": "…"}}}` in V2,
/// `{"error": {"message": "…"}}` in V4), or the start of the body.
fn odata_error_message(body: &[u8]) -> String {
    let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let m = v.as_ref().and_then(|v| {
        let m = &v["error"]["message"];
        m["value"].as_str().or(m.as_str()).map(str::to_string)
    });
    m.unwrap_or_else(|| {
        String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_string()
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The pooled HTTPS client: the system's roots and `ca_pem`'s certificates.
fn http_client(ca_pem: Option<&str>, timeout: Duration) -> Result<HttpClient, SetupError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| SetupError::Trust(format!("ca_pem: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SetupError::Trust(format!("ca_pem: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(SetupError::Trust("ca_pem holds no certificate".into()));
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SetupError::Trust(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        // Scenario: "7" is 7 s; a date in the past is now; nonsense is none.
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn odata_errors_say_what_s4_said() {
        // Scenario: V2's and V4's error messages, and a gateway page's start.
        assert_eq!(
            odata_error_message(br#"{"error":{"code":"X","message":{"lang":"en","value":"No"}}}"#),
            "No"
        );
        assert_eq!(odata_error_message(br#"{"error":{"message":"V4"}}"#), "V4");
        assert_eq!(
            odata_error_message(b"<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
    }

    #[test]
    fn only_https_unless_local_and_a_bad_ca_is_refused() {
        // Scenario: http:// is refused for a deployed function; a CA that is not PEM is
        // refused at start, not at the first call.
        let secret = S4Secret::parse(r#"{"auth":"basic","username":"u","password":"p"}"#).unwrap();
        let t = Duration::from_secs(5);
        assert!(HttpS4::new("http://s4.example.com", secret.clone(), t, false).is_err());
        assert!(HttpS4::new("http://127.0.0.1:4004", secret.clone(), t, true).is_ok());
        let mut bad = secret;
        bad.ca_pem = Some("not a certificate".into());
        assert!(matches!(
            HttpS4::new("https://s4.example.com", bad, t, false),
            Err(SetupError::Trust(_))
        ));
    }
}
