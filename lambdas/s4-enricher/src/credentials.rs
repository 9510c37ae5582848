//! How the enricher logs on to S/4: the secret named by `S4_API_LOGON_ARN` (template parameter
//! `S4ApiSecretArn`), a JSON object, never an environment variable.
//!
//! ```json
//! {"auth": "basic", "username": "HUB_READER", "password": "…"}
//! {"auth": "oauth2", "token_url": "https://…/oauth/token", "client_id": "…",
//!  "client_secret": "…", "scope": "API_BUSINESS_PARTNER_0001"}
//! ```
//!
//! Either may add `"sap_client": "100"` (sent as `sap-client`, the client of an on-premises
//! system) and `"ca_pem": "-----BEGIN CERTIFICATE-----…"` (one or more PEM certificates trusted
//! beside the system's roots: the CA of an on-premises S/4 or of its reverse proxy).

use serde::Deserialize;
use std::fmt;

/// The secret's content.
#[derive(Clone, Deserialize, PartialEq, Eq)]
pub struct S4Secret {
    /// How to log on.
    #[serde(flatten)]
    pub auth: Auth,
    /// The SAP client (`sap-client`), for systems with several.
    #[serde(default)]
    pub sap_client: Option<String>,
    /// Extra trusted CA certificates, PEM.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

/// Basic or OAuth 2.0 client credentials.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "auth", rename_all = "snake_case")]
pub enum Auth {
    /// HTTP Basic: a communication user's name and password.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: String,
    },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): a token from `token_url`, sent as a Bearer.
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// The scope asked for, if any.
        #[serde(default)]
        scope: Option<String>,
    },
}

// Never print a password or a client secret.
impl fmt::Debug for S4Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::Basic { username, .. } => format!("basic ({username})"),
            Auth::OAuth2 {
                token_url,
                client_id,
                ..
            } => format!("oauth2 ({client_id} at {token_url})"),
        };
        f.debug_struct("S4Secret")
            .field("auth", &auth)
            .field("sap_client", &self.sap_client)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "…"))
            .finish()
    }
}

impl S4Secret {
    /// Reads the secret's JSON; the error names what is wrong, never a value.
    pub fn parse(json: &str) -> Result<S4Secret, String> {
        serde_json::from_str(json).map_err(|e| {
            // serde's message may quote a value; keep only where it is.
            format!(
                "the S/4 secret is not {{\"auth\": \"basic\"|\"oauth2\", …}} (line {}, column {})",
                e.line(),
                e.column()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_read_and_nothing_secret_is_printed() {
        // Scenario: a Basic and an OAuth secret read; Debug shows neither password nor client
        // secret; a bad secret's error quotes no value.
        let b = S4Secret::parse(
            r#"{"auth":"basic","username":"U","password":"p4ss","sap_client":"100"}"#,
        )
        .unwrap();
        assert_eq!(b.sap_client.as_deref(), Some("100"));
        assert!(!format!("{b:?}").contains("p4ss"));
        let o = S4Secret::parse(
            r#"{"auth":"oauth2","token_url":"https://t/x","client_id":"c","client_secret":"s3cr3t"}"#,
        )
        .unwrap();
        assert!(matches!(o.auth, Auth::OAuth2 { scope: None, .. }));
        assert!(!format!("{o:?}").contains("s3cr3t"));
        let e = S4Secret::parse(r#"{"auth":"kerberos","password":"hunter2"}"#).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
