//! The SVG chart: softmax throughput against row length, one line per level
//! (single rows, out of place, one thread), the copy ceiling dashed.

use plotters::prelude::*;

use crate::report::{Measurement, Report};

const COLORS: [RGBColor; 6] = [
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Series name and its (N, elements/ns) points, ascending N.
fn series(report: &Report) -> Vec<(String, Vec<(f64, f64)>)> {
    let single = |m: &&Measurement| {
        m.rows == 1
            && m.threads == "1"
            && m.mode == "out_of_place"
            && (m.op == "softmax" || m.op == "copy")
    };
    let mut names: Vec<String> = Vec::new();
    for m in report.measurements.iter().filter(single) {
        if !names.contains(&m.isa) {
            names.push(m.isa.clone());
        }
    }
    names
        .into_iter()
        .map(|isa| {
            let mut pts: Vec<(f64, f64)> = report
                .measurements
                .iter()
                .filter(single)
                .filter(|m| m.isa == isa)
                .map(|m| (m.cols as f64, m.elements_per_ns))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (isa, pts)
        })
        .collect()
}

/// Writes the chart to `path`; an error if there is nothing to draw.
pub fn write(report: &Report, path: &str) -> Result<(), String> {
    let series = series(report);
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_lo, mut x_hi, mut y_hi) = (f64::MAX, 0.0f64, 0.0f64);
    for &(x, y) in points {
        (x_lo, x_hi, y_hi) = (x_lo.min(x), x_hi.max(x), y_hi.max(y));
    }
    if series.is_empty() || x_hi <= 0.0 {
        return Err("no single-row softmax measurements to chart".into());
    }
    let err = |e: DrawingAreaErrorKind<_>| format!("cannot draw {path}: {e}");
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = format!(
        "softmax, one row, one thread: {} ({})",
        report.cpu.model, report.detected_isa
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((x_lo * 0.8..x_hi * 1.25).log_scale(), 0.0..y_hi * 1.15)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("row length N")
        .y_desc("elements / ns")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = if name == "copy" {
            BLACK
        } else {
            COLORS[i % COLORS.len()]
        };
        let style = color.stroke_width(2);
        let label = if name == "copy" {
            "copy (ceiling)".to_owned()
        } else {
            name.clone()
        };
        if name == "copy" {
            chart
                .draw_series(DashedLineSeries::new(pts.iter().copied(), 6, 4, style))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        } else {
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), style))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
