//! `template.yaml` is what its definition in `infra/template/` generates, and generating it
//! changed no resource of the objects the hand-written template had.

use hub_template::Template;
use hub_template::generate::{self, BASE, COMMAND, DIR, OBJECT, Object};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn template_yaml_is_what_its_definition_generates() {
    // Scenario: the checked-in template.yaml is exactly what infra/template/ renders; an edit of
    // one without the other fails here, saying what to run.
    let generated = generate::render(&root().join(DIR)).unwrap_or_else(|e| panic!("{DIR}: {e}"));
    let checked_in = read(root().join("template.yaml"));
    if checked_in != generated {
        let (n, (a, b)) = checked_in
            .lines()
            .chain(std::iter::repeat("<end of file>"))
            .zip(generated.lines().chain(std::iter::repeat("<end of file>")))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .expect("texts that differ differ in a line");
        panic!(
            "template.yaml is not what {DIR}/ generates; first difference at line {}:\n  \
             template.yaml: {a}\n  generated:     {b}\n\
             Edit {DIR}/ (not template.yaml), then run `{COMMAND}`.",
            n + 1
        );
    }
}

/// `<logical id> <type>` of every resource, then `<name> Output` of every output.
fn resource_list(text: &str) -> Vec<String> {
    let t = Template::parse(text).expect("the generated template parses");
    t.resources
        .iter()
        .map(|r| format!("{} {}", r.logical_id, r.kind))
        .chain(t.outputs.keys().map(|o| format!("{o} Output")))
        .collect()
}

/// The entries of `list` that belong to `stem`, with the stem taken off.
fn own(list: &[String], stem: &str) -> BTreeSet<String> {
    list.iter()
        .filter_map(|l| l.strip_prefix(stem))
        .map(str::to_string)
        .collect()
}

/// What the shared part gained since the hand-written template, by design and for no object: the
/// bridge's Kafka event source mappings (in place of SAM's Kafka events, for a consumer group
/// each and the MSK event source) and the bucket's TLS-only policy. The functions' roles, implicit
/// then, are the template's own now, under the same logical ids.
const ADDED_TO_THE_SHARED_PART: &[&str] = &[
    "ClaimCheckBucketPolicy AWS::S3::BucketPolicy",
    "KafkaBridgeMatmasSource AWS::Lambda::EventSourceMapping",
    "KafkaBridgeDebmasSource AWS::Lambda::EventSourceMapping",
    "KafkaBridgeOrdersSource AWS::Lambda::EventSourceMapping",
    "KafkaBridgeCremasSource AWS::Lambda::EventSourceMapping",
    "KafkaBridgeS4EventsSource AWS::Lambda::EventSourceMapping",
    // The consolidated change stream, its DLQ and redrive, the backfill (issue: domains onboard
    // themselves).
    "ConsolidatedTopic AWS::SNS::Topic",
    "ConsolidatedTopicPolicy AWS::SNS::TopicPolicy",
    "ChangeStreamDLQ AWS::SQS::Queue",
    "ChangeStream AWS::Serverless::Function",
    "ChangeStreamRole AWS::IAM::Role",
    "ChangeStreamRedrive AWS::Serverless::Function",
    "ChangeStreamRedriveRole AWS::IAM::Role",
    "Backfill AWS::Serverless::Function",
    "BackfillRole AWS::IAM::Role",
    "ChangeStreamLogs AWS::Logs::LogGroup",
    "BackfillLogs AWS::Logs::LogGroup",
    "ChangeStreamRedriveLogs AWS::Logs::LogGroup",
    "ChangeStreamDlqAlarm AWS::CloudWatch::Alarm",
    "ChangeStreamIteratorAgeAlarm AWS::CloudWatch::Alarm",
    "ChangeStreamErrorsAlarm AWS::CloudWatch::Alarm",
    "ConsolidatedTopicArn Output",
    "ChangeStreamDlqUrl Output",
    "ChangeStreamRedriveFunction Output",
    "BackfillFunction Output",
    // The S/4 enricher, its queue, DLQ, redrive, alarms and outputs (issue: thin events made
    // whole).
    "EnricherDLQ AWS::SQS::Queue",
    "EnricherQueue AWS::SQS::Queue",
    "EnricherSubscription AWS::SNS::Subscription",
    "EnricherQueuePolicy AWS::SQS::QueuePolicy",
    "S4Enricher AWS::Serverless::Function",
    "S4EnricherRole AWS::IAM::Role",
    "EnricherRedrive AWS::Serverless::Function",
    "EnricherRedriveRole AWS::IAM::Role",
    "S4EnricherLogs AWS::Logs::LogGroup",
    "EnricherRedriveLogs AWS::Logs::LogGroup",
    "EnricherDlqAlarm AWS::CloudWatch::Alarm",
    "S4BreakerAlarm AWS::CloudWatch::Alarm",
    "EnricherQueueAgeAlarm AWS::CloudWatch::Alarm",
    "S4EnricherErrorsAlarm AWS::CloudWatch::Alarm",
    "EnricherNotFoundAlarm AWS::CloudWatch::Alarm",
    "EnricherRedriveErrorsAlarm AWS::CloudWatch::Alarm",
    "EnricherQueueUrl Output",
    "EnricherDlqUrl Output",
    "EnricherRedriveFunction Output",
];

#[test]
fn the_objects_of_the_hand_written_template_keep_exactly_their_resources() {
    // Scenario: rendered with the three objects it had, the generated template has exactly the
    // resources (types included) and outputs of the hand-written one, and what the shared part
    // gained by design (ADDED_TO_THE_SHARED_PART); with every object, it has
    // those and, for each object added since, the same resources and outputs as customers under
    // its own stem, nothing else.
    let dir = root().join(DIR);
    let objects: Vec<Object> = generate::objects(&dir).unwrap();
    let domains: Vec<&str> = objects.iter().map(Object::domain).collect();
    assert_eq!(domains[..3], ["customers", "materials", "sales-orders"]);
    let before: Vec<String> =
        read(root().join("crates/hub-template/tests/fixtures/template-resources-before.txt"))
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect();

    let three = generate::render_with(
        &read(dir.join(BASE)),
        &read(dir.join(OBJECT)),
        &objects[..3],
    )
    .unwrap();
    let before: Vec<String> = before
        .into_iter()
        .chain(ADDED_TO_THE_SHARED_PART.iter().map(|s| s.to_string()))
        .collect();
    let before_set: BTreeSet<&String> = before.iter().collect();
    let three = resource_list(&three);
    assert_eq!(three.len(), before.len(), "{three:?}");
    assert_eq!(three.iter().collect::<BTreeSet<_>>(), before_set);

    let all = resource_list(&read(root().join("template.yaml")));
    let added: Vec<String> = all
        .iter()
        .filter(|l| !before_set.contains(l))
        .cloned()
        .collect();
    assert!(
        before.iter().all(|l| all.contains(l)),
        "template.yaml lost resources of the hand-written template"
    );
    let customers = own(&before, "Customers");
    // Twelve resources, the two functions' implicit roles, three outputs.
    assert_eq!(customers.len(), 17, "{customers:?}");
    let mut accounted = 0;
    for o in &objects[3..] {
        assert_eq!(own(&added, o.stem()), customers, "{}", o.stem());
        accounted += customers.len();
    }
    assert_eq!(accounted, added.len(), "resources of no object: {added:?}");
}
