//! The report page as a browser draws it: the example report rendered by
//! `ops::html::report::render`, opened from a file in headless Chromium (Debian's
//! `chromium`, which `scripts/ensure-chromium.sh` installs and CI runs), and the
//! screenshot checked to be a real page with its charts drawn, not a blank one.
//!
//! The subject's `summary.html` is drawn the same way. Set `DERBES_RENDER_OUT=DIR`
//! to keep the pages and their screenshots there.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use derbes::map::{Category, DataMap};
use derbes::ops::html::report::{example::example, render};
use derbes::ops::html::subject_summary;
use derbes::ops::subject::{CategoryHeld, IdentityField, SubjectStatus, SubjectSummary};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;

/// The charts the example report draws (by rule, by category, requests, nights,
/// blocks, archives).
const CHARTS: usize = 6;

/// The first colour of the charts' palette (`ops::html::charts::PALETTE`): the
/// "within period" bars, which no other part of the page is drawn in.
const FIRST_SERIES: [u8; 3] = [0, 114, 178];

fn chromium() -> PathBuf {
    let name = std::env::var("DERBES_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(&name))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` was not found on PATH: run `bash scripts/ensure-chromium.sh` \
             (installs Debian's chromium package, as CI does), or set DERBES_CHROMIUM"
        )
    })
}

/// Screenshot `page` with headless Chromium into `png`; fails after a minute.
fn screenshot(page: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("chromium runs") {
            let output = child.wait_with_output().expect("chromium's output");
            assert!(
                status.success(),
                "chromium failed ({status}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium took more than a minute to take the screenshot");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The screenshot's pixels as RGB triples.
fn pixels(png: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = png::Decoder::new(Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buffer).expect("a PNG frame");
    let channels = info.color_type.samples();
    let rgb = buffer[..info.line_size * info.height as usize]
        .chunks(info.line_size)
        .flat_map(|line| line[..info.width as usize * channels].chunks(channels))
        .map(|px| match channels {
            1 | 2 => [px[0]; 3],
            _ => [px[0], px[1], px[2]],
        })
        .collect();
    (info.width, info.height, rgb)
}

/// Where a page and its screenshot go: `DERBES_RENDER_OUT` when set, else scratch.
fn output_dir(scratch: &Path) -> PathBuf {
    let dir = std::env::var_os("DERBES_RENDER_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.to_owned());
    std::fs::create_dir_all(&dir).expect("the output directory");
    dir
}

/// `html` written to `NAME.html`, drawn by Chromium into `NAME.png`, and that
/// screenshot checked to be a page, not a blank one; its pixels for more checks.
fn draw(name: &str, html: &str) -> Vec<[u8; 3]> {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let dir = output_dir(scratch.path());
    let page = dir.join(format!("{name}.html"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&page, html).expect("the page is written");

    screenshot(&page, &png, &scratch.path().join("profile"));

    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    let (width, height, rgb) = pixels(&bytes);
    assert_eq!((width, height), (WIDTH, HEIGHT));
    let not_white = rgb.iter().filter(|px| px.iter().any(|c| *c < 235)).count();
    let share = not_white as f64 / rgb.len() as f64;
    assert!(
        share > 0.03,
        "{name}: the screenshot is nearly blank: {:.2}% of pixels not white",
        share * 100.0
    );
    let colours: HashSet<[u8; 3]> = rgb.iter().copied().collect();
    assert!(colours.len() > 32, "{name}: only {} colours", colours.len());
    rgb
}

#[test]
fn the_report_page_renders_with_its_charts_in_headless_chromium() {
    let html = render(&example("en"));
    assert_eq!(html.matches("<svg").count(), CHARTS, "one <svg> per chart");
    let rgb = draw("report", &html);
    // The charts were drawn: bars in the first series' colour cover a real area.
    let bars = rgb
        .iter()
        .filter(|px| {
            px.iter()
                .zip(FIRST_SERIES)
                .all(|(c, want)| c.abs_diff(want) <= 6)
        })
        .count();
    assert!(bars > 5_000, "only {bars} pixels of chart bars");
}

#[test]
fn the_subjects_summary_renders_in_headless_chromium() {
    let map = DataMap::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datamap.toml"))
        .expect("the reference data map");
    let field = |column: &str, category, value: &str| IdentityField {
        column: column.to_owned(),
        category,
        value: Some(value.to_owned()),
    };
    let held = |category, table: &str, rows| CategoryHeld {
        category,
        tables: vec![table.to_owned()],
        rows,
        oldest: Some("2021-03-04 10:00:00+00".to_owned()),
        newest: Some("2026-11-28 09:30:00+00".to_owned()),
    };
    let summary = SubjectSummary {
        subject_ref: "borrowers:42".to_owned(),
        key: "42".to_owned(),
        identity: vec![
            field("iin", Category::Iin, "900501400123"),
            field("last_name", Category::Name, "Сағындықова"),
            field("first_name", Category::Name, "Әйгерім"),
            field("phone", Category::Phone, "+77011234567"),
        ],
        status: SubjectStatus {
            state: "active".to_owned(),
            reason: None,
        },
        birth_date: None,
        minor: false,
        categories: vec![
            held(Category::Name, "borrowers", 1),
            held(Category::Iin, "borrowers", 1),
            held(Category::Microcredit, "loans", 3),
            held(Category::IpAddress, "sessions", 250),
        ],
        open_loans: Some(1),
        consents: Vec::new(),
        disclosures: Vec::new(),
        requests: None,
    };
    let generated = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    draw(
        "summary",
        &subject_summary::render(&map, &summary, &[], generated),
    );
}
