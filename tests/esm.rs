//! The local SQS event source mapping against the SQS stand-in: partial batch responses, whole
//! batch failure on a function error or timeout, malformed responses, batch size and batching
//! window, maximum concurrency, the queue's redrive to its DLQ, and configuration from a template.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use hub_integration_tests::*;
use hub_local::function::raw_fn;
use hub_local::{
    EsmConfig, EsmError, FunctionError, LocalFunction, SqsEventSourceMapping, handler_fn,
};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One record as the function saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: String,
    body: String,
    receive_count: u32,
}

/// Every invocation's records, in order.
#[derive(Default)]
struct Log(Mutex<Vec<Vec<Seen>>>);

impl Log {
    fn record(&self, payload: &Value) -> Vec<Seen> {
        let batch: Vec<Seen> = payload["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Seen {
                id: r["messageId"].as_str().unwrap().to_string(),
                body: r["body"].as_str().unwrap().to_string(),
                receive_count: r["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            })
            .collect();
        self.0.lock().unwrap().push(batch.clone());
        batch
    }
    fn batches(&self) -> Vec<Vec<Seen>> {
        self.0.lock().unwrap().clone()
    }
    fn times_seen(&self, body: &str) -> usize {
        self.batches()
            .iter()
            .flatten()
            .filter(|s| s.body == body)
            .count()
    }
}

/// A function that records every batch in `log` and answers `answer(call number, batch)`.
fn scripted(
    log: &Arc<Log>,
    answer: impl Fn(usize, &[Seen]) -> Result<Value, FunctionError> + Send + Sync + 'static,
) -> Arc<dyn LocalFunction> {
    let log = log.clone();
    let calls = AtomicUsize::new(0);
    raw_fn(move |payload, _| {
        let batch = log.record(&payload);
        let result = answer(calls.fetch_add(1, Ordering::SeqCst), &batch);
        async move { result }
    })
}

struct Running {
    token: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), EsmError>>,
    stats: Arc<hub_local::EsmStats>,
}

impl Running {
    async fn stop(self) {
        self.token.cancel();
        self.task.await.unwrap().unwrap();
    }
}

fn start(config: EsmConfig, sqs: aws_sdk_sqs::Client, f: Arc<dyn LocalFunction>) -> Running {
    let esm = SqsEventSourceMapping::new(config, sqs, f).unwrap();
    let stats = esm.stats();
    let token = CancellationToken::new();
    let task = tokio::spawn(esm.run(token.clone()));
    Running { token, task, stats }
}

fn bodies(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

async fn drained(clients: &hub_aws::AwsClients, url: &str) {
    eventually(
        "the queue to drain",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async { (depth(clients, url).await == (0, 0)).then_some(()) },
    )
    .await
}

fn config(url: &str, arn: &str) -> EsmConfig {
    let mut c = EsmConfig::new("TestFunction", url, arn);
    c.function_timeout = Duration::from_secs(1);
    c
}

#[tokio::test]
async fn partial_batch_response_deletes_only_the_successes() {
    // Scenario: with ReportBatchItemFailures, the messages the function names as failed stay
    // and come back after the visibility timeout; the others are deleted and never seen again.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("partial"), 3, 5).await;
    let mut msgs = bodies("ok", 3);
    msgs.extend(bodies("fail", 2));
    send_all(&clients, &url, &msgs).await;
    let log = Arc::new(Log::default());
    let f = scripted(&log, |_, batch| {
        let failures: Vec<Value> = batch
            .iter()
            .filter(|s| s.body.starts_with("fail") && s.receive_count == 1)
            .map(|s| json!({"itemIdentifier": s.id}))
            .collect();
        Ok(json!({ "batchItemFailures": failures }))
    });
    let mut c = config(&url, &arn);
    c.report_batch_item_failures = true;
    c.batching_window = Duration::from_secs(1);
    let run = start(c, clients.sqs.clone(), f);
    drained(&clients, &url).await;
    let stats = run.stats.snapshot();
    run.stop().await;
    for b in bodies("ok", 3) {
        assert_eq!(
            log.times_seen(&b),
            1,
            "{b} was deleted after its first success"
        );
    }
    for b in bodies("fail", 2) {
        assert_eq!(log.times_seen(&b), 2, "{b} stayed and came back once");
    }
    assert_eq!(stats.item_failures, 2);
    assert_eq!(stats.deleted, 5);
}

#[tokio::test]
async fn a_function_error_fails_the_whole_batch() {
    // Scenario: the first invocation returns an error: none of its messages is deleted, all
    // come back (receive count 2) and are deleted after the next, successful, invocation.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("fnerr"), 3, 5).await;
    send_all(&clients, &url, &bodies("m", 4)).await;
    let log = Arc::new(Log::default());
    let f = scripted(&log, |call, _| {
        if call == 0 {
            Err(FunctionError::Failed {
                error_type: "Boom".into(),
                error_message: "first call fails".into(),
            })
        } else {
            // Partial-batch format, but nothing failed: all deleted.
            Ok(json!({"batchItemFailures": []}))
        }
    });
    let mut c = config(&url, &arn);
    c.report_batch_item_failures = true;
    c.batching_window = Duration::from_secs(1);
    let run = start(c, clients.sqs.clone(), f);
    drained(&clients, &url).await;
    let stats = run.stats.snapshot();
    run.stop().await;
    let batches = log.batches();
    let first = &batches[0];
    assert!(!first.is_empty());
    for s in first {
        assert_eq!(
            log.times_seen(&s.body),
            2,
            "{} came back after the error",
            s.body
        );
        let again = batches[1..]
            .iter()
            .flatten()
            .find(|x| x.body == s.body)
            .unwrap();
        assert_eq!(again.receive_count, 2);
    }
    assert_eq!(stats.function_errors, 1);
    assert_eq!(stats.deleted, 4);
}

#[tokio::test]
async fn a_malformed_response_deletes_nothing() {
    // Scenario: a response naming an id that is not in the batch, then one with an empty
    // itemIdentifier, each fail the whole batch (nothing deleted); the third answer is a
    // success and only then are the messages deleted.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("malformed"), 3, 10).await;
    send_all(&clients, &url, &bodies("m", 3)).await;
    let log = Arc::new(Log::default());
    let f = scripted(&log, |call, _| {
        Ok(match call {
            0 => json!({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}),
            1 => json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            _ => json!({}),
        })
    });
    let mut c = config(&url, &arn);
    c.report_batch_item_failures = true;
    c.batching_window = Duration::from_secs(1);
    let run = start(c, clients.sqs.clone(), f);
    drained(&clients, &url).await;
    let stats = run.stats.snapshot();
    run.stop().await;
    let batches = log.batches();
    let first: Vec<_> = batches[0].iter().map(|s| s.body.clone()).collect();
    for b in &first {
        assert!(
            log.times_seen(b) >= 2,
            "{b} was not deleted after a malformed response"
        );
    }
    assert_eq!(stats.malformed_responses, 2);
    assert_eq!(stats.deleted, 3);
}

#[tokio::test]
async fn without_report_batch_item_failures_a_partial_response_is_ignored() {
    // Scenario: the function lists every message as failed, but the mapping does not have
    // ReportBatchItemFailures: the invocation succeeded, so the whole batch is deleted.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("noreport"), 1, 5).await;
    send_all(&clients, &url, &bodies("m", 3)).await;
    let log = Arc::new(Log::default());
    let f = scripted(&log, |_, batch| {
        let all: Vec<Value> = batch
            .iter()
            .map(|s| json!({"itemIdentifier": s.id}))
            .collect();
        Ok(json!({ "batchItemFailures": all }))
    });
    let run = start(config(&url, &arn), clients.sqs.clone(), f);
    drained(&clients, &url).await;
    run.stop().await;
    for b in bodies("m", 3) {
        assert_eq!(log.times_seen(&b), 1);
    }
}

#[tokio::test]
async fn batch_size_and_batching_window_shape_the_batches() {
    // Scenario: BatchSize 20 with a 2 s window gathers 25 waiting messages as 20 (over several
    // ReceiveMessage calls of at most 10) and then 5; a message that arrives within the window
    // of a started batch joins it.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("batch"), 10, 5).await;
    send_all(&clients, &url, &bodies("m", 25)).await;
    let log = Arc::new(Log::default());
    let f = scripted(&log, |_, _| Ok(Value::Null));
    let mut c = config(&url, &arn);
    c.batch_size = 20;
    c.batching_window = Duration::from_secs(2);
    c.maximum_concurrency = Some(2);
    let run = start(c, clients.sqs.clone(), f);
    drained(&clients, &url).await;
    let sizes: Vec<usize> = log.batches().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![20, 5]);

    // The window: two messages start a batch, three more sent while it gathers join it.
    send_all(&clients, &url, &bodies("early", 2)).await;
    let stats = run.stats.clone();
    eventually(
        "the early messages to be received",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let stats = stats.clone();
            async move { (stats.snapshot().received >= 27).then_some(()) }
        },
    )
    .await;
    send_all(&clients, &url, &bodies("late", 3)).await;
    drained(&clients, &url).await;
    run.stop().await;
    let batches = log.batches();
    assert_eq!(batches.len(), 3, "{batches:?}");
    assert_eq!(
        batches[2].len(),
        5,
        "the late messages joined the open batch"
    );
}

#[tokio::test]
async fn maximum_concurrency_bounds_parallel_invocations() {
    // Scenario: with MaximumConcurrency 3 and slow invocations of one message each, three run
    // at once and never more.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("conc"), 10, 5).await;
    send_all(&clients, &url, &bodies("m", 9)).await;
    let f = raw_fn(|_, _| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(Value::Null)
    });
    let mut c = config(&url, &arn);
    c.batch_size = 1;
    c.maximum_concurrency = Some(3);
    let run = start(c, clients.sqs.clone(), f);
    drained(&clients, &url).await;
    let stats = run.stats.snapshot();
    run.stop().await;
    assert_eq!(stats.invocations, 9);
    assert_eq!(stats.max_in_flight, 3);
}

#[tokio::test]
async fn a_timeout_fails_the_batch_and_the_redrive_policy_dead_letters() {
    // Scenario: a function that runs past its timeout fails its batch; a message that keeps
    // failing is moved by SQS to the DLQ after maxReceiveCount (2) receives, body unchanged, and
    // the function saw it exactly twice.
    let clients = clients().await;
    let (url, arn, dlq) = queue_with_dlq(&clients, &unique("timeout"), 2, 2).await;
    send_all(&clients, &url, &["stuck".to_string()]).await;
    let log = Arc::new(Log::default());
    let l = log.clone();
    let f = raw_fn(move |payload, _| {
        l.record(&payload);
        async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Value::Null)
        }
    });
    let run = start(config(&url, &arn), clients.sqs.clone(), f);
    let moved = eventually(
        "the message in the DLQ",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async {
            let m = receive(&clients, &dlq).await;
            (!m.is_empty()).then_some(m)
        },
    )
    .await;
    let stats = run.stats.snapshot();
    run.stop().await;
    assert_eq!(moved[0].body(), Some("stuck"));
    assert_eq!(log.times_seen("stuck"), 2);
    assert_eq!(stats.function_errors, 2);
    assert_eq!(stats.deleted, 0);
}

#[tokio::test]
async fn mappings_come_from_the_template_and_run_typed_handlers() {
    // Scenario: the mapping of a function's SQS event in a template is read with its settings,
    // and drives a typed lambda_runtime handler (the same signature the Lambda binaries use).
    let clients = clients().await;
    let template: &'static hub_template::Template = Box::leak(Box::new(
        hub_template::Template::from_path(repo_root().join("tests/fixtures/esm-template.yaml"))
            .unwrap(),
    ));
    let (_, ctx) = provision(&clients, template, &unique("esmtpl"), &[]).await;
    let configs = EsmConfig::from_template(&ctx).unwrap();
    assert_eq!(configs.len(), 1);
    let c = configs[0].clone();
    assert_eq!(c.function, "WorkFunction");
    assert_eq!(c.queue_url, ctx.physical("WorkQueue").unwrap().reference);
    assert_eq!(c.batch_size, 5);
    assert_eq!(c.batching_window, Duration::from_secs(1));
    assert!(c.report_batch_item_failures);
    assert_eq!(c.maximum_concurrency, Some(2));
    assert_eq!(c.function_timeout, Duration::from_secs(4));

    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = sizes.clone();
    let f = handler_fn(move |event: LambdaEvent<SqsEvent>| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(event.payload.records.len());
            let mut response = SqsBatchResponse::default();
            for r in &event.payload.records {
                if r.body.as_deref() == Some("bad") {
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = r.message_id.clone().unwrap_or_default();
                    response.batch_item_failures.push(f);
                }
            }
            Ok::<_, lambda_runtime::Error>(response)
        }
    });
    let url = c.queue_url.clone();
    let run = start(c, clients.sqs.clone(), f);
    send_all(&clients, &url, &bodies("m", 7)).await;
    let stats = run.stats.clone();
    eventually(
        "seven deletions",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let stats = stats.clone();
            async move { (stats.snapshot().deleted == 7).then_some(()) }
        },
    )
    .await;
    run.stop().await;
    let sizes = sizes.lock().unwrap().clone();
    assert!(sizes.iter().all(|n| *n <= 5), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 7);
}

#[tokio::test]
async fn a_visibility_timeout_shorter_than_the_function_timeout_is_refused() {
    // Scenario: as AWS does, the mapping refuses to start when the function could still be
    // running after its messages became visible again.
    let clients = clients().await;
    let (url, arn, _) = queue_with_dlq(&clients, &unique("vis"), 1, 5).await;
    let mut c = config(&url, &arn);
    c.function_timeout = Duration::from_secs(30);
    let esm = SqsEventSourceMapping::new(
        c,
        clients.sqs.clone(),
        raw_fn(|_, _| async { Ok(Value::Null) }),
    )
    .unwrap();
    let err = esm.run(CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, EsmError::VisibilityTooShort { .. }), "{err}");
}
