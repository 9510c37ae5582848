//! The bench chart: end-to-end latency percentiles and bridge throughput, hub vs baseline, as
//! one PNG (plotters, with DejaVu Sans from Debian's `fonts-dejavu-core`).

use anyhow::{Context as _, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const HUB: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const BASELINE: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

/// What the chart shows.
pub struct Figures {
    /// Latency p50, p95, p99 in ms: hub.
    pub hub_latency: [f64; 3],
    /// Latency p50, p95, p99 in ms: baseline.
    pub baseline_latency: [f64; 3],
    /// Bridge events/s per core: hub, baseline.
    pub throughput: [f64; 2],
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
        latency.push((format!("baseline {p}"), f.baseline_latency[i], BASELINE));
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
            ("baseline".into(), f.throughput[1], BASELINE),
        ],
    )?;
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
                throughput: [26000.0, 1000.0],
            },
        )
        .unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::copy(&path, std::env::temp_dir().join("hub-chart-last.png")).ok();
        std::fs::remove_file(&path).ok();
    }
}
