//! `hubctl redrive` against the local stack: the redrive function of a DLQ, found in the
//! template by the DLQ's name or logical id, run from a shell. Needs the stack running.

mod common;

use common::hubctl_full;
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;

#[tokio::test]
async fn redrive_reports_then_moves_a_dlq_named_by_name_or_logical_id() {
    // Scenario: two letters in the customers DLQ: `--dry-run` (by logical id) reports both and
    // moves nothing; a run by queue name moves both; an unknown DLQ fails naming the known ones.
    let stack = format!("rdcli-{:08x}", fastrand::u32(..));
    let (code, _, _) = hubctl_full(&["provision", "--stack-name", &stack]);
    assert_eq!(code, 0);
    let clients = AwsClients::local(&LocalEndpoints::from_env()).await;
    let url = |name: &str| {
        let clients = clients.clone();
        let name = name.to_string();
        async move {
            clients
                .sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        }
    };
    let dlq = url(&format!("{stack}-customers-dlq")).await;
    for key in ["1", "2"] {
        clients
            .sqs
            .send_message()
            .queue_url(&dlq)
            .message_body(format!(r#"{{"entity":"customer","key":"{key}"}}"#))
            .send()
            .await
            .unwrap();
    }

    let (code, report, err) = hubctl_full(&[
        "redrive",
        "CustomersDLQ",
        "--dry-run",
        "--json",
        "--stack-name",
        &stack,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report[0]["dry_run"], true);
    assert_eq!(report[0]["totals"]["would_move"], 2);

    let name = format!("{stack}-customers-dlq");
    let (code, report, err) = hubctl_full(&["redrive", &name, "--json", "--stack-name", &stack]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report[0]["totals"]["moved"], 2);
    assert!(
        report[0]["destination"]
            .as_str()
            .unwrap()
            .ends_with("-customers")
    );

    let (code, _, err) = hubctl_full(&["redrive", "no-such-dlq", "--stack-name", &stack]);
    assert_ne!(code, 0);
    assert!(err.contains("known DLQs"), "{err}");
}
