//! Charts for pages: stacked bars drawn as inline SVG by `plotters`.
//!
//! Why plotters, and only its SVG backend: it is maintained, draws into a
//! `String` (no file, no browser, no script), and built without its default
//! features it pulls in no font or image library, so nothing needs fontconfig or
//! freetype: the SVG backend writes text as `<text>` elements the browser lays out,
//! and without the `ttf` feature plotters only estimates their width, which is
//! enough for axis figures. `charts-rs` draws nicer defaults but embeds its own
//! font handling and a larger dependency tree for the same bars.
//!
//! What goes into the picture is figures and labels the page makes itself (bar
//! numbers, months, days); names read from the database or the data map (rules,
//! tables, reasons) are written only in the HTML legend and table beside the chart,
//! where maud escapes them. plotters escapes the text it writes too, so even a
//! label that slipped through could not become markup. The SVG is then inserted
//! unescaped: its only inputs are numbers and those labels.

use maud::{html, Markup, PreEscaped};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// Width and height of every chart's drawing, in SVG units; the page scales it
/// to the width available (`viewBox`), so this sets only the proportions and how
/// large the axis figures read.
const SIZE: (u32, u32) = (720, 300);

/// Colours of the series, in order, chosen to stay apart in print and for the
/// common forms of colour blindness (Okabe and Ito's palette).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(90, 90, 90),
];

/// The colour of series `index` as CSS, for the legend beside a chart.
pub fn colour_css(index: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[index % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One stack layer of a bar chart: `values[i]` is its height on bar `i`.
pub struct Series {
    pub values: Vec<i64>,
}

/// A stacked bar chart as inline `<svg>`: one bar per entry of `bars` (its
/// label under the bar), each the sum of the series' values on it, series `i` in
/// `PALETTE[i]`. `title` becomes the SVG's `<title>` and accessible name. Returns
/// nothing when drawing fails, so the page still shows the table of figures.
pub fn stacked_bars(title: &str, bars: &[String], series: &[Series]) -> Option<Markup> {
    let svg = draw_stacked_bars(bars, series).ok()?;
    Some(inline(title, &svg))
}

fn draw_stacked_bars(
    bars: &[String],
    series: &[Series],
) -> Result<String, Box<dyn std::error::Error>> {
    // Segments of `0..last` are `0..=last`: one per bar.
    let count = bars.len().max(1);
    let tallest = (0..bars.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0).max(0))
                .sum::<i64>()
        })
        .max()
        .unwrap_or(0)
        .max(1);
    // Headroom above the tallest bar, so it does not touch the frame.
    let top = tallest + (tallest / 10).max(1);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d((0..count - 1).into_segmented(), 0i64..top)?;
        // Many bars: label every few, so the figures under them do not overlap.
        let every = bars.len().div_ceil(24).max(1);
        let label_of = |value: &SegmentValue<usize>| match value {
            SegmentValue::CenterOf(i) if i % every == 0 => {
                bars.get(*i).cloned().unwrap_or_default()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&label_of)
            .y_labels(6)
            .y_label_formatter(&|v: &i64| v.to_string())
            .label_style(("sans-serif", 15))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(200, 200, 200))
            .axis_style(RGBColor(120, 120, 120))
            .draw()?;
        let mut base = vec![0i64; bars.len()];
        for (index, layer) in series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let mut blocks = Vec::new();
            for (bar, bottom) in base.iter_mut().enumerate() {
                let value = layer.values.get(bar).copied().unwrap_or(0).max(0);
                if value == 0 {
                    continue;
                }
                let mut block = Rectangle::new(
                    [
                        (SegmentValue::Exact(bar), *bottom),
                        (SegmentValue::Exact(bar + 1), *bottom + value),
                    ],
                    colour.filled(),
                );
                let gap = (SIZE.0 / count as u32 / 6).min(24);
                block.set_margin(0, 0, gap, gap);
                blocks.push(block);
                *bottom += value;
            }
            chart.draw_series(blocks)?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// plotters' SVG made fit for inlining: fixed width and height dropped (the
/// stylesheet scales it by its `viewBox`), the namespace dropped (HTML gives
/// inline `<svg>` its own), and a `<title>` and accessible name added, escaped.
fn inline(title: &str, svg: &str) -> Markup {
    let body = svg.find('>').map(|end| &svg[end + 1..]).unwrap_or_default();
    let title_text = html! { (title) }.into_string();
    let (width, height) = SIZE;
    PreEscaped(format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"{title_text}\" preserveAspectRatio=\"xMidYMid meet\">\
         <title>{title_text}</title>{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_inline_svg_with_its_title_escaped() {
        let bars = vec!["1".to_owned(), "2".to_owned()];
        let series = [Series { values: vec![3, 0] }, Series { values: vec![1, 7] }];
        let svg = stacked_bars("Rows <b>&", &bars, &series)
            .unwrap()
            .into_string();
        assert!(svg.starts_with("<svg class=\"chart\" viewBox=\"0 0 720 300\""));
        assert!(svg.contains("<title>Rows &lt;b&gt;&amp;</title>"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            !svg.contains("http"),
            "no namespace URL or reference: {svg}"
        );
        // Three blocks with a value, each a filled rectangle in its series' colour.
        assert_eq!(svg.matches("<rect").count() - 1, 3, "{svg}");
        assert!(svg.contains(&colour_css(1).to_uppercase()) || svg.contains(&colour_css(1)));
    }

    #[test]
    fn one_bar_draws_too() {
        let svg = stacked_bars("t", &["1".to_owned()], &[Series { values: vec![5] }]).unwrap();
        assert_eq!(svg.into_string().matches("<rect").count() - 1, 1);
    }

    #[test]
    fn plotters_escapes_the_text_it_draws() {
        let bars = vec!["<script>x</script>".to_owned()];
        let svg = stacked_bars("t", &bars, &[Series { values: vec![1] }])
            .unwrap()
            .into_string();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }
}
