//! `success.png`: the targeted success rate of the pair experiment as a K × K heatmap
//! (row = source class, column = target class, percentage in each cell while cells are big
//! enough to read it), one panel per model side by side, with a shared colour bar.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, ModelReport, plot_error};
use crate::error::Result;

/// Most tick labels per axis (more classes get every n-th label).
const MAX_LABELS: usize = 20;
/// Classes up to which each cell shows its percentage.
const MAX_PRINTED: usize = 16;

/// Width of one panel.
pub const PANEL: (u32, u32) = (620, 640);
/// Width of the colour bar on the right.
const BAR: u32 = 90;

/// Size of `success.png` for `models` panels.
pub fn size(models: usize) -> (u32, u32) {
    (PANEL.0 * models.max(1) as u32 + BAR, PANEL.1)
}

/// A perceptual sequential colour for `t ∈ [0, 1]` (viridis, linear between 5 stops).
pub fn colour(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.00, [68.0, 1.0, 84.0]),
        (0.25, [59.0, 82.0, 139.0]),
        (0.50, [33.0, 145.0, 140.0]),
        (0.75, [94.0, 201.0, 98.0]),
        (1.00, [253.0, 231.0, 37.0]),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let i = STOPS.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(STOPS.len() - 2);
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let f = (t - a.0) / (b.0 - a.0);
    let mix = |k: usize| (a.1[k] + f * (b.1[k] - a.1[k])).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

/// Draws `success.png`.
pub fn png(models: &[ModelReport]) -> Result<Vec<u8>> {
    let (w, h) = size(models.len());
    let mut buf = vec![255u8; (w * h * 3) as usize];
    draw(&mut buf, (w, h), models).map_err(|e| plot_error("success.png", e))?;
    super::encode_png(&buf, w, h)
}

fn draw(
    buf: &mut [u8],
    size: (u32, u32),
    models: &[ModelReport],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (panels, bar) = root.split_horizontally(size.0 - BAR);
    let areas = panels.split_evenly((1, models.len().max(1)));
    let centre = Pos::new(HPos::Center, VPos::Center);
    for (area, m) in areas.iter().zip(models) {
        let p = &m.pairs;
        let classes = p.success_rate.len();
        let k = classes as i32;
        let caption = format!(
            "{}: targeted success, ε = {} ({} attacks, {:.1}% overall)",
            m.label,
            p.attack.eps,
            p.attacks,
            100.0 * p.success_rate_overall()
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 17))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(46)
            .y_label_area_size(50)
            .build_cartesian_2d(0i32..k, k..0i32)?;
        // Labels sit at integer ticks; shift them by half a cell to the cell centres.
        let (ax, ay) = chart.backend_coord(&(0, 0));
        let (bx, by) = chart.backend_coord(&(1, 1));
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels((classes + 1).min(MAX_LABELS))
            .y_labels((classes + 1).min(MAX_LABELS))
            .x_label_offset((bx - ax) / 2)
            .y_label_offset((by - ay) / 2)
            .x_label_formatter(&|v| if *v < k { v.to_string() } else { String::new() })
            .y_label_formatter(&|v| if *v < k { v.to_string() } else { String::new() })
            .x_desc("target class")
            .y_desc("source class")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 15))
            .draw()?;
        for (s, row) in p.success_rate.iter().enumerate() {
            for (t, rate) in row.iter().enumerate() {
                let (x, y) = (t as i32, s as i32);
                let fill = match rate {
                    Some(r) => colour(*r),
                    None => RGBColor(220, 220, 220),
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1, y + 1)],
                    fill.filled(),
                )))?;
                if classes > MAX_PRINTED {
                    continue;
                }
                let text = match rate {
                    Some(r) => format!("{:.0}", 100.0 * r),
                    None => "—".to_string(),
                };
                let ink = if rate.is_some_and(|r| r > 0.6) { BLACK } else { WHITE };
                let ink = if rate.is_none() { RGBColor(90, 90, 90) } else { ink };
                let (px, py) = chart.backend_coord(&(x, y));
                let (qx, qy) = chart.backend_coord(&(x + 1, y + 1));
                let style = (FONT, 15).into_font().color(&ink).pos(centre);
                // Backend coordinates are absolute: draw on the root, not the panel.
                root.draw(&Text::new(text, ((px + qx) / 2, (py + qy) / 2), style))?;
            }
        }
    }
    // Colour bar: 0% at the bottom, 100% at the top.
    let (top, bottom) = (70i32, size.1 as i32 - 70);
    let (x0, x1) = (10i32, 34i32);
    for y in top..bottom {
        let t = f64::from(bottom - y) / f64::from(bottom - top);
        bar.draw(&Rectangle::new([(x0, y), (x1, y + 1)], colour(t).filled()))?;
    }
    bar.draw(&Rectangle::new([(x0, top), (x1, bottom)], BLACK.stroke_width(1)))?;
    let left = Pos::new(HPos::Left, VPos::Center);
    for k in 0..=4 {
        let y = bottom - (bottom - top) * k / 4;
        bar.draw(&Text::new(
            format!("{}%", k * 25),
            (x1 + 6, y),
            (FONT, 14).into_font().into_text_style(&bar).pos(left),
        ))?;
    }
    bar.draw(&Text::new(
        "success",
        (x0, top - 20),
        (FONT, 14).into_font().into_text_style(&bar).pos(left),
    ))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_ends_are_viridis() {
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
        assert_eq!(colour(f64::NAN), colour(0.0));
        assert_eq!(colour(0.5), RGBColor(33, 145, 140));
    }

    #[test]
    fn panels_add_up() {
        assert_eq!(size(2).0, 2 * PANEL.0 + BAR);
    }
}
