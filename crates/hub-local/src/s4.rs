//! The local S/4 (SAP CAP, `infra/local/s4`) from Rust: one of one's own on a free port
//! (`infra/local/s4-serve.sh`), stopped when dropped, and OData requests to it with its
//! communication user, for the tests, the bench and `hubctl run --seed`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The local S/4's communication user (`infra/local/s4/package.json`, `cds.requires.auth`).
pub const USER: (&str, &str) = ("hub", "hub-local");

/// A local S/4 served by this process, stopped when dropped.
#[derive(Debug)]
pub struct LocalS4 {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl LocalS4 {
    /// Serves one from the repository at `root` on a free port, with its data fresh from the
    /// CSV seed; its thin events go to `events` (bootstrap, topic), or nowhere. Waits (60 s at
    /// most) until it answers.
    pub async fn start(root: &Path, events: Option<(&str, &str)>) -> Result<LocalS4, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut cmd = Command::new(root.join("infra/local/s4-serve.sh"));
        cmd.arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match events {
            Some((bootstrap, topic)) => cmd
                .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
                .env("HUB_S4_EVENTS_TOPIC", topic),
            None => cmd.env_remove("KAFKA_BOOTSTRAP_SERVERS"),
        };
        let child = cmd
            .spawn()
            .map_err(|e| format!("infra/local/s4-serve.sh (run infra/local/install.sh): {e}"))?;
        let s4 = LocalS4 {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let metadata = format!(
            "{}/sap/opu/odata/sap/API_BUSINESS_PARTNER/$metadata",
            s4.url
        );
        let started = Instant::now();
        while request("GET", &metadata, None) != Ok(200) {
            if started.elapsed() > Duration::from_secs(60) {
                return Err("the local S/4 did not answer within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(s4)
    }
}

impl Drop for LocalS4 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request to the local S/4 with its communication user (curl): `method` `url` with a JSON
/// `body`; the answer's status.
pub fn request(method: &str, url: &str, body: Option<&str>) -> Result<u16, String> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        method,
        "-u",
    ])
    .arg(format!("{}:{}", USER.0, USER.1));
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = cmd.arg(url).output().map_err(|e| format!("curl: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("{method} {url}: no answer"))
}

/// Changes `field` of business partner `key` with an OData V2 `PATCH`, as a user of S/4 would:
/// S/4 raises the thin Changed event.
pub fn patch_business_partner(
    base_url: &str,
    key: &str,
    field: &str,
    value: &str,
) -> Result<(), String> {
    let url =
        format!("{base_url}/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner('{key}')");
    let body = serde_json::json!({ field: value }).to_string();
    match request("PATCH", &url, Some(&body))? {
        200 | 204 => Ok(()),
        status => Err(format!("PATCH {url}: HTTP {status}")),
    }
}
