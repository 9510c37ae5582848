//! How the long-running bridge authenticates to Kafka: SASL/SCRAM (512 or 256) over TLS, mutual
//! TLS with a client certificate, or nothing (development only, and only when said explicitly).
//!
//! The credentials come from Secrets Manager by ARN, in the JSON formats Lambda's Kafka event
//! source reads, so one secret serves the bridge Lambda and the long-running bridge alike:
//!
//! | `KAFKA_AUTH` | `KAFKA_SECRET_ARN` holds | librdkafka gets |
//! |---|---|---|
//! | `sasl-scram-512` | `{"username": …, "password": …}` | `SASL_SSL`, `SCRAM-SHA-512` |
//! | `sasl-scram-256` | `{"username": …, "password": …}` | `SASL_SSL`, `SCRAM-SHA-256` |
//! | `mtls` | `{"certificate": PEM chain, "privateKey": PEM, "privateKeyPassword"?: …}` | `SSL`, `ssl.certificate.pem`, `ssl.key.pem` |
//! | `none` | (no secret) | what `KAFKA_PROP_SECURITY_PROTOCOL` says, `plaintext` by default |
//!
//! `KAFKA_CA_SECRET_ARN` (optional) holds `{"certificate": PEM}`, the root CA of brokers whose
//! certificates a private CA signed (`ssl.ca.pem`); without it the system's trust store is used.
//!
//! SASL always runs over TLS: the bridge sets `security.protocol` itself, and refuses a
//! `KAFKA_PROP_` that would set it, the mechanism or any credential (a password in a plain
//! environment variable is what this module exists to avoid). Errors name the variable and what
//! is wrong, never a secret's value.

use hub_core::config::{ConfigError, Env};
use serde::Deserialize;
use std::fmt;

/// The authentication mode, as `KAFKA_AUTH` (and the template's `KafkaAuth`) spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaAuth {
    /// No authentication, plaintext unless `KAFKA_PROP_SECURITY_PROTOCOL` says otherwise.
    /// Development only.
    None,
    /// SASL/SCRAM-SHA-512 over TLS.
    SaslScram512,
    /// SASL/SCRAM-SHA-256 over TLS.
    SaslScram256,
    /// Mutual TLS: a client certificate and its key.
    Mtls,
}

impl KafkaAuth {
    /// The modes, as spelled in `KAFKA_AUTH`.
    pub const NAMES: [&'static str; 4] = ["sasl-scram-512", "sasl-scram-256", "mtls", "none"];

    /// Parses `KAFKA_AUTH`'s spelling.
    pub fn parse(s: &str) -> Option<KafkaAuth> {
        match s {
            "none" => Some(KafkaAuth::None),
            "sasl-scram-512" => Some(KafkaAuth::SaslScram512),
            "sasl-scram-256" => Some(KafkaAuth::SaslScram256),
            "mtls" => Some(KafkaAuth::Mtls),
            _ => None,
        }
    }

    /// `KAFKA_AUTH`'s spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaAuth::None => "none",
            KafkaAuth::SaslScram512 => "sasl-scram-512",
            KafkaAuth::SaslScram256 => "sasl-scram-256",
            KafkaAuth::Mtls => "mtls",
        }
    }
}

/// librdkafka properties only the authentication settings may set. A `KAFKA_PROP_` naming one
/// of them is refused.
pub const CREDENTIAL_PROPERTIES: &[&str] = &[
    "sasl.username",
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.key.location",
    "ssl.keystore.password",
    "ssl.keystore.location",
    "ssl.certificate.pem",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
];

/// Set by `KAFKA_AUTH` when it is not `none`.
const PROTOCOL_PROPERTIES: &[&str] = &["security.protocol", "sasl.mechanism", "sasl.mechanisms"];

/// Where the credentials are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The mode.
    pub auth: KafkaAuth,
    /// The credentials' secret (SASL or the client certificate); `None` with `KafkaAuth::None`.
    pub secret_arn: Option<String>,
    /// The private root CA's secret, if the brokers' CA is not a public one.
    pub ca_secret_arn: Option<String>,
}

impl AuthConfig {
    /// Reads `KAFKA_AUTH` (required: one of [`KafkaAuth::NAMES`]), `KAFKA_SECRET_ARN`
    /// (required unless `none`) and `KAFKA_CA_SECRET_ARN`, and checks the `KAFKA_PROP_`
    /// variables against them.
    pub fn from_env(env: &Env) -> Result<AuthConfig, ConfigError> {
        let raw = env.get("KAFKA_AUTH").ok_or_else(|| ConfigError {
            variable: "KAFKA_AUTH".into(),
            message: format!(
                "required: one of {} (`none` for development only)",
                KafkaAuth::NAMES.join(", ")
            ),
        })?;
        let auth = KafkaAuth::parse(&raw).ok_or_else(|| ConfigError {
            variable: "KAFKA_AUTH".into(),
            message: format!("{raw:?} is not one of {}", KafkaAuth::NAMES.join(", ")),
        })?;
        let secret_arn = env.get("KAFKA_SECRET_ARN");
        match (auth, &secret_arn) {
            (KafkaAuth::None, Some(_)) => {
                return Err(ConfigError {
                    variable: "KAFKA_SECRET_ARN".into(),
                    message: "set, but KAFKA_AUTH is none: say which mechanism it is for".into(),
                });
            }
            (KafkaAuth::None, None) | (_, Some(_)) => {}
            (_, None) => {
                return Err(ConfigError {
                    variable: "KAFKA_SECRET_ARN".into(),
                    message: format!("required with KAFKA_AUTH={}", auth.as_str()),
                });
            }
        }
        for (name, _) in env.with_prefix("KAFKA_PROP_") {
            let property = name.to_ascii_lowercase().replace('_', ".");
            let variable = format!("KAFKA_PROP_{name}");
            if CREDENTIAL_PROPERTIES.contains(&property.as_str()) {
                return Err(ConfigError {
                    variable,
                    message: format!(
                        "{property} is a credential: put it in the secret KAFKA_SECRET_ARN names"
                    ),
                });
            }
            if auth != KafkaAuth::None && PROTOCOL_PROPERTIES.contains(&property.as_str()) {
                return Err(ConfigError {
                    variable,
                    message: format!("{property} is set by KAFKA_AUTH={}", auth.as_str()),
                });
            }
        }
        Ok(AuthConfig {
            auth,
            secret_arn,
            ca_secret_arn: env.get("KAFKA_CA_SECRET_ARN"),
        })
    }

    /// The librdkafka properties for the secrets' values (`secret` is the `SecretString` of
    /// [`AuthConfig::secret_arn`], `ca` that of [`AuthConfig::ca_secret_arn`]).
    pub fn credentials(
        &self,
        secret: Option<&str>,
        ca: Option<&str>,
    ) -> Result<Credentials, AuthError> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| p.push((k.to_string(), v.to_string()));
        match self.auth {
            KafkaAuth::None => {}
            KafkaAuth::SaslScram512 | KafkaAuth::SaslScram256 => {
                let s: SaslSecret = parse(secret, "KAFKA_SECRET_ARN", SASL_SHAPE)?;
                if s.username.is_empty() || s.password.is_empty() {
                    return Err(AuthError::Secret {
                        variable: "KAFKA_SECRET_ARN",
                        problem: format!("an empty username or password; expected {SASL_SHAPE}"),
                    });
                }
                set("security.protocol", "SASL_SSL");
                set(
                    "sasl.mechanisms",
                    if self.auth == KafkaAuth::SaslScram512 {
                        "SCRAM-SHA-512"
                    } else {
                        "SCRAM-SHA-256"
                    },
                );
                set("sasl.username", &s.username);
                set("sasl.password", &s.password);
            }
            KafkaAuth::Mtls => {
                let s: TlsSecret = parse(secret, "KAFKA_SECRET_ARN", TLS_SHAPE)?;
                pem(
                    "KAFKA_SECRET_ARN",
                    "certificate",
                    &s.certificate,
                    "CERTIFICATE",
                )?;
                pem(
                    "KAFKA_SECRET_ARN",
                    "privateKey",
                    &s.private_key,
                    "PRIVATE KEY",
                )?;
                set("security.protocol", "SSL");
                set("ssl.certificate.pem", &s.certificate);
                set("ssl.key.pem", &s.private_key);
                if let Some(pw) = s.private_key_password.filter(|p| !p.is_empty()) {
                    set("ssl.key.password", &pw);
                }
            }
        }
        if self.ca_secret_arn.is_some() {
            let s: CaSecret = parse(ca, "KAFKA_CA_SECRET_ARN", CA_SHAPE)?;
            pem(
                "KAFKA_CA_SECRET_ARN",
                "certificate",
                &s.certificate,
                "CERTIFICATE",
            )?;
            set("ssl.ca.pem", &s.certificate);
        }
        Ok(Credentials(p))
    }
}

const SASL_SHAPE: &str = r#"{"username": "...", "password": "..."}"#;
const TLS_SHAPE: &str = r#"{"certificate": "-----BEGIN CERTIFICATE-----...", "privateKey": "-----BEGIN PRIVATE KEY-----...", "privateKeyPassword": "..." (optional)}"#;
const CA_SHAPE: &str = r#"{"certificate": "-----BEGIN CERTIFICATE-----..."}"#;

#[derive(Deserialize)]
struct SaslSecret {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlsSecret {
    certificate: String,
    private_key: String,
    #[serde(default)]
    private_key_password: Option<String>,
}

#[derive(Deserialize)]
struct CaSecret {
    certificate: String,
}

/// Parses a secret's JSON. serde's message can quote the input, so only its category and
/// position are kept.
fn parse<T: for<'de> Deserialize<'de>>(
    value: Option<&str>,
    variable: &'static str,
    shape: &str,
) -> Result<T, AuthError> {
    let value = value.ok_or_else(|| AuthError::Secret {
        variable,
        problem: format!("no value was read; expected {shape}"),
    })?;
    serde_json::from_str(value).map_err(|e| AuthError::Secret {
        variable,
        problem: format!(
            "not the expected JSON ({:?} error at line {}, column {}); expected {shape}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// A PEM field must hold a PEM block of the expected kind (`PRIVATE KEY` also matches
/// `RSA PRIVATE KEY`, `EC PRIVATE KEY` and `ENCRYPTED PRIVATE KEY`).
fn pem(variable: &'static str, field: &str, value: &str, kind: &str) -> Result<(), AuthError> {
    let ok = value.lines().any(|l| {
        let l = l.trim();
        l.starts_with("-----BEGIN ") && l.ends_with(&format!("{kind}-----"))
    });
    if ok {
        Ok(())
    } else {
        Err(AuthError::Secret {
            variable,
            problem: format!("{field} is not a PEM {kind} block"),
        })
    }
}

/// A secret could not be used. Never carries the secret's value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// The secret's value is not what the mode needs.
    #[error("the secret {variable} names holds {problem}")]
    Secret {
        /// The variable naming the secret.
        variable: &'static str,
        /// What is wrong, without the value.
        problem: String,
    },
}

/// librdkafka properties holding credentials. Its `Debug` prints the property names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials(Vec<(String, String)>);

impl Credentials {
    /// The (property, value) pairs.
    pub fn properties(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of a property, if set.
    pub fn get(&self, property: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == property)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=<redacted>")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

    fn config(pairs: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_env(&Env::from_pairs(pairs))
    }

    #[test]
    fn kafka_auth_must_be_said_and_its_secret_given() {
        // Scenario: no KAFKA_AUTH is an error that lists the modes; a mode that needs a secret
        // without one, or a secret with `none`, is refused; `none` alone is accepted.
        let e = config(&[]).unwrap_err();
        assert_eq!(e.variable, "KAFKA_AUTH");
        assert!(
            e.message
                .contains("sasl-scram-512, sasl-scram-256, mtls, none")
        );
        let e = config(&[("KAFKA_AUTH", "plain")]).unwrap_err();
        assert_eq!(e.variable, "KAFKA_AUTH");
        for mode in ["sasl-scram-512", "sasl-scram-256", "mtls"] {
            let e = config(&[("KAFKA_AUTH", mode)]).unwrap_err();
            assert_eq!(e.variable, "KAFKA_SECRET_ARN", "{mode}");
        }
        let e = config(&[("KAFKA_AUTH", "none"), ("KAFKA_SECRET_ARN", "arn:s")]).unwrap_err();
        assert_eq!(e.variable, "KAFKA_SECRET_ARN");
        assert_eq!(
            config(&[("KAFKA_AUTH", "none")]).unwrap().auth,
            KafkaAuth::None
        );
    }

    #[test]
    fn credentials_and_the_protocol_cannot_come_from_plain_variables() {
        // Scenario: a password, key or certificate in a KAFKA_PROP_ variable is refused in every
        // mode; with SASL on, so is a security protocol or mechanism (SASL runs over TLS only).
        for (var, mode) in [
            ("KAFKA_PROP_SASL_PASSWORD", "none"),
            ("KAFKA_PROP_SASL_USERNAME", "sasl-scram-512"),
            ("KAFKA_PROP_SSL_KEY_PASSWORD", "mtls"),
            ("KAFKA_PROP_SSL_KEY_PEM", "mtls"),
            ("KAFKA_PROP_SECURITY_PROTOCOL", "sasl-scram-512"),
            ("KAFKA_PROP_SASL_MECHANISMS", "sasl-scram-256"),
        ] {
            let mut pairs = vec![("KAFKA_AUTH", mode), (var, "plain-pw-42")];
            if mode != "none" {
                pairs.push(("KAFKA_SECRET_ARN", "arn:s"));
            }
            let e = config(&pairs).unwrap_err();
            assert_eq!(e.variable, var);
            assert!(!e.to_string().contains("plain-pw-42"), "{e}");
        }
        // Without authentication an operator may still choose TLS (or SASL_PLAINTEXT).
        assert!(
            config(&[
                ("KAFKA_AUTH", "none"),
                ("KAFKA_PROP_SECURITY_PROTOCOL", "ssl")
            ])
            .is_ok()
        );
    }

    #[test]
    fn sasl_secrets_become_sasl_ssl_with_the_right_mechanism() {
        // Scenario: the secret in Lambda's format gives SASL_SSL, the SCRAM mechanism of the mode,
        // and the CA secret adds ssl.ca.pem.
        let secret = r#"{"username":"hub","password":"s3cr3t-pw"}"#;
        let ca = format!(
            r#"{{"certificate":{}}}"#,
            serde_json::to_string(CERT).unwrap()
        );
        let c = config(&[
            ("KAFKA_AUTH", "sasl-scram-512"),
            ("KAFKA_SECRET_ARN", "arn:s"),
            ("KAFKA_CA_SECRET_ARN", "arn:ca"),
        ])
        .unwrap()
        .credentials(Some(secret), Some(&ca))
        .unwrap();
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.username"), Some("hub"));
        assert_eq!(c.get("sasl.password"), Some("s3cr3t-pw"));
        assert_eq!(c.get("ssl.ca.pem"), Some(CERT));
        // Debug never prints a value.
        let debug = format!("{c:?}");
        assert!(debug.contains("sasl.password=<redacted>") && !debug.contains("s3cr3t"));

        let c = config(&[
            ("KAFKA_AUTH", "sasl-scram-256"),
            ("KAFKA_SECRET_ARN", "arn:s"),
        ])
        .unwrap()
        .credentials(Some(secret), None)
        .unwrap();
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-256"));
        assert_eq!(c.get("ssl.ca.pem"), None);
    }

    #[test]
    fn mtls_secrets_become_ssl_with_the_client_certificate() {
        // Scenario: Lambda's client-certificate secret format gives SSL with the certificate,
        // the key and (when given) the key's password.
        let secret = serde_json::json!({
            "certificate": CERT, "privateKey": KEY, "privateKeyPassword": "kpw"
        })
        .to_string();
        let c = config(&[("KAFKA_AUTH", "mtls"), ("KAFKA_SECRET_ARN", "arn:s")])
            .unwrap()
            .credentials(Some(&secret), None)
            .unwrap();
        assert_eq!(c.get("security.protocol"), Some("SSL"));
        assert_eq!(c.get("ssl.certificate.pem"), Some(CERT));
        assert_eq!(c.get("ssl.key.pem"), Some(KEY));
        assert_eq!(c.get("ssl.key.password"), Some("kpw"));
    }

    #[test]
    fn a_wrong_secret_is_named_without_its_value() {
        // Scenario: a secret that is not JSON, misses a field, has an empty password, or holds
        // no PEM where one is expected is an AuthError naming the variable and the expected
        // shape; the secret's text never appears in it.
        let sasl = config(&[
            ("KAFKA_AUTH", "sasl-scram-512"),
            ("KAFKA_SECRET_ARN", "arn:s"),
        ])
        .unwrap();
        let mtls = config(&[("KAFKA_AUTH", "mtls"), ("KAFKA_SECRET_ARN", "arn:s")]).unwrap();
        let cases: [(&AuthConfig, &str); 5] = [
            (&sasl, "hunter2-not-json"),
            (&sasl, r#"{"username":"hub","pass":"hunter2"}"#),
            (&sasl, r#"{"username":"hub","password":""}"#),
            (&sasl, r#"{"username":"hub","password":12345678}"#),
            (&mtls, r#"{"certificate":"hunter2","privateKey":"hunter2"}"#),
        ];
        for (auth, secret) in cases {
            let e = auth.credentials(Some(secret), None).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("KAFKA_SECRET_ARN"), "{text}");
            assert!(
                !text.contains("hunter2") && !text.contains("12345678"),
                "{text}"
            );
        }
    }
}
