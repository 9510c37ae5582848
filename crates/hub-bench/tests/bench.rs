//! `hub-bench bench` end to end, small: every phase runs against the real parts (embedded Kafka,
//! the fake SNS, moto and DynamoDB Local through the counting proxy, the Python baseline), and
//! the figures it writes hold what they claim.

mod common;

use serde_json::Value;
use std::sync::Mutex;

/// The benches measure CPU time on a shared machine: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn figure<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["figure"].as_str().is_some_and(|f| f.contains(name)))
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn bench_measures_hub_and_baseline_and_writes_table_json_and_chart() {
    // Scenario: a small bench (1,000 records for the bridges, 100 for the handler, 40 end to
    // end, one extra hub run without batching window, two cold starts per function). The naive
    // baseline publishes once per event, the competent one and the hub in batches, as counted
    // at the endpoints; neither the hub nor the competent baseline loses a change; every side's
    // latency and hops are measured; the floor, the cold starts and both charts are written.
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile_dir("whole");
    let out_s = out.to_str().unwrap();
    // The functions' debug builds beside hub-bench (the workspace build makes them): the cold
    // start phase runs on them (its figures say nothing of release builds; the mechanism is
    // what is tested).
    let functions_dir = std::path::Path::new(env!("CARGO_BIN_EXE_hub-bench"))
        .parent()
        .unwrap()
        .to_path_buf();
    let (code, _, stderr) = common::hub_bench(&[
        "bench",
        "--records",
        "1000",
        "--baseline-records",
        "200",
        "--handler-records",
        "100",
        "--e2e-records",
        "40",
        "--e2e-keys",
        "5",
        "--burst",
        "20",
        "--interval-ms",
        "500",
        "--settle-s",
        "10",
        "--windows-ms",
        "0",
        "--functions-dir",
        functions_dir.to_str().unwrap(),
        "--cold-starts",
        "2",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();

    // Bridges alone, counted at the fake SNS: full batches of ten against one call per event.
    let hub = &json["bridge"]["hub"];
    assert_eq!(hub["events"], 1000);
    assert!(
        (hub["sns_calls_per_event"].as_f64().unwrap() - 0.1).abs() < 0.01,
        "{hub}"
    );
    // Three runs of the hub's bridge (the default), each over the whole load; the figures are
    // the median run's.
    let mut runs: Vec<f64> = hub["runs_events_per_cpu_second"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_f64().unwrap())
        .collect();
    assert_eq!(runs.len(), 3, "{hub}");
    runs.sort_by(f64::total_cmp);
    assert_eq!(hub["events_per_cpu_second"].as_f64().unwrap(), runs[1]);
    // Its clocks start at its first chunk, as the baseline's at its first record: the consumer
    // group's join (about 3 s on the embedded Kafka) is not in its wall time.
    let wall = hub["wall_seconds"].as_f64().unwrap();
    assert!(wall > 0.0 && wall < 2.0, "{hub}");
    let base = &json["bridge"]["baseline"];
    assert_eq!(base["events"], 200);
    assert_eq!(base["sns_calls"], 200);

    // End to end, counted at the proxy.
    let e_hub = &json["end_to_end"]["hub"];
    let e_base = &json["end_to_end"]["baseline"];
    let e_comp = &json["end_to_end"]["competent"];
    assert_eq!(e_hub["never_visible"], 0, "the hub loses no change");
    assert_eq!(
        e_comp["never_visible"], 0,
        "the competent baseline guards versions"
    );
    assert_eq!(e_base["requests"]["sns"]["Publish"]["requests"], 40);
    assert_eq!(e_base["requests"]["dynamodb"]["PutItem"]["requests"], 40);
    assert_eq!(e_base["requests"]["sqs"]["DeleteMessage"]["requests"], 40);
    // The competent baseline: batches to SNS and to SQS deletes, no single publish or delete.
    assert!(
        e_comp["requests"]["sns"]["PublishBatch"]["requests"]
            .as_u64()
            .unwrap()
            < 40
    );
    assert!(
        e_comp["requests"]["sns"].get("Publish").is_none(),
        "{e_comp}"
    );
    assert!(
        e_comp["requests"]["sqs"].get("DeleteMessage").is_none(),
        "{e_comp}"
    );
    assert!(
        e_comp["requests"]["sqs"]["DeleteMessageBatch"]["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    let comp_bridge = &json["bridge"]["competent"];
    assert_eq!(comp_bridge["events"], 200);
    assert!(
        comp_bridge["sns_calls"].as_u64().unwrap() < 200,
        "{comp_bridge}"
    );
    // Where the time goes: every side's changes were seen arriving in SQS by the probe.
    for side in [e_hub, e_base, e_comp] {
        let to_queue = &side["hops"]["to_queue_ms"];
        assert!(to_queue["samples"].as_u64().unwrap() > 0, "{side}");
        assert!(
            to_queue["p50"].as_f64().unwrap() <= side["latency_ms"]["p99"].as_f64().unwrap(),
            "{side}"
        );
    }
    assert!(e_hub["hops"]["invocation_ms"]["samples"].as_u64().unwrap() > 0);
    // The window sweep: one run with no batching window; the floor; the cold starts.
    let windows = json["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["window_ms"], 0);
    assert_eq!(windows[0]["end_to_end"]["never_visible"], 0);
    assert!(json["floor"]["write_units"].as_u64().unwrap() > 0);
    let floor = figure(rows, "multiple of the floor");
    assert!(floor["hub"].as_f64().unwrap() >= 1.0, "{floor}");
    let cold = json["cold_start"].as_array().unwrap();
    assert_eq!(cold[0]["function"], "hello-lambda");
    assert!(
        cold.iter()
            .all(|c| c["init_ms"]["median"].as_f64().unwrap() > 0.0)
    );
    assert!(cold.iter().any(|c| c["function"] == "customer-sync"));
    let hub_publishes = e_hub["requests"]["sns"]["PublishBatch"]["requests"]
        .as_u64()
        .unwrap();
    assert!((4..40).contains(&hub_publishes), "{hub_publishes}");
    assert!(e_hub["lambda_invocations"].as_u64().unwrap() >= 3);
    for side in [e_hub, e_base] {
        let l = &side["latency_ms"];
        assert!(l["samples"].as_u64().unwrap() > 0, "{side}");
        assert!(l["p50"].as_f64().unwrap() > 0.0);
        assert!(l["p50"].as_f64().unwrap() <= l["p99"].as_f64().unwrap());
    }

    // The table: hub, baselines and the ratios.
    let r = figure(rows, "SNS requests per event");
    let ratio = r["ratio"].as_f64().unwrap();
    assert!((ratio - 0.1).abs() < 0.01, "{r}");
    let total = figure(rows, "total");
    assert!(total["hub"].as_f64().unwrap() > 0.0 && total["baseline"].as_f64().unwrap() > 0.0);
    let handler = &json["handler"]["hub"];
    assert_eq!(handler["records"], 100);
    assert!(handler["cpu_us_per_record"].as_f64().unwrap() > 0.0);
    assert!(
        handler["dynamodb_writes"].as_u64().unwrap()
            >= handler["distinct_entities"].as_u64().unwrap()
    );

    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains(
        "| figure | hub | naive baseline | competent baseline | hub / naive | hub / competent |"
    ));
    assert!(md.contains("### Targets") && md.contains("### Cold start and size"));
    assert_eq!(
        &std::fs::read(out.join("windows.png")).unwrap()[..8],
        b"\x89PNG\r\n\x1a\n"
    );
    let png = std::fs::read(out.join("bench.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bridge_only_prints_the_bridge_s_table_and_writes_bridge_json() {
    // Scenario: `--bridge-only`, one run of 1,000 records: no stand-ins, no baseline; the table
    // on stdout and bridge.json hold the hub bridge's figures, full batches of ten at the fake SNS.
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile_dir("bridge-only");
    let (code, stdout, stderr) = common::hub_bench(&[
        "bench",
        "--bridge-only",
        "--records",
        "1000",
        "--bridge-runs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Bridge alone (1000 records of the fixture mix"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| SNS calls per event | 0.100 |"),
        "{stdout}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("bridge.json")).unwrap()).unwrap();
    assert_eq!(json["bridge"]["events"], 1000);
    assert_eq!(json["bridge"]["sns_calls"], 100);
    assert!(json["bridge"].get("runs_events_per_cpu_second").is_none());
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(!out.join("bench.json").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn the_reconcile_bench_reads_each_key_once_in_batches_and_compares_with_its_peers() {
    // Scenario: 1,000 changes over 250 keys against DynamoDB Local: the hub reads each key
    // once, 100 per request (3 requests), the competent peer once per key (250 GetItem), the
    // naive one once per sampled change; every change is found applied (the bench fails
    // otherwise); read units are DynamoDB's own.
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile_dir("reconcile");
    let json_path = out.join("reconcile.json");
    let (code, stdout, stderr) = common::hub_bench(&[
        "reconcile",
        "--changes",
        "1000",
        "--keys",
        "250",
        "--naive-sample",
        "50",
        "--out",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("hub (BatchGetItem 100 keys"), "{stdout}");
    let json: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(json["hub"]["requests"], 3);
    assert_eq!(json["peer"]["requests"], 250);
    assert_eq!(json["naive"]["requests"], 50);
    // Eventually consistent reads of small items: half a unit per key, for hub and peer alike.
    assert_eq!(json["hub"]["read_units"], json["peer"]["read_units"]);
    assert!(json["hub"]["read_units"].as_f64().unwrap() > 0.0);
    assert!(json["hub_vs_peer"].as_f64().unwrap() > 0.0);
    std::fs::remove_dir_all(&out).ok();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hub-bench-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
