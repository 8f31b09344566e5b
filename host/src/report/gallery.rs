//! `pairs.png`: the classic K × K figure (10 × 10 for digits). Row = source class, column =
//! target class; each cell is the adversarial image made from the same source image (one
//! correctly classified test image per class) by the targeted attack of the pair
//! experiment, with the model's final prediction and its probability printed under it. The
//! diagonal is the original. Images of any size are drawn at a whole zoom near 84 pixels
//! a side: one channel as grey, three as colour (RGB), others by their first channel.

use nudge_core::Goal;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rayon::prelude::*;
use serde::Serialize;

use super::{FONT, ModelReport, plot_error};
use crate::attack::Settings;
use nudge_core::Shape;

use crate::data::Split;
use crate::error::Result;
use crate::model::Net;

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
    /// Test-set index of each row's source image, one per class.
    pub sources: Vec<Option<usize>>,
    /// The shape of the images.
    #[serde(skip)]
    pub shape: Shape,
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
    data: &Split,
    examples: &[Vec<usize>],
    means: &[Vec<f32>],
    settings: &Settings,
) -> Result<Gallery> {
    let classes = examples.len();
    let sources: Vec<Option<usize>> = examples.iter().map(|e| e.first().copied()).collect();
    let jobs: Vec<(usize, usize, usize)> = sources
        .iter()
        .enumerate()
        .filter_map(|(s, i)| i.map(|i| (s, i)))
        .flat_map(|(s, i)| (0..classes).map(move |t| (s, t, i)))
        .collect();
    let cells: Vec<GalleryCell> = jobs
        .par_iter()
        .map(|&(source, target, index)| {
            let x = data.input(index).unwrap_or(&[]);
            if source == target {
                let mut ws = nudge_core::Classifier::workspace(model);
                let pred = nudge_core::Classifier::predict(model, x, &mut ws)
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
            let out = crate::attack::run(model, x, Goal::targeted(source, target), settings)?;
            Ok(GalleryCell {
                source,
                target,
                success: out.report.success,
                predicted: out.after.class,
                confidence: out.after.confidence(),
                linf: out.report.linf,
                image: out.adversarial,
            })
        })
        .collect::<Result<_>>()?;
    let mut rows: Vec<Vec<GalleryCell>> = vec![Vec::new(); classes];
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
    Ok(Gallery { sources, shape: data.shape, cells: rows, successes, nearer_source })
}

/// Where things go in `pairs.png`: whole-pixel zoom, cell pitch, margins and size, for
/// `classes` rows and columns of images of `shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Picture pixels per image pixel (a whole number, so pixels stay square blocks).
    pub zoom: u32,
    /// An image's width and height in the picture.
    pub image: (u32, u32),
    /// Rows and columns.
    pub classes: usize,
}

/// The side an image is zoomed to, about: 84 pixels, three times an MNIST digit.
const TARGET_SIDE: u32 = 84;
/// Left and top margins (row and column headers, title).
const LEFT: u32 = 70;
const TOP: u32 = 96;
/// Space between cells: across, and below (for the prediction).
const GAP_X: u32 = 10;
const GAP_Y: u32 = 24;

impl Layout {
    /// The layout of a gallery of `classes` × `classes` images of `shape`.
    pub fn new(classes: usize, shape: Shape) -> Self {
        let (h, w) = (shape.height.max(1) as u32, shape.width.max(1) as u32);
        let zoom = (TARGET_SIDE / h.max(w)).max(1);
        Layout { zoom, image: (w * zoom, h * zoom), classes }
    }

    /// The layout of `gallery`.
    pub fn of(gallery: &Gallery) -> Self {
        Self::new(gallery.sources.len(), gallery.shape)
    }

    /// Width and height of the picture (at least wide enough for the title).
    pub fn size(&self) -> (u32, u32) {
        let k = self.classes as u32;
        let (pitch_x, pitch_y) = self.pitch();
        ((LEFT + k * pitch_x + 10).max(900), TOP + k * pitch_y + 30)
    }

    fn pitch(&self) -> (u32, u32) {
        (self.image.0.max(60) + GAP_X, self.image.1 + GAP_Y)
    }

    /// Top-left corner of the image in cell `(row, col)`.
    pub fn cell_origin(&self, row: usize, col: usize) -> (u32, u32) {
        let (pitch_x, pitch_y) = self.pitch();
        (LEFT + col as u32 * pitch_x, TOP + row as u32 * pitch_y)
    }
}

/// An image value as drawn: `zoom × zoom` blocks of grey (white ink on black), or of each
/// colour channel. Pixel `(r·zoom, c·zoom)` of a cell is `grey(image[r·W + c])` (channel 0).
pub fn grey(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The RGB colour of pixel `(r, c)` of an image of `shape` (NCHW).
fn colour(image: &[f32], shape: Shape, r: usize, c: usize) -> [u8; 3] {
    let plane = shape.height * shape.width;
    let at = |channel: usize| {
        grey(image.get(channel * plane + r * shape.width + c).copied().unwrap_or(0.0))
    };
    if shape.channels == 3 { [at(0), at(1), at(2)] } else { [at(0); 3] }
}

/// Draws `pairs.png` for `m`.
pub fn png(m: &ModelReport) -> Result<Vec<u8>> {
    let layout = Layout::of(&m.gallery);
    let (w, h) = layout.size();
    let (iw, ih) = layout.image;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    for row in &m.gallery.cells {
        for cell in row {
            let (x0, y0) = layout.cell_origin(cell.source, cell.target);
            for r in 0..ih {
                for c in 0..iw {
                    let (ir, ic) = ((r / layout.zoom) as usize, (c / layout.zoom) as usize);
                    let rgb = colour(&cell.image, m.gallery.shape, ir, ic);
                    let o = (((y0 + r) * w + x0 + c) * 3) as usize;
                    if let Some(px) = buf.get_mut(o..o + 3) {
                        px.copy_from_slice(&rgb);
                    }
                }
            }
        }
    }
    draw_text(&mut buf, m, &layout).map_err(|e| plot_error("pairs.png", e))?;
    super::encode_png(&buf, w, h)
}

fn draw_text(
    buf: &mut [u8],
    m: &ModelReport,
    layout: &Layout,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let size = layout.size();
    let (iw, ih) = layout.image;
    let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
    let a = &m.pairs.attack;
    let centre = Pos::new(HPos::Center, VPos::Center);
    let title = format!(
        "{}: targeted PGD L∞, ε = {}, up to {} steps of {}",
        m.label, a.eps, a.iterations, a.step
    );
    let (w, _) = size;
    root.draw(&Text::new(
        title,
        (w as i32 / 2, 18),
        (FONT, 22).into_font().into_text_style(&root).pos(centre),
    ))?;
    let sub = "row = source class (the same test image across the row), column = target; diagonal = the original. \
               Under each: predicted class and its probability (red: target not reached)";
    root.draw(&Text::new(
        sub,
        (w as i32 / 2, 44),
        (FONT, 13).into_font().into_text_style(&root).pos(centre),
    ))?;
    let header = (FONT, 16).into_font().into_text_style(&root).pos(centre);
    root.draw(&Text::new("target →", (LEFT as i32 - 40, TOP as i32 - 34), header.clone()))?;
    root.draw(&Text::new("source ↓", (LEFT as i32 - 40, TOP as i32 - 14), header.clone()))?;
    for k in 0..layout.classes {
        let (x, y) = layout.cell_origin(k, k);
        root.draw(&Text::new(
            k.to_string(),
            (x as i32 + (iw / 2) as i32, TOP as i32 - 16),
            (FONT, 20).into_font().into_text_style(&root).pos(centre),
        ))?;
        root.draw(&Text::new(
            k.to_string(),
            (LEFT as i32 - 22, y as i32 + (ih / 2) as i32),
            (FONT, 20).into_font().into_text_style(&root).pos(centre),
        ))?;
    }
    for row in &m.gallery.cells {
        for cell in row {
            let (x, y) = layout.cell_origin(cell.source, cell.target);
            let colour = if cell.success { RGBColor(0, 0, 0) } else { RGBColor(200, 0, 0) };
            let text = format!("{}: {:.2}", cell.predicted, cell.confidence);
            let style = (FONT, 14).into_font().color(&colour).pos(centre);
            root.draw(&Text::new(text, (x as i32 + (iw / 2) as i32, (y + ih + 10) as i32), style))?;
            if cell.source == cell.target {
                let frame =
                    [(x as i32 - 2, y as i32 - 2), ((x + iw) as i32 + 1, (y + ih) as i32 + 1)];
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
    fn cells_fit_in_the_picture_for_any_image_size_and_class_count() {
        for (classes, shape, zoom) in [
            (10, Shape::new(1, 28, 28), 3),
            (4, Shape::new(1, 12, 8), 7),
            (3, Shape::new(3, 32, 32), 2),
            (2, Shape::new(1, 200, 90), 1),
        ] {
            let layout = Layout::new(classes, shape);
            assert_eq!(layout.zoom, zoom, "{shape:?}");
            let (x, y) = layout.cell_origin(classes - 1, classes - 1);
            let (w, h) = layout.size();
            assert!(x + layout.image.0 <= w && y + layout.image.1 + 20 <= h, "{shape:?}");
        }
        // The MNIST picture keeps its size.
        assert_eq!(Layout::new(10, Shape::new(1, 28, 28)).size(), (1020, 1206));
    }

    #[test]
    fn three_channels_are_drawn_in_colour() {
        let shape = Shape::new(3, 1, 2);
        let image = [1.0, 0.0, 0.0, 1.0, 0.5, 0.0];
        assert_eq!(colour(&image, shape, 0, 0), [255, 0, 128]);
        assert_eq!(colour(&image, shape, 0, 1), [0, 255, 0]);
        assert_eq!(colour(&image, Shape::new(1, 2, 3), 1, 0), [255; 3]);
    }

    #[test]
    fn grey_is_clamped_and_rounded() {
        assert_eq!((grey(-1.0), grey(0.5), grey(2.0)), (0, 128, 255));
    }
}
