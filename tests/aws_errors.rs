//! The classification of real SDK errors from the stand-ins: what a caller's mistake looks like
//! (permanent, with the service's code) and what an outage looks like (transient).

use hub_aws::AwsError;
use hub_aws::clients::LocalEndpoints;
use hub_core::{Classify, ErrorClass};
use hub_integration_tests::*;

#[tokio::test]
async fn a_missing_queue_is_a_permanent_error_with_its_code() {
    // Scenario: asking SQS for a queue that does not exist is the caller's mistake: permanent,
    // and the service's error code is kept.
    let clients = clients().await;
    let err = clients
        .sqs
        .get_queue_url()
        .queue_name(unique("no-such-queue"))
        .send()
        .await
        .map_err(|e| AwsError::sdk("sqs:GetQueueUrl", e))
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.code().is_some_and(|c| c.contains("NonExistentQueue")),
        "{err}"
    );
}

#[tokio::test]
async fn a_validation_error_from_dynamodb_is_permanent() {
    // Scenario: a PutItem without the key attributes is rejected by DynamoDB Local with
    // ValidationException, classified permanent.
    let clients = clients().await;
    let err = clients
        .dynamodb
        .put_item()
        .table_name(unique("no-such-table"))
        .item("x", aws_sdk_dynamodb::types::AttributeValue::S("y".into()))
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:PutItem", e))
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.code().is_some(), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    // Scenario: nothing listens at the endpoint (an outage): the dispatch failure is transient,
    // so callers retry with backoff instead of dead-lettering.
    let dead = LocalEndpoints {
        sns: "http://127.0.0.1:9".into(),
        sqs: "http://127.0.0.1:9".into(),
        dynamodb: "http://127.0.0.1:9".into(),
        s3: "http://127.0.0.1:9".into(),
    };
    let clients = hub_aws::AwsClients::local(&dead).await;
    let err = clients
        .sns
        .list_topics()
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:ListTopics", e))
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_bridges_publish_batch_is_accepted_by_sns_fifo_included() {
    // Scenario: the bridge's own PublishBatch path (signed query body, no SDK orchestrator)
    // publishes ten entries to a standard and to a FIFO topic of the stand-in; SNS accepts
    // every entry (a FIFO topic rejects entries without a well-formed group id).
    use hub_bridge::ports::Publisher;
    let clients = clients().await;
    for fifo in [false, true] {
        let name = if fifo {
            format!("{}.fifo", unique("lean"))
        } else {
            unique("lean")
        };
        let mut create = clients.sns.create_topic().name(&name);
        if fifo {
            create = create.attributes("FifoTopic", "true");
        }
        let arn = create.send().await.unwrap().topic_arn.unwrap();
        let publisher = hub_aws::sns_publisher::SnsPublisher::new(&clients, &arn);
        let messages: Vec<_> = (0..10)
            .map(|i| hub_bridge::testing::message(i, "material", fifo))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let failures = publisher.publish_batch(&refs).await.unwrap();
        assert!(failures.is_empty(), "fifo={fifo}: {failures:?}");
    }
}

#[tokio::test]
async fn the_bridges_publish_batch_to_a_missing_topic_is_permanent_and_an_outage_transient() {
    // Scenario: a topic that does not exist is the caller's mistake (permanent, with SNS's
    // code); nothing listening at the endpoint is an outage (transient).
    use hub_bridge::ports::Publisher;
    let clients = clients().await;
    let missing = format!(
        "arn:aws:sns:us-east-1:123456789012:{}",
        unique("no-such-topic")
    );
    let publisher = hub_aws::sns_publisher::SnsPublisher::new(&clients, &missing);
    let m = hub_bridge::testing::message(0, "material", false);
    let err = publisher.publish_batch(&[&m]).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("NotFound"), "{err}");

    let dead = clients.with_sns_endpoint("http://127.0.0.1:9");
    let publisher = hub_aws::sns_publisher::SnsPublisher::new(&dead, &missing);
    let err = publisher.publish_batch(&[&m]).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
}
