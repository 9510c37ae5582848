//! The embedded Kafka: librdkafka's mock cluster.
//!
//! The mock cluster implements the Kafka protocol (produce, fetch, metadata, consumer groups,
//! offset commits, auto-created topics) on 127.0.0.1 ports chosen by the OS, inside this process.
//! Any Kafka client can use it while the process runs; it keeps data in memory only.

use crate::KafkaAdapterError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::path::Path;
use tracing::info;

/// A running embedded Kafka cluster. Dropping it stops the brokers.
pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl std::fmt::Debug for EmbeddedKafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedKafka")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .finish()
    }
}

impl EmbeddedKafka {
    /// Starts `brokers` mock brokers and creates `topics` (name, partitions).
    pub fn start(
        brokers: i32,
        topics: &[(String, i32)],
    ) -> Result<EmbeddedKafka, KafkaAdapterError> {
        let cluster = MockCluster::new(brokers).map_err(|source| KafkaAdapterError::Kafka {
            operation: "start mock cluster",
            source,
        })?;
        let kafka = EmbeddedKafka { cluster };
        for (name, partitions) in topics {
            kafka.create_topic(name, *partitions)?;
        }
        info!(
            bootstrap_servers = %kafka.bootstrap_servers(),
            brokers,
            topics = topics.len(),
            "Embedded Kafka started."
        );
        Ok(kafka)
    }

    /// The `bootstrap.servers` list, e.g. `127.0.0.1:39411,127.0.0.1:40123`.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates a topic (replication factor 1).
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), KafkaAdapterError> {
        self.cluster
            .create_topic(name, partitions, 1)
            .map_err(|source| KafkaAdapterError::Kafka {
                operation: "create topic",
                source,
            })
    }

    /// Writes the bootstrap list to `path` (atomically: write then rename), for other tools.
    pub fn write_bootstrap_file(&self, path: &Path) -> Result<(), KafkaAdapterError> {
        let err = |source| KafkaAdapterError::BootstrapFile {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.bootstrap_servers()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Access to the mock cluster for fault injection (broker down, request errors, latency).
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}
