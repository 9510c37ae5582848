//! The bench charts (plotters, with DejaVu Sans from Debian's `fonts-dejavu-core`):
//! `bench.png`, end-to-end latency percentiles and bridge throughput, hub vs the two baselines;
//! `windows.png`, latency against cost for each batching window of the domain mappings.

use anyhow::{Context as _, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const HUB: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const BASELINE: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const COMPETENT: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

/// What the chart shows.
pub struct Figures {
    /// Latency p50, p95, p99 in ms: hub.
    pub hub_latency: [f64; 3],
    /// Latency p50, p95, p99 in ms: naive baseline.
    pub baseline_latency: [f64; 3],
    /// Latency p50, p95, p99 in ms: competent baseline.
    pub competent_latency: [f64; 3],
    /// Bridge events/s per core: hub, naive baseline, competent baseline.
    pub throughput: [f64; 3],
}

/// One point of the latency/cost chart.
pub struct Point {
    /// Its label.
    pub label: String,
    /// Cost per million events, USD.
    pub cost: f64,
    /// Latency p50, ms.
    pub p50: f64,
    /// Latency p99, ms.
    pub p99: f64,
}

fn font() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = std::fs::read(FONT)
            .map_err(|e| format!("{FONT}: {e} (apt: fonts-dejavu-core; infra/local/install.sh)"))?;
        plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into()))
            .map_err(|_| format!("{FONT} is not a usable font"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// One bar chart: labelled bars, each in its colour, the value above it.
fn bars(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    bars: &[(String, f64, RGBColor)],
) -> anyhow::Result<()> {
    let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing the chart: {e:?}");
    let max = bars.iter().fold(1.0f64, |a, b| a.max(b.1)) * 1.15;
    let n = bars.len() as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(75)
        // A segmented range of 0..n-1 has n segments (the end is a segment of its own).
        .build_cartesian_2d((0u32..n.saturating_sub(1)).into_segmented(), 0.0f64..max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars
                .get(*i as usize)
                .map(|b| b.0.clone())
                .unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            Histogram::vertical(&chart)
                .margin(12)
                .style_func(|x, _| match x {
                    SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars
                        .get(*i as usize)
                        .map_or(BLACK.filled(), |b| b.2.filled()),
                    SegmentValue::Last => BLACK.filled(),
                })
                .data(bars.iter().enumerate().map(|(i, b)| (i as u32, b.1))),
        )
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                format!("{:.0}", b.1),
                (SegmentValue::CenterOf(i as u32), b.1 + max * 0.04),
                ("sans-serif", 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// Draws the chart to `path` (PNG, 1200×500).
pub fn draw(path: &Path, f: &Figures) -> anyhow::Result<()> {
    font()?;
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let (left, right) = root.split_horizontally(800);
    let mut latency = Vec::new();
    for (i, p) in ["p50", "p95", "p99"].iter().enumerate() {
        latency.push((format!("hub {p}"), f.hub_latency[i], HUB));
        latency.push((format!("naive {p}"), f.baseline_latency[i], BASELINE));
        latency.push((format!("comp. {p}"), f.competent_latency[i], COMPETENT));
    }
    bars(
        &left,
        "End-to-end latency: SAP change produced → item visible",
        "ms",
        &latency,
    )?;
    bars(
        &right,
        "Bridge alone: events/s per core",
        "events per CPU second",
        &[
            ("hub".into(), f.throughput[0], HUB),
            ("naive".into(), f.throughput[1], BASELINE),
            ("competent".into(), f.throughput[2], COMPETENT),
        ],
    )?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Draws latency (p50 and p99) against cost per million events to `path` (PNG, 1000×500):
/// the hub's `points`, one per batching window, and the competent baseline's.
pub fn draw_windows(path: &Path, points: &[Point], competent: &Point) -> anyhow::Result<()> {
    font()?;
    let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing the chart: {e:?}");
    let root = BitMapBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let all: Vec<&Point> = points.iter().chain(std::iter::once(competent)).collect();
    let max_cost = all.iter().fold(0.1f64, |a, p| a.max(p.cost)) * 1.2;
    let max_ms = all.iter().fold(100.0f64, |a, p| a.max(p.p99)) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Batching window of the domain mappings: latency against cost",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0.0f64..max_cost, 0.0f64..max_ms)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("cost per million events (USD)")
        .y_desc("SAP change → visible (ms)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for (series, colour, pick) in [
        ("p50", HUB, (|p: &Point| p.p50) as fn(&Point) -> f64),
        ("p99", BASELINE, |p: &Point| p.p99),
    ] {
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.cost, pick(p))),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("hub {series}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| {
                EmptyElement::at((p.cost, pick(p)))
                    + Circle::new((0, 0), 5, colour.filled())
                    + Text::new(
                        p.label.clone(),
                        (8, -16),
                        ("sans-serif", 14).into_font().color(&BLACK),
                    )
            }))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((competent.cost, pick(competent)))
                    + TriangleMarker::new((0, 0), 8, COMPETENT.filled())
                    + Text::new(
                        format!("competent {series}"),
                        (10, 4),
                        ("sans-serif", 14).into_font().color(&COMPETENT),
                    ),
            ))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png() {
        let path = std::env::temp_dir().join(format!("hub-chart-{}.png", std::process::id()));
        draw(
            &path,
            &Figures {
                hub_latency: [1400.0, 1600.0, 1700.0],
                baseline_latency: [500.0, 700.0, 800.0],
                competent_latency: [450.0, 650.0, 700.0],
                throughput: [26000.0, 1000.0, 1500.0],
            },
        )
        .unwrap();
        let windows = std::env::temp_dir().join(format!("hub-windows-{}.png", std::process::id()));
        let point = |label: &str, cost, p50, p99| Point {
            label: label.into(),
            cost,
            p50,
            p99,
        };
        draw_windows(
            &windows,
            &[
                point("0 ms", 1.2, 300.0, 700.0),
                point("1000 ms", 0.9, 1400.0, 1700.0),
            ],
            &point("competent", 1.8, 500.0, 900.0),
        )
        .unwrap();
        assert_eq!(&std::fs::read(&windows).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_file(&windows).ok();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::copy(&path, std::env::temp_dir().join("hub-chart-last.png")).ok();
        std::fs::remove_file(&path).ok();
    }
}
