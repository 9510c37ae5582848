//! `hub-bench profile-report`: where the bridge's CPU goes, from a `perf` profile of
//! `hub-bench bench --bridge-only` (`infra/local/profile-bridge.sh` records it).
//!
//! The input is `perf script -F comm,tid,ip,sym,dso` of a profile recorded with call graphs
//! (`--call-graph dwarf`): one sample per block, a header line (thread name and id) and then its
//! frames, innermost first. Each sample is counted once, in three ways:
//!
//! - **part**: the part of [`PARTS`] of the innermost frame that belongs to one, by the path of
//!   its function (generic arguments left out: they name other crates' types). An allocation in
//!   the IDoc tree counts as IDoc parsing, a `writev` under hyper as HTTP, serde_json's writing
//!   under the message as serialising. librdkafka's own threads (`rdk:…`) count as librdkafka
//!   whatever their frames;
//! - **innermost frame**: in the allocator, the kernel, memory copies, or elsewhere; the allocator
//!   and the kernel serve every part;
//! - **function**: the innermost frame's symbol (the busiest functions, by their own time).
//!
//! With the bench's `bridge.json` (`--bench-json`), every share is also given in µs of CPU per
//! event: the share times the CPU per event that the bench measured.

use anyhow::Context as _;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// `hub-bench profile-report` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `perf script -F comm,tid,ip,sym,dso` output; `-` reads standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// The bench's `bridge.json` of the profiled runs: adds µs of CPU per event to each share.
    #[arg(long)]
    bench_json: Option<PathBuf>,
    /// Busiest functions listed.
    #[arg(long, default_value_t = 15)]
    top: usize,
}

/// The parts of the bridge. A frame belongs to the first part one of whose patterns its path
/// ([`path`]) contains, or, for a pattern starting with `^`, starts with.
pub const PARTS: &[(&str, &[&str])] = &[
    ("SigV4: SHA-256 of the body", &["sha2::", "sha256"]),
    (
        "PublishBatch body (percent-encoding)",
        &["sns_publisher::encode", "sns_publisher::request_body"],
    ),
    ("SigV4: the rest", &["aws_sigv4::"]),
    ("reading SNS's answer", &["sns_publisher::read_answer"]),
    ("HTTP (hyper) and its TCP", &["hyper::", "hyper_util::"]),
    (
        "serialising the event and its message",
        &["serde_json::ser", "hub_bridge::message::"],
    ),
    (
        "IDoc parsing and mapping",
        &["hub_sap::idoc", "hub_sap::parse_idoc", "quick_xml::"],
    ),
    (
        "CloudEvent parsing and mapping",
        &["hub_sap::cloudevent", "hub_sap::json"],
    ),
    ("SAP records, the rest", &["hub_sap::"]),
    ("routing", &["hub_bridge::route"]),
    (
        "the pipeline (chunks, batches, retries, breaker, metrics)",
        &[
            "hub_bridge::pipeline",
            "hub_bridge::batch",
            "hub_bridge::breaker",
            "hub_bridge::metrics",
        ],
    ),
    (
        "Kafka: receiving records, tracking offsets",
        &["hub_kafka::", "rdkafka::", "hub_bridge::offsets"],
    ),
    (LIBRDKAFKA, &["^rd_"]),
    ("tokio (scheduling, timers, I/O polling)", &["tokio::"]),
];

/// The part of librdkafka's C code, and of its own threads (`rdk:…`).
const LIBRDKAFKA: &str = "librdkafka";

/// What a sample's innermost frame is in.
const LEAVES: &[&str] = &["the allocator", "the kernel", "memory copies", "elsewhere"];

/// One frame: its symbol and whether it is the kernel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The symbol, without an offset (`[unknown]` when perf could not name it).
    pub symbol: String,
    /// In the kernel.
    pub kernel: bool,
}

/// One sample: the thread's name and its frames, innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// The thread's name (`tokio-rt-worker`, `rdk:broker1`…).
    pub thread: String,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
}

/// Reads `perf script -F comm,tid,ip,sym,dso` output.
pub fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut current: Option<Sample> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            out.extend(current.take().filter(|s| !s.frames.is_empty()));
        } else if line.starts_with('\t') {
            // `\t ffffffff813a4413 finish_task_switch.isra.0 ([kernel.kallsyms])`
            if let Some(sample) = current.as_mut() {
                sample.frames.push(frame(line.trim()));
            }
        } else {
            // A header: the thread's name (it may hold spaces) and its id.
            out.extend(current.take().filter(|s| !s.frames.is_empty()));
            let header = line.trim();
            let thread = match header.rsplit_once(char::is_whitespace) {
                Some((name, tid)) if tid.bytes().all(|b| b.is_ascii_digit()) => name.trim(),
                _ => header,
            };
            current = Some(Sample {
                thread: thread.to_string(),
                frames: Vec::new(),
            });
        }
    }
    out.extend(current.filter(|s| !s.frames.is_empty()));
    out
}

fn frame(line: &str) -> Frame {
    // Address, symbol (it may hold spaces), then the object in parentheses.
    let rest = line.split_once(' ').map_or("", |(_, r)| r.trim());
    let (symbol, object) = match rest.rsplit_once(" (") {
        Some((s, o)) if o.ends_with(')') => (s, &o[..o.len() - 1]),
        _ => (rest, ""),
    };
    let symbol = match symbol.rfind("+0x") {
        Some(at) => &symbol[..at],
        None => symbol,
    };
    Frame {
        symbol: if symbol.is_empty() {
            "[unknown]".to_string()
        } else {
            symbol.to_string()
        },
        kernel: object.contains("kernel.kallsyms"),
    }
}

fn matches(path: &str, pattern: &str) -> bool {
    match pattern.strip_prefix('^') {
        Some(prefix) => path.starts_with(prefix),
        None => path.contains(pattern),
    }
}

/// The path a frame's symbol names, without generic arguments (which name other crates' types):
/// `hyper::proto::h1::dispatch::Dispatcher` of `hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>
/// ::poll_write`, `serde_json::ser::Compound` of `<serde_json::ser::Compound<W,F> as
/// serde_core::ser::SerializeStruct>::serialize_field`, `poll` of an inlined `poll<…>`.
pub fn path(symbol: &str) -> &str {
    let (s, ends): (&str, &[char]) = match symbol.strip_prefix('<') {
        Some(rest) => (rest, &['<', '>', ' ']),
        None => (symbol, &['<']),
    };
    s.find(ends).map_or(s, |at| &s[..at])
}

/// The part of [`PARTS`] `sample` counts in, or `None` (other): the part of the innermost frame
/// whose path one of the parts matches (the first such part, in order, for that frame).
pub fn part(sample: &Sample) -> Option<&'static str> {
    if sample.thread.starts_with("rdk:") {
        return Some(LIBRDKAFKA);
    }
    sample.frames.iter().find_map(|f| {
        let p = path(&f.symbol);
        PARTS
            .iter()
            .find(|(_, patterns)| patterns.iter().any(|pattern| matches(p, pattern)))
            .map(|(name, _)| *name)
    })
}

/// What `sample`'s innermost frame is in (one of [`LEAVES`]).
pub fn leaf(sample: &Sample) -> &'static str {
    let Some(f) = sample.frames.first() else {
        return "elsewhere";
    };
    let s = f.symbol.as_str();
    let allocator = [
        "mi_",
        "_mi_",
        "__rust_alloc",
        "__rust_dealloc",
        "__rust_realloc",
    ]
    .iter()
    .any(|p| s.starts_with(p))
        || [
            "malloc",
            "calloc",
            "realloc",
            "_int_free",
            "__libc_free",
            "cfree",
        ]
        .iter()
        .any(|p| s.contains(p));
    if f.kernel {
        "the kernel"
    } else if allocator {
        "the allocator"
    } else if ["memmove", "memcpy", "memset"]
        .iter()
        .any(|p| s.contains(p))
    {
        "memory copies"
    } else {
        "elsewhere"
    }
}

/// The shares of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Samples read.
    pub samples: usize,
    /// Each part of [`PARTS`] that has samples, then `other`: (name, share of the samples).
    pub parts: Vec<(String, f64)>,
    /// Each of [`LEAVES`]: (name, share).
    pub leaves: Vec<(String, f64)>,
    /// The busiest functions by their own samples: (symbol, share).
    pub functions: Vec<(String, f64)>,
}

/// The report of `samples`, with the `top` busiest functions.
pub fn report(samples: &[Sample], top: usize) -> Report {
    let total = samples.len().max(1) as f64;
    let mut parts: HashMap<&str, usize> = HashMap::new();
    let mut leaves: HashMap<&str, usize> = HashMap::new();
    let mut functions: HashMap<&str, usize> = HashMap::new();
    for s in samples {
        *parts.entry(part(s).unwrap_or("other")).or_default() += 1;
        *leaves.entry(leaf(s)).or_default() += 1;
        if let Some(f) = s.frames.first() {
            *functions.entry(f.symbol.as_str()).or_default() += 1;
        }
    }
    let share = |n: usize| n as f64 / total;
    let mut part_rows: Vec<(String, f64)> = PARTS
        .iter()
        .map(|(name, _)| *name)
        .chain(["other"])
        .filter_map(|name| parts.get(name).map(|&n| (name.to_string(), share(n))))
        .collect();
    part_rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let leaf_rows = LEAVES
        .iter()
        .map(|name| {
            (
                name.to_string(),
                share(leaves.get(name).copied().unwrap_or(0)),
            )
        })
        .collect();
    let mut function_rows: Vec<(String, f64)> = functions
        .into_iter()
        .map(|(name, n)| (name.to_string(), share(n)))
        .collect();
    function_rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    function_rows.truncate(top);
    Report {
        samples: samples.len(),
        parts: part_rows,
        leaves: leaf_rows,
        functions: function_rows,
    }
}

/// `report` as Markdown tables; with `us_per_event` (µs of CPU per event), a column of µs.
pub fn markdown(report: &Report, us_per_event: Option<f64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Where the bridge's CPU goes ({} samples{})\n",
        report.samples,
        us_per_event.map_or(String::new(), |us| format!(
            ", {us:.1} µs of CPU per event in the bench"
        ))
    );
    let table = |out: &mut String, title: &str, rows: &[(String, f64)]| {
        let (head, rule) = match us_per_event {
            Some(_) => (" µs per event |", "---:|"),
            None => ("", ""),
        };
        let _ = writeln!(out, "| {title} | share |{head}\n|---|---:|{rule}");
        for (name, share) in rows {
            let name = name.replace('|', "\\|");
            let us = us_per_event.map_or(String::new(), |us| format!(" {:.2} |", share * us));
            let _ = writeln!(out, "| {name} | {:.1}% |{us}", share * 100.0);
        }
        out.push('\n');
    };
    table(&mut out, "part", &report.parts);
    table(&mut out, "innermost frame in", &report.leaves);
    table(&mut out, "function (own time)", &report.functions);
    out
}

/// µs of CPU per event of the bench's `bridge.json` (`cpu_seconds_per_100k`).
fn us_per_event(path: &PathBuf) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    // `bridge.json` of `--bridge-only`, or the whole bench's `bench.json`.
    let per_100k = [
        "/bridge/cpu_seconds_per_100k",
        "/bridge/hub/cpu_seconds_per_100k",
    ]
    .iter()
    .find_map(|p| json.pointer(p))
    .and_then(serde_json::Value::as_f64)
    .with_context(|| format!("{} has no cpu_seconds_per_100k", path.display()))?;
    Ok(per_100k * 10.0)
}

/// `hub-bench profile-report`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    if args.input.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
    } else {
        text = std::fs::read_to_string(&args.input)
            .with_context(|| format!("{}", args.input.display()))?;
    }
    let samples = samples(&text);
    if samples.is_empty() {
        anyhow::bail!(
            "no samples with call graphs in the input (perf script -F comm,tid,ip,sym,dso of a \
             profile recorded with --call-graph)"
        );
    }
    let us = args.bench_json.as_ref().map(us_per_event).transpose()?;
    print!("{}", markdown(&report(&samples, args.top), us));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four samples as `perf script -F comm,tid,ip,sym,dso` prints them.
    const SCRIPT: &str = "\
tokio-rt-worker  1245 
\tffffffff813a4413 finish_task_switch.isra.0 ([kernel.kallsyms])
\t    5566aa01 hyper::proto::h1::io::Buffered<T,B>::poll_flush+0x20 (/bin/hub-bench)
\t    5566aa02 hub_bridge::pipeline::Pipeline<P,D,C>::process::{{closure}} (/bin/hub-bench)

tokio-rt-worker  1245 
\t    5566bb01 sha2::sha256::x86::digest_blocks (/bin/hub-bench)
\t    5566bb02 aws_sigv4::http_request::sign::sign (/bin/hub-bench)
\t    5566bb03 hyper_util::client::legacy::client::Client<C,B>::send_request (/bin/hub-bench)

producer pollin  1258 
\t    5566cc01 _mi_page_malloc_zero (/bin/hub-bench)
\t    5566cc02 hub_sap::idoc::tree::open (/bin/hub-bench)
\t    5566cc03 hub_sap::parse_idoc (/bin/hub-bench)
\t    5566cc04 hub_bridge::route::route (/bin/hub-bench)

rdk:broker1  1259 
\t    5566dd01 [unknown] ([unknown])

hub-bench  1243 
\t    5566ee01 __memmove_avx512_unaligned_erms (/lib/libc.so.6)
\t    5566ee02 std::rt::lang_start (/bin/hub-bench)
";

    #[test]
    fn perf_script_output_is_read_into_samples() {
        // Scenario: thread names with spaces, offsets on symbols, kernel frames, an unnamed frame.
        let s = samples(SCRIPT);
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].thread, "tokio-rt-worker");
        assert_eq!(s[2].thread, "producer pollin");
        assert_eq!(
            s[0].frames[0],
            Frame {
                symbol: "finish_task_switch.isra.0".into(),
                kernel: true
            }
        );
        assert_eq!(
            s[0].frames[1].symbol,
            "hyper::proto::h1::io::Buffered<T,B>::poll_flush"
        );
        assert!(!s[0].frames[1].kernel);
        assert_eq!(s[3].frames[0].symbol, "[unknown]");
        assert_eq!(s[2].frames.len(), 4);
    }

    #[test]
    fn a_sample_counts_in_the_most_specific_part_of_its_stack() {
        // Scenario: a kernel frame under hyper (under the pipeline) is HTTP; the SHA-256 under
        // SigV4 under HTTP is SHA-256; an allocation in the IDoc tree under routing is IDoc
        // parsing; librdkafka's threads are librdkafka; the rest is other.
        let s = samples(SCRIPT);
        assert_eq!(part(&s[0]), Some("HTTP (hyper) and its TCP"));
        assert_eq!(part(&s[1]), Some("SigV4: SHA-256 of the body"));
        assert_eq!(part(&s[2]), Some("IDoc parsing and mapping"));
        assert_eq!(part(&s[3]), Some("librdkafka"));
        assert_eq!(part(&s[4]), None);
    }

    #[test]
    fn a_frame_is_known_by_its_path_not_its_generic_arguments() {
        assert_eq!(
            path("hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_write"),
            "hyper::proto::h1::dispatch::Dispatcher"
        );
        assert_eq!(
            path(
                "<serde_json::ser::Compound<W,F> as serde_core::ser::SerializeStruct>::serialize_field"
            ),
            "serde_json::ser::Compound"
        );
        assert_eq!(
            path(
                "<hub_aws::sns_publisher::SnsPublisher as hub_bridge::ports::Publisher>::publish_batch"
            ),
            "hub_aws::sns_publisher::SnsPublisher"
        );
        // An inlined generic function names other crates' types only in its arguments: the
        // chunk's task frees its records under a frame that names `hub_bridge::offsets::Lease`.
        assert_eq!(
            path("with_mut<tokio::runtime::task::core::Stage<Box<hub_bridge::offsets::Lease>>>"),
            "with_mut"
        );
        assert_eq!(
            path("finish_task_switch.isra.0"),
            "finish_task_switch.isra.0"
        );
        let sample = Sample {
            thread: "tokio-rt-worker".into(),
            frames: [
                "mi_free",
                "with_mut<hub_bridge::offsets::Lease>",
                "tokio::runtime::task::raw::poll",
            ]
            .iter()
            .map(|s| Frame {
                symbol: s.to_string(),
                kernel: false,
            })
            .collect(),
        };
        assert_eq!(
            part(&sample),
            Some("tokio (scheduling, timers, I/O polling)")
        );
    }

    #[test]
    fn innermost_frames_are_told_apart() {
        let s = samples(SCRIPT);
        let leaves: Vec<_> = s.iter().map(leaf).collect();
        assert_eq!(
            leaves,
            [
                "the kernel",
                "elsewhere",
                "the allocator",
                "elsewhere",
                "memory copies"
            ]
        );
    }

    #[test]
    fn the_report_gives_shares_and_microseconds_per_event() {
        let r = report(&samples(SCRIPT), 2);
        assert_eq!(r.samples, 5);
        let total: f64 = r.parts.iter().map(|(_, s)| s).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(r.parts.contains(&("other".to_string(), 0.2)));
        assert_eq!(r.leaves[0], ("the allocator".to_string(), 0.2));
        assert_eq!(r.functions.len(), 2);
        let md = markdown(&r, Some(20.0));
        assert!(
            md.contains("| SigV4: SHA-256 of the body | 20.0% | 4.00 |"),
            "{md}"
        );
        assert!(md.contains("20.0 µs of CPU per event"), "{md}");
        assert!(!markdown(&r, None).contains("µs per event"));
    }

    #[test]
    fn the_cpu_per_event_is_read_from_either_bench_file() {
        // Scenario: `bridge.json` of `--bridge-only` and the whole bench's `bench.json`.
        let dir = std::env::temp_dir().join(format!("hub-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let alone = dir.join("bridge.json");
        std::fs::write(&alone, r#"{"bridge":{"cpu_seconds_per_100k":2.5}}"#).unwrap();
        assert!((us_per_event(&alone).unwrap() - 25.0).abs() < 1e-9);
        let whole = dir.join("bench.json");
        std::fs::write(
            &whole,
            r#"{"bridge":{"hub":{"cpu_seconds_per_100k":2.0},"baseline":{"cpu_seconds_per_100k":99.0}}}"#,
        )
        .unwrap();
        assert!((us_per_event(&whole).unwrap() - 20.0).abs() < 1e-9);
        let neither = dir.join("other.json");
        std::fs::write(&neither, "{}").unwrap();
        let e = us_per_event(&neither).unwrap_err().to_string();
        assert!(e.contains("no cpu_seconds_per_100k"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_input_without_call_graphs_has_no_samples() {
        assert!(samples("").is_empty());
        assert!(samples("tokio-rt-worker 1\n\n").is_empty());
    }
}
