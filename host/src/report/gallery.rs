//! `pairs.png`: the classic 10 × 10 figure. Row = source class, column = target class; each
//! cell is the adversarial digit made from the same source image (one correctly classified
//! test image per class) by the targeted attack of the pair experiment, with the model's
//! final prediction and its probability printed under it. The diagonal is the original.

use nudge_core::Goal;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rayon::prelude::*;
use serde::Serialize;

use super::{FONT, ModelReport, plot_error};
use crate::attack::Settings;
use crate::data::Image;
use crate::error::Result;
use crate::model::Net;
use crate::{CLASSES, PIXELS};

/// One cell of the gallery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GalleryCell {
    /// Row: the source image's class.
    pub source: usize,
    /// Column: the target class (equal to `source` on the diagonal).
    pub target: usize,
    /// Whether the model predicts the target (on the diagonal: the true class).
    pub success: bool,
    /// Class the model predicts for the image shown.
    pub predicted: usize,
    /// Probability of `predicted`.
    pub confidence: f32,
    /// `‖x − x⁰‖∞` (0 on the diagonal).
    pub linf: f32,
    /// The image shown, in `[0, 1]` (not written to JSON).
    #[serde(skip)]
    pub image: Vec<f32>,
}

/// The gallery of one model: `cells[source][target]`; a class without a correctly
/// classified test image has an empty row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gallery {
    /// Test-set index of each row's source image.
    pub sources: [Option<usize>; CLASSES],
    /// Rows of cells.
    pub cells: Vec<Vec<GalleryCell>>,
    /// Off-diagonal cells where the target was reached.
    pub successes: usize,
    /// Of those, how many are still nearer (L2) to the mean test image of the source class
    /// than to that of the target class: the seed's 2.C/2.D(i) question, "does it look more
    /// like the source or the target?", measured.
    pub nearer_source: usize,
}

/// Attacks the first example of each class toward every other class (in parallel).
pub(super) fn measure(
    model: &Net<'_>,
    images: &[Image],
    examples: &[Vec<usize>; CLASSES],
    means: &[[f32; PIXELS]; CLASSES],
    settings: &Settings,
) -> Result<Gallery> {
    let sources: [Option<usize>; CLASSES] = std::array::from_fn(|c| examples[c].first().copied());
    let jobs: Vec<(usize, usize, usize)> = sources
        .iter()
        .enumerate()
        .filter_map(|(s, i)| i.map(|i| (s, i)))
        .flat_map(|(s, i)| (0..CLASSES).map(move |t| (s, t, i)))
        .collect();
    let cells: Vec<GalleryCell> = jobs
        .par_iter()
        .map(|&(source, target, index)| {
            let x = crate::data::to_input(&images[index]);
            if source == target {
                let mut ws = nudge_core::Classifier::workspace(model);
                let pred = nudge_core::Classifier::predict(model, &x, &mut ws)
                    .map_err(|e| crate::Error::kernel("gallery", e))?;
                return Ok(GalleryCell {
                    source,
                    target,
                    success: pred.class == source,
                    predicted: pred.class,
                    confidence: pred.confidence(),
                    linf: 0.0,
                    image: x.to_vec(),
                });
            }
            let out = crate::attack::run(model, &x, Goal::targeted(source, target), settings)?;
            Ok(GalleryCell {
                source,
                target,
                success: out.report.success,
                predicted: out.after.class,
                confidence: out.after.confidence(),
                linf: out.report.linf,
                image: out.adversarial.to_vec(),
            })
        })
        .collect::<Result<_>>()?;
    let mut rows: Vec<Vec<GalleryCell>> = vec![Vec::new(); CLASSES];
    let (mut successes, mut nearer_source) = (0, 0);
    for cell in cells {
        if cell.source != cell.target && cell.success {
            successes += 1;
            let d = |c: usize| -> f32 {
                cell.image.iter().zip(&means[c]).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            nearer_source += usize::from(d(cell.source) < d(cell.target));
        }
        rows[cell.source].push(cell);
    }
    Ok(Gallery { sources, cells: rows, successes, nearer_source })
}

/// Pixels per MNIST pixel.
const ZOOM: u32 = 3;
/// Side of a digit in the picture.
const DIGIT: u32 = 28 * ZOOM;
/// Horizontal and vertical distance between cells.
const PITCH_X: u32 = DIGIT + 10;
const PITCH_Y: u32 = DIGIT + 24;
/// Left and top margins (row and column headers, title).
const LEFT: u32 = 70;
const TOP: u32 = 96;

/// Size of `pairs.png`.
pub const SIZE: (u32, u32) =
    (LEFT + CLASSES as u32 * PITCH_X + 10, TOP + CLASSES as u32 * PITCH_Y + 30);

/// Top-left corner of the digit in cell `(row, col)`.
pub fn cell_origin(row: usize, col: usize) -> (u32, u32) {
    (LEFT + col as u32 * PITCH_X, TOP + row as u32 * PITCH_Y)
}

/// The digit of a cell as drawn: `ZOOM × ZOOM` blocks of grey (white ink on black).
/// `pixel(buf, x, y)` of the picture at the cell's `(r·ZOOM, c·ZOOM)` is `grey(image[r·28+c])`.
pub fn grey(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Draws `pairs.png` for `m`.
pub fn png(m: &ModelReport) -> Result<Vec<u8>> {
    let (w, h) = SIZE;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    for row in &m.gallery.cells {
        for cell in row {
            let (x0, y0) = cell_origin(cell.source, cell.target);
            for r in 0..DIGIT {
                for c in 0..DIGIT {
                    let v = cell.image.get(((r / ZOOM) * 28 + c / ZOOM) as usize).copied();
                    let g = grey(v.unwrap_or(0.0));
                    let o = (((y0 + r) * w + x0 + c) * 3) as usize;
                    buf[o..o + 3].copy_from_slice(&[g, g, g]);
                }
            }
        }
    }
    draw_text(&mut buf, m).map_err(|e| plot_error("pairs.png", e))?;
    super::encode_png(&buf, w, h)
}

fn draw_text(
    buf: &mut [u8],
    m: &ModelReport,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, SIZE).into_drawing_area();
    let a = &m.pairs.attack;
    let centre = Pos::new(HPos::Center, VPos::Center);
    let title = format!(
        "{}: targeted PGD L∞, ε = {}, up to {} steps of {}",
        m.label, a.eps, a.iterations, a.step
    );
    let (w, _) = SIZE;
    root.draw(&Text::new(
        title,
        (w as i32 / 2, 18),
        (FONT, 22).into_font().into_text_style(&root).pos(centre),
    ))?;
    let sub = "row = source digit (the same test image across the row), column = target; diagonal = the original. \
               Under each: predicted class and its probability (red: target not reached)";
    root.draw(&Text::new(
        sub,
        (w as i32 / 2, 44),
        (FONT, 13).into_font().into_text_style(&root).pos(centre),
    ))?;
    let header = (FONT, 16).into_font().into_text_style(&root).pos(centre);
    root.draw(&Text::new("target →", (LEFT as i32 - 40, TOP as i32 - 34), header.clone()))?;
    root.draw(&Text::new("source ↓", (LEFT as i32 - 40, TOP as i32 - 14), header.clone()))?;
    for k in 0..CLASSES {
        let (x, y) = cell_origin(k, k);
        let half = (DIGIT / 2) as i32;
        root.draw(&Text::new(
            k.to_string(),
            (x as i32 + half, TOP as i32 - 16),
            (FONT, 20).into_font().into_text_style(&root).pos(centre),
        ))?;
        root.draw(&Text::new(
            k.to_string(),
            (LEFT as i32 - 22, y as i32 + half),
            (FONT, 20).into_font().into_text_style(&root).pos(centre),
        ))?;
    }
    for row in &m.gallery.cells {
        for cell in row {
            let (x, y) = cell_origin(cell.source, cell.target);
            let colour = if cell.success { RGBColor(0, 0, 0) } else { RGBColor(200, 0, 0) };
            let text = format!("{}: {:.2}", cell.predicted, cell.confidence);
            let style = (FONT, 14).into_font().color(&colour).pos(centre);
            root.draw(&Text::new(
                text,
                (x as i32 + (DIGIT / 2) as i32, (y + DIGIT + 10) as i32),
                style,
            ))?;
            if cell.source == cell.target {
                let frame = [
                    (x as i32 - 2, y as i32 - 2),
                    ((x + DIGIT) as i32 + 1, (y + DIGIT) as i32 + 1),
                ];
                root.draw(&Rectangle::new(frame, RGBColor(30, 110, 200).stroke_width(2)))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_fit_in_the_picture() {
        let (x, y) = cell_origin(CLASSES - 1, CLASSES - 1);
        assert!(x + DIGIT <= SIZE.0 && y + DIGIT + 20 <= SIZE.1);
    }

    #[test]
    fn grey_is_clamped_and_rounded() {
        assert_eq!((grey(-1.0), grey(0.5), grey(2.0)), (0, 128, 255));
    }
}
