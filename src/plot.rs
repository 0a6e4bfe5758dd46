//! PNG figures with plotters. Text needs a TrueType font: the first of a few common system
//! fonts is used; without one the figures are drawn without text.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;

const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Encodes RGB pixels as PNG and writes them atomically, like every output.
fn save_png(path: &Path, pixels: &[u8], (width, height): (u32, u32)) -> Result<()> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(pixels, width, height, image::ColorType::Rgb8)
        .map_err(|e| anyhow!("encoding {}: {e}", path.display()))?;
    synthad::output::write(path, &png)?;
    Ok(())
}

/// Registers a system font as "sans-serif" once; false when none is found.
pub fn has_font() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        FONT_CANDIDATES.iter().any(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    })
}

/// One panel of a score map: scores on an n × n grid over the unit square (row-major, y
/// growing with the row), the decision threshold and a title.
pub struct ScoreMap<'a> {
    pub title: String,
    pub grid: usize,
    pub scores: &'a [f32],
    pub threshold: f32,
}

/// A point to overlay: position and group (0 normal, 1 known anomaly, 2 unseen anomaly).
pub type Marker = (f64, f64, u8);

/// The colours of the markers: test normals, known anomalies, unseen anomalies.
const MARKER_COLORS: [RGBColor; 3] = [
    RGBColor(200, 200, 200),
    RGBColor(230, 40, 40),
    RGBColor(255, 0, 255),
];

/// Side-by-side score maps with the test points on top; the threshold's contour is white. A
/// legend below says what the colours, the contour and the points are.
pub fn score_maps(path: &Path, panels: &[ScoreMap], markers: &[Marker]) -> Result<()> {
    const PANEL: u32 = 480;
    const TITLE: u32 = 36;
    const LEGEND: u32 = 64;
    let width = PANEL * panels.len() as u32;
    let size = (width, PANEL + TITLE + LEGEND);
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let text = has_font();
    let (maps, legend) = root.split_vertically(PANEL + TITLE);
    draw_legend(&legend, text).map_err(|e| err(&e))?;
    for (i, (panel, area)) in panels
        .iter()
        .zip(maps.split_evenly((1, panels.len())))
        .enumerate()
    {
        let (title_area, map_area) = area.split_vertically(TITLE);
        if text {
            title_area
                .titled(&panel.title, ("sans-serif", 20))
                .map_err(|e| err(&e))?;
        }
        let n = panel.grid;
        let (lo, hi) = panel
            .scores
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &s| {
                (l.min(s), h.max(s))
            });
        let span = (hi - lo).max(1e-12);
        let cell = PANEL as f64 / n as f64;
        let flagged = |gx: usize, gy: usize| panel.scores[gy * n + gx] > panel.threshold;
        for gy in 0..n {
            for gx in 0..n {
                let boundary = (gx + 1 < n && flagged(gx, gy) != flagged(gx + 1, gy))
                    || (gy + 1 < n && flagged(gx, gy) != flagged(gx, gy + 1));
                let color = if boundary {
                    WHITE
                } else {
                    colormap(((panel.scores[gy * n + gx] - lo) / span) as f64)
                };
                // Row 0 of the grid is y = 0, drawn at the bottom.
                let x0 = (gx as f64 * cell) as i32;
                let y0 = (PANEL as f64 - (gy + 1) as f64 * cell) as i32;
                let x1 = ((gx + 1) as f64 * cell).ceil() as i32;
                let y1 = (PANEL as f64 - gy as f64 * cell).ceil() as i32;
                map_area
                    .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
                    .map_err(|e| err(&e))?;
            }
        }
        for &(x, y, group) in markers {
            let px = (x * PANEL as f64) as i32;
            let py = (PANEL as f64 * (1.0 - y)) as i32;
            let style = MARKER_COLORS[usize::from(group.min(2))].filled();
            let size = if group == 0 { 1 } else { 3 };
            map_area
                .draw(&Circle::new((px, py), size, style))
                .map_err(|e| err(&e))?;
        }
        if i + 1 < panels.len() {
            map_area
                .draw(&PathElement::new(
                    vec![(PANEL as i32 - 1, 0), (PANEL as i32 - 1, PANEL as i32)],
                    BLACK.stroke_width(2),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    drop((maps, legend, root));
    save_png(path, &pixels, size)
}

/// The legend strip: a colour bar from low to high score, the threshold's contour, and the
/// three kinds of test points.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: bool,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let bar = (16, 14, 216, 30);
    for x in bar.0..bar.2 {
        let t = (x - bar.0) as f64 / (bar.2 - bar.0 - 1) as f64;
        area.draw(&Rectangle::new(
            [(x, bar.1), (x + 1, bar.3)],
            colormap(t).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(232, bar.1), (262, bar.3)],
        BLACK.filled(),
    ))?;
    area.draw(&Rectangle::new([(232, 21), (262, 23)], WHITE.filled()))?;
    let labels = ["test normals", "known anomalies", "unseen anomalies"];
    for (i, color) in MARKER_COLORS.iter().enumerate() {
        let x = 420 + 150 * i as i32;
        area.draw(&Circle::new((x, 22), 4, color.filled()))?;
        if text {
            area.draw(&Text::new(labels[i], (x + 10, 14), ("sans-serif", 15)))?;
        }
    }
    if text {
        let small = ("sans-serif", 14);
        area.draw(&Text::new("low score", (bar.0, 33), small))?;
        area.draw(&Text::new("high score", (bar.2 - 66, 33), small))?;
        area.draw(&Text::new("threshold", (268, 14), ("sans-serif", 15)))?;
        area.draw(&Text::new(
            "colours: each panel's anomaly scores, scaled to its own range",
            (bar.0, 48),
            small,
        ))?;
    }
    Ok(())
}

/// A viridis-like ramp: dark blue (low score) to yellow (high score).
fn colormap(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

const SERIES_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn no_font(path: &Path) -> bool {
    if has_font() {
        return false;
    }
    eprintln!(
        "warning: no TrueType font found (looked for DejaVu Sans); not drawing {}",
        path.display()
    );
    true
}

/// Precision-recall curves, one per method.
pub fn pr_curves(path: &Path, title: &str, curves: &[(String, Vec<(f64, f64)>)]) -> Result<()> {
    if no_font(path) {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let size = (720, 540);
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.02f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, points)) in curves.iter().enumerate() {
        let color = SERIES_COLORS[i % SERIES_COLORS.len()];
        // A step curve, as average precision integrates it.
        let mut steps = vec![(0.0, points.first().map_or(1.0, |p| p.1))];
        let mut last_recall = 0.0;
        for &(recall, precision) in points {
            steps.push((last_recall, precision));
            steps.push((recall, precision));
            last_recall = recall;
        }
        chart
            .draw_series(LineSeries::new(steps, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    drop(chart);
    drop(root);
    save_png(path, &pixels, size)
}

/// Metrics against the values of a swept hyperparameter (equally spaced on the x axis).
pub fn sweep(
    path: &Path,
    title: &str,
    values: &[String],
    series: &[(&str, Vec<Option<f64>>)],
) -> Result<()> {
    if no_font(path) {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let size = (720, 480);
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let n = values.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..1.02f64)
        .map_err(|e| err(&e))?;
    let labels = values.to_vec();
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("AUPR")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, ys)) in series.iter().enumerate() {
        let color = SERIES_COLORS[i % SERIES_COLORS.len()];
        let points: Vec<(f64, f64)> = ys
            .iter()
            .enumerate()
            .filter_map(|(x, y)| y.map(|y| (x as f64, y)))
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    drop(chart);
    drop(root);
    save_png(path, &pixels, size)
}

/// Horizontal bars of one row's column contributions (positive push the score up: red).
pub fn contributions(path: &Path, title: &str, bars: &[(String, f32)]) -> Result<()> {
    if no_font(path) {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let size = (720, 120 + 36 * bars.len().max(1) as u32);
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let extent = bars
        .iter()
        .map(|(_, v)| v.abs() as f64)
        .fold(1e-12, f64::max)
        * 1.1;
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(160)
        .build_cartesian_2d(-extent..extent, 0.0..n as f64)
        .map_err(|e| err(&e))?;
    let names: Vec<String> = bars.iter().map(|(name, _)| name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n.max(1) * 2 + 1)
        .y_label_formatter(&|y: &f64| {
            // Bars sit at k + 0.5, the largest on top.
            let k = (y - 0.5).round();
            if (y - 0.5 - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < n {
                names[n - 1 - k as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("contribution to the score")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let y = (n - 1 - i) as f64;
            let color = if *v >= 0.0 {
                RGBColor(214, 39, 40)
            } else {
                RGBColor(31, 119, 180)
            };
            Rectangle::new([(0.0, y + 0.15), (*v as f64, y + 0.85)], color.filled())
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    drop(chart);
    drop(root);
    save_png(path, &pixels, size)
}
