//! The report page as a browser draws it: the example report rendered by
//! `ops::html::report::render`, opened from a file in headless Chromium (Debian's
//! `chromium`, which `scripts/ensure-chromium.sh` installs and CI runs), and the
//! screenshot checked to be a real page with its charts drawn, not a blank one.
//!
//! Set `DERBES_RENDER_OUT=DIR` to keep the page and its screenshot there.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use derbes::ops::html::report::{example::example, render};

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

#[test]
fn the_report_page_renders_with_its_charts_in_headless_chromium() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let dir = match std::env::var_os("DERBES_RENDER_OUT") {
        Some(out) => PathBuf::from(out),
        None => scratch.path().to_owned(),
    };
    std::fs::create_dir_all(&dir).expect("the output directory");
    let page = dir.join("report.html");
    let png = dir.join("report.png");
    let html = render(&example("en"));
    assert_eq!(html.matches("<svg").count(), CHARTS, "one <svg> per chart");
    std::fs::write(&page, &html).expect("the page is written");

    screenshot(&page, &png, &scratch.path().join("profile"));

    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    let (width, height, rgb) = pixels(&bytes);
    assert_eq!((width, height), (WIDTH, HEIGHT));
    let not_white = rgb.iter().filter(|px| px.iter().any(|c| *c < 235)).count();
    let share = not_white as f64 / rgb.len() as f64;
    assert!(
        share > 0.03,
        "the screenshot is nearly blank: {:.2}% of pixels not white",
        share * 100.0
    );
    let colours: std::collections::HashSet<[u8; 3]> = rgb.iter().copied().collect();
    assert!(colours.len() > 32, "only {} colours", colours.len());
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
