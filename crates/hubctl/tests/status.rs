//! What a user sees from `hubctl provision` and the read-only commands against the local stack:
//! one summary line per resource kind, and answers without provisioning logs. Needs the stack
//! running (infra/local/test.sh starts it).

mod common;

use common::hubctl_as_user;

#[test]
fn provision_summarises_and_read_only_commands_print_only_their_answer() {
    // Scenario: `hubctl provision` prints a line per resource kind with counts and the status
    // line; `status` and `get` on the stack it made find its resources by their exact names,
    // print their answer and log nothing; `-vv` shows each resource resolved, and a read on a
    // stack never provisioned fails, naming the command to run, and creates nothing.
    let stack = format!("status-{:08x}", fastrand::u32(..));
    let (code, out, err) = hubctl_as_user(&["provision", "--stack-name", &stack]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    // Each object has its queue, its DLQ and its subscription; the bridge DLQ and the
    // change-stream DLQ are the extra queues; the changes, consolidated and alarm topics.
    let objects = hub_model::OBJECTS.len();
    let (queues, subscriptions) = (2 * objects + 2, objects);
    assert_eq!(
        lines[..7],
        [
            "topics: 3 (3 created)".to_string(),
            "topic policies: 2 (2 updated)".to_string(),
            format!("subscriptions: {subscriptions} ({subscriptions} created)"),
            format!("queues: {queues} ({queues} created)"),
            "queue policies: 1 (1 updated)".to_string(),
            "buckets: 1 (1 created)".to_string(),
            "tables: 1 (1 created)".to_string(),
        ],
        "{out}"
    );
    assert_eq!(
        lines.last(),
        Some(&"no drift: the stand-ins match the template")
    );
    assert!(
        lines.len() <= 12,
        "one line per kind, not per resource: {out}"
    );
    assert!(!err.contains("Resource provisioned"), "{err}");

    let (code, out, err) = hubctl_as_user(&["status", "--stack-name", &stack]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.trim().is_empty(), "status logs nothing: {err}");
    for queue in ["CustomersQueue", "CustomersDLQ", "BridgeDLQ"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(queue))
            .unwrap_or_else(|| panic!("{queue} in {out}"));
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            [queue, "0", "0"]
        );
    }
    assert!(out.lines().any(|l| l.starts_with("HubTable")), "{out}");

    let (code, out, err) = hubctl_as_user(&["get", "customer", "100123", "--stack-name", &stack]);
    assert_eq!((code, out.as_str(), err.as_str()), (3, "", "not found\n"));

    let (code, _, err) = hubctl_as_user(&["-vv", "status", "--stack-name", &stack]);
    assert_eq!(code, 0);
    assert!(
        err.contains("Resource resolved.") && !err.contains("Resource provisioned."),
        "{err}"
    );

    let absent = format!("{stack}-absent");
    let (code, out, err) = hubctl_as_user(&["status", "--stack-name", &absent]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(&format!("stack {absent} is not provisioned"))
            && err.contains(&format!(
                "run `hubctl provision --stack-name {absent}` first"
            )),
        "{err}"
    );
    let (code, out, _) = hubctl_as_user(&["provision", "--check", "--stack-name", &absent]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("queues: {queues} ({queues} missing)")),
        "status created nothing: {out}"
    );
}
