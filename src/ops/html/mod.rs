//! Pages for people who read without tools: the one layout and stylesheet every
//! page derbes writes shares (the subject's `summary.html`, the DPO's reports),
//! and the charts the reports draw as inline SVG (`charts`).
//!
//! Pages are built with `maud`, which escapes every value put into the markup, so
//! no text read from the database or the data map can become markup. A page is
//! one self-contained file: the stylesheet is inline, nothing is loaded from
//! elsewhere and there is no script, so it opens the same offline, in a mail
//! client or from an archive years later, on a phone and printed on A4.

pub mod charts;
pub mod report;
pub mod subject_summary;

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The stylesheet of every page: readable on a narrow phone screen (wide tables
/// turn into one block per row) and printed on A4 (each language section starts a
/// page, the language menu is left out); charts scale to the width available
/// and are never split across pages.
pub const STYLESHEET: &str = "\
:root{color-scheme:light}\
body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:#1b1b1b;background:#fff;max-width:54rem;margin:0 auto;padding:1rem}\
nav{display:flex;flex-wrap:wrap;gap:1.25rem;padding-bottom:.5rem;border-bottom:1px solid #ccc}\
nav a{color:#0b4f8a}\
h1{font-size:1.45rem;line-height:1.25;margin:.75rem 0 .25rem}\
h2{font-size:1.1rem;margin:1.75rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid #ddd}\
p{margin:.4rem 0}\
.meta{color:#555;font-size:.9rem}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #e4e4e4}\
thead th{font-size:.85rem;color:#444;border-bottom:2px solid #bbb}\
table.fields th{width:38%;font-weight:normal;color:#444}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
a.ref{font-size:.85em;white-space:nowrap;color:#0b4f8a}\
ol.notes{list-style:none;padding:0}\
ol.notes li{margin:.35rem 0;padding-left:2.6rem;text-indent:-2.6rem}\
ol.notes .label{display:inline-block;width:2.6rem;text-indent:0;font-weight:600}\
ul{padding-left:1.25rem}\
section+section{margin-top:3rem;padding-top:1rem;border-top:3px double #999}\
h3{font-size:1rem;margin:1.25rem 0 .4rem}\
code{font-size:.9em}\
.part{margin-top:1.5rem}\
p.empty{color:#444;font-style:italic}\
.late{color:#a40000;font-weight:600}\
figure.chart{margin:.75rem 0 1.25rem;break-inside:avoid}\
svg.chart{display:block;width:100%;height:auto;max-width:45rem}\
ul.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.25rem 0 .5rem;font-size:.85rem}\
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.35em;vertical-align:-.05em;border-radius:2px;print-color-adjust:exact;-webkit-print-color-adjust:exact}\
@media (max-width:40rem){\
body{padding:.75rem}\
table.rows thead{display:none}\
table.rows tr{display:block;padding:.5rem 0;border-bottom:1px solid #ccc}\
table.rows td{display:block;border:0;padding:.1rem 0}\
table.rows td::before{content:attr(data-label) ': ';font-weight:600;color:#444}\
td.num{text-align:left}\
table.fields th,table.fields td{display:block;width:auto;border:0;padding:.05rem 0}\
table.fields tr{display:block;padding:.35rem 0;border-bottom:1px solid #e4e4e4}\
}\
@page{size:A4;margin:16mm 14mm}\
@media print{\
body{font-size:10pt;max-width:none;padding:0}\
nav{display:none}\
section+section{break-before:page;border:0;margin:0;padding:0}\
tr,li,figure{break-inside:avoid}\
h2,h3{break-after:avoid}\
svg.chart{max-width:100%}\
a,a.ref{color:inherit;text-decoration:none}\
}";

/// A whole page: `lang` is the language of the page as a whole (a section in
/// another language says its own), `title` what a browser tab or print header shows.
pub fn page(lang: &str, title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                // A constant of this module, not data: the one unescaped text.
                style { (PreEscaped(STYLESHEET)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The date of a timestamp as PostgreSQL prints it (`2026-11-28 10:00:00+00`).
pub fn day(text: &str) -> &str {
    text.get(..10).unwrap_or(text)
}
