//! The enricher's transport and logon against real servers on loopback:
//!
//! - OAuth 2.0 client credentials over HTTPS to an S/4 whose certificate is signed by a private
//!   CA (made with the `openssl` CLI for the test): the token fetched once and sent as a
//!   Bearer, `sap-client` sent, the CA taken from the secret's `ca_pem`; without it, no
//!   connection (and the event waits, it is not dead-lettered);
//! - the event source mapping switch over the real Lambda API client, against moto.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hub_enrich::{Enricher, Fate, MappingSwitch, Settings, Thin};
use hub_integration_tests::*;
use hub_sap::samples::{self, odata_v2_entity};
use s4_enricher::credentials::S4Secret;
use s4_enricher::mapping::LambdaMappingSwitch;
use s4_enricher::s4_http::HttpS4;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A private CA and a server certificate for 127.0.0.1 it signed, in `dir`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=hub test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// What the fake S/4 saw.
#[derive(Default)]
struct Seen {
    tokens: AtomicU32,
    reads: AtomicU32,
    refused: AtomicU32,
}

/// An S/4 over TLS that answers OAuth's token endpoint and A_SalesOrder reads with a Bearer
/// token and `sap-client=100`; everything else is 401.
async fn serve(cert: &Path, key: &Path, seen: Arc<Seen>) -> u16 {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let order = serde_json::to_vec(
        &serde_json::json!({"d": {"results": [odata_v2_entity(samples::SALES_ORDER)]}}),
    )
    .unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, seen, order) = (acceptor.clone(), seen.clone(), order.clone());
            tokio::spawn(async move {
                // A client that does not trust the CA ends the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (seen, order) = (seen.clone(), order.clone());
                        async move {
                            let auth = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let path = req.uri().path().to_string();
                            let query = req.uri().query().unwrap_or_default().to_string();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (status, out) = if path == "/oauth/token"
                                && auth == format!("Basic {}", base64_of("hub-client:s3cret"))
                                && body.starts_with(b"grant_type=client_credentials")
                            {
                                seen.tokens.fetch_add(1, Ordering::SeqCst);
                                (200, br#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#.to_vec())
                            } else if path == "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
                                && auth == "Bearer tok-1"
                                && query.contains("sap-client=100")
                            {
                                seen.reads.fetch_add(1, Ordering::SeqCst);
                                (200, order)
                            } else {
                                seen.refused.fetch_add(1, Ordering::SeqCst);
                                (401, b"{}".to_vec())
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(out)))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn thin_order() -> Thin {
    Thin {
        id: "m1".into(),
        event: samples::thin_event(samples::SALES_ORDER),
    }
}

#[tokio::test]
async fn oauth_over_tls_under_a_private_ca() {
    // Scenario: the secret holds OAuth client credentials, the SAP client and the private CA:
    // the token is fetched once for two batches, each read sends the Bearer and sap-client,
    // and the order is enriched. Without the CA the handshake fails: the event waits.
    let dir = std::env::temp_dir().join(unique("hub-s4-tls"));
    let (ca, cert, key) = certificates(&dir);
    let seen = Arc::new(Seen::default());
    let port = serve(&cert, &key, seen.clone()).await;
    let base = format!("https://127.0.0.1:{port}");
    let secret = |ca_pem: Option<String>| {
        let mut v = serde_json::json!({
            "auth": "oauth2",
            "token_url": format!("{base}/oauth/token"),
            "client_id": "hub-client",
            "client_secret": "s3cret",
            "sap_client": "100",
        });
        if let Some(pem) = ca_pem {
            v["ca_pem"] = pem.into();
        }
        S4Secret::parse(&v.to_string()).unwrap()
    };
    let pem = std::fs::read_to_string(&ca).unwrap();
    let api = HttpS4::new(&base, secret(Some(pem)), Duration::from_secs(5), false).unwrap();
    let enricher = Enricher::new(api, Settings::default());
    for _ in 0..2 {
        let fates = enricher.enrich(&[thin_order()], None).await;
        assert!(matches!(fates[0], Fate::Enriched(_)), "{fates:?}");
    }
    assert_eq!(
        seen.tokens.load(Ordering::SeqCst),
        1,
        "one token for both batches"
    );
    assert_eq!(seen.reads.load(Ordering::SeqCst), 2);
    assert_eq!(seen.refused.load(Ordering::SeqCst), 0);

    let untrusting = HttpS4::new(&base, secret(None), Duration::from_secs(5), false).unwrap();
    let enricher = Enricher::new(untrusting, Settings::default());
    let fates = enricher.enrich(&[thin_order()], None).await;
    assert!(matches!(fates[0], Fate::Unavailable { .. }), "{fates:?}");
    assert_eq!(
        seen.reads.load(Ordering::SeqCst),
        2,
        "no read without the CA"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_mapping_switch_turns_the_functions_own_mapping() {
    // Scenario: against moto's Lambda API with the SDK client: the switch finds the
    // function's mapping on its queue, reads it on, turns it off and on again.
    let clients = clients().await;
    let mut config = clients.config.to_builder();
    config.set_endpoint_url(clients.sns_endpoint_url.clone());
    let config = config.build();
    let lambda = aws_sdk_lambda::Client::new(&config);
    let iam = aws_sdk_iam_free_role(&config).await;
    let name = unique("enricher-fn");
    let zip = {
        // A function's code: moto stores it and never runs it here.
        let mut b = Vec::new();
        b.extend_from_slice(b"PK\x05\x06");
        b.extend_from_slice(&[0u8; 18]);
        b
    };
    lambda
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .role(iam)
        .handler("bootstrap")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(zip.into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A queue nobody sends to: moto's own mapping would otherwise try to run the function.
    let q = clients
        .sqs
        .create_queue()
        .queue_name(unique("enricher-q"))
        .send()
        .await
        .unwrap();
    let url = q.queue_url().unwrap().to_string();
    let arn = hub_aws::subscription::queue_arn(&clients.sqs, &url)
        .await
        .unwrap();
    lambda
        .create_event_source_mapping()
        .function_name(&name)
        .event_source_arn(&arn)
        .batch_size(10)
        .enabled(true)
        .send()
        .await
        .unwrap();
    let switch = LambdaMappingSwitch::new(lambda, &name, &arn);
    assert!(switch.enabled().await.unwrap());
    switch.set_enabled(false).await.unwrap();
    assert!(!switch.enabled().await.unwrap());
    switch.set_enabled(true).await.unwrap();
    assert!(switch.enabled().await.unwrap());
}

/// A role in moto's IAM for the test's function (moto's Lambda wants it to exist), created
/// with IAM's query API over curl: the test needs no IAM SDK client for one call.
async fn aws_sdk_iam_free_role(config: &aws_config::SdkConfig) -> String {
    let endpoint = config.endpoint_url().expect("moto's endpoint").to_string();
    let name = unique("hub-test-enricher");
    let out = Command::new("curl")
        .args(["-sS", "-f", "-X", "POST", &endpoint, "-H"])
        .arg("Authorization: AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
        .args(["--data-urlencode", "Action=CreateRole", "--data-urlencode", "Version=2010-05-08"])
        .args(["--data-urlencode", &format!("RoleName={name}")])
        .args(["--data-urlencode", r#"AssumeRolePolicyDocument={"Version":"2012-10-17","Statement":[]}"#])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "iam:CreateRole: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("arn:aws:iam::123456789012:role/{name}")
}
