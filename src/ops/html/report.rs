//! The DPO's report as one self-contained HTML page.

use maud::html;

use crate::ops::report::Report;

/// The page for `report`, in its language.
pub fn render(report: &Report) -> String {
    super::page(
        &report.lang,
        "derbes report",
        html! { h1 { "Report " (report.since) " – " (report.until) } },
    )
}
