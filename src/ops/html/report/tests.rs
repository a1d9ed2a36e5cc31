//! The report page from hand-built reports: every section there, empty ones said
//! in words, every chart beside its figures, the page one safe file.

use super::example::{empty, example};
use super::*;

/// The charts the example report draws: by rule, by category, requests, nights,
/// blocks, archives.
const EXAMPLE_CHARTS: usize = 6;

fn between<'a>(page: &'a str, from: &str, to: &str) -> &'a str {
    let start = page.find(from).unwrap_or_else(|| panic!("{from} in page"));
    let rest = &page[start..];
    let end = rest.find(to).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn every_section_is_there_with_its_figures() {
    let page = render(&example("en"));
    for id in [
        "retention",
        "requests",
        "breaches",
        "jobs",
        "blocks",
        "archives",
        "consents",
        "cohorts",
        "coverage",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "section {id}");
        assert!(
            page.contains(&format!("href=\"#{id}\"")),
            "contents link {id}"
        );
    }
    for heading in [
        "Personal data held",
        "Requests from data subjects",
        "Breaches",
        "Nightly jobs",
        "Blocks",
        "Archives",
        "Consents and objections",
        "The k of anonymised cohorts",
        "Data map coverage",
    ] {
        assert!(page.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    // Requests and breaches by reference and ticket.
    assert!(page.contains("DPO-2026-318") && page.contains("#318"));
    assert!(page.contains("INC-2026-044"));
    // Archives: the one never verified says so.
    assert!(page.contains("a-2022-01-closed-loans"));
    assert!(page.contains("never verified"));
    assert!(page.contains("3.0 GiB"));
    // Coverage: the unmapped column and what it looks like, by the category's label.
    assert!(page.contains("caller_phone") && page.contains("Phone number"));
    // Cohort k, consents and objections.
    assert!(page.contains("birth_year") && page.contains("2026-09"));
    assert!(!page.contains("class=\"empty\""), "nothing empty: {page}");
}

#[test]
fn a_rule_is_written_once_and_referred_to_by_number() {
    let page = render(&example("en"));
    let basis = "Law 94-V Art. 12; AML law Art. 5";
    assert_eq!(page.matches(basis).count(), 1);
    assert!(page.contains("id=\"rule-1\""));
    assert!(page.contains("5 years (5y)"));
    assert!(page.contains("archive, then delete"));
    // Tables, nights and cohorts cite the rule by its number.
    let by_rule = between(&page, "id=\"retention\"", "id=\"requests\"");
    assert!(by_rule.matches("href=\"#rule-1\"").count() >= 2);
    let jobs = between(&page, "id=\"jobs\"", "id=\"blocks\"");
    assert!(jobs.contains("closed-loans <a class=\"ref\" href=\"#rule-1\">[1]</a>"));
    let cohorts = between(&page, "id=\"cohorts\"", "id=\"coverage\"");
    assert!(cohorts.contains("href=\"#rule-2\""));
}

#[test]
fn every_chart_has_a_title_and_the_table_of_its_numbers() {
    let page = render(&example("en"));
    assert_eq!(page.matches("<svg").count(), EXAMPLE_CHARTS);
    assert_eq!(page.matches("<figure").count(), EXAMPLE_CHARTS);
    for figure in page.split("<figure").skip(1) {
        let figure = &figure[..figure.find("</figure>").expect("closed figure")];
        assert!(figure.contains("<svg class=\"chart\""), "{figure}");
        assert!(figure.contains("<title>") && figure.contains("aria-label="));
        assert!(
            figure.contains("<table"),
            "numbers beside the chart: {figure}"
        );
    }
    // The figures the retention chart draws are in its table.
    let by_rule = between(&page, "id=\"retention\"", "id=\"requests\"");
    for figure in ["4200", "310", "95", "18400", "1250", "220"] {
        assert!(by_rule.contains(&format!(">{figure}<")), "{figure}");
    }
    // The nights chart has a bar per day, its table a row per night and rule.
    let jobs = between(&page, "id=\"jobs\"", "id=\"blocks\"");
    assert!(jobs.contains("2026-11-26"), "{jobs}");
    assert!(
        jobs.contains("class=\"num late\""),
        "the failed night stands out"
    );
}

#[test]
fn empty_sections_say_so_in_words() {
    let page = render(&empty("en"));
    assert!(!page.contains("<svg"), "no empty chart");
    for sentence in [
        "No tables fall under a retention rule.",
        "No requests in this period.",
        "No breaches in this period.",
        "No purge or anonymisation runs in this period.",
        "No blocks placed or lifted in this period.",
        "No archives held.",
        "No consents recorded.",
        "No cohorts anonymised in this period.",
        "Every column that looks personal is mapped.",
    ] {
        assert!(page.contains(sentence), "{sentence}");
    }
}

#[test]
fn text_from_the_database_is_escaped_and_the_page_is_self_contained() {
    let mut report = example("en");
    let evil = "<script>alert(1)</script>";
    report.retention[0].rule = evil.to_owned();
    report.retention[0].legal_basis = format!("{evil} <img onerror=alert(2)>");
    report.jobs.nights[0].rule = evil.to_owned();
    report.blocks.months[0].reason = evil.to_owned();
    report.requests.by_kind[0].kind = evil.to_owned();
    report.requests.overdue[0].ticket = evil.to_owned();
    report.coverage.unmapped[0].table = evil.to_owned();
    let page = render(&report);
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("src="), "nothing loaded");
    for href in page.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "a link inside the page only: {href:.40}"
        );
    }
    assert!(!page.contains("@import") && !page.contains("url("));
}

#[test]
fn the_three_languages_have_their_headings() {
    for (lang, title, requests, empty_requests) in [
        (
            "kk",
            "Дербес деректер бойынша есеп",
            "Субъектілердің өтініштері",
            "Бұл кезеңде өтініштер болған жоқ.",
        ),
        (
            "ru",
            "Отчёт о персональных данных",
            "Обращения субъектов",
            "За этот период обращений не было.",
        ),
        (
            "en",
            "Personal data report",
            "Requests from data subjects",
            "No requests in this period.",
        ),
    ] {
        let page = render(&example(lang));
        assert!(page.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        assert!(page.contains(&format!("<h1>{title}</h1>")), "{lang}");
        assert!(page.contains(&format!("<h2>{requests}</h2>")), "{lang}");
        assert!(render(&empty(lang)).contains(empty_requests), "{lang}");
    }
    // The holds read in the page's language.
    assert!(render(&example("ru")).contains("открытый заём"));
    assert!(render(&example("kk")).contains("ашық қарыз"));
    // An unknown language falls back to English.
    assert!(render(&example("de")).contains("<h1>Personal data report</h1>"));
}

#[test]
fn every_language_has_every_word() {
    for words in &words::LANGUAGES {
        assert!(!words.title.is_empty() && !words.no_requests.is_empty());
    }
    assert_ne!(words::LANGUAGES[0].title, words::LANGUAGES[1].title);
}

#[test]
fn sizes_and_durations_read_as_people_write_them() {
    assert_eq!(bytes(512), "512 B");
    assert_eq!(bytes(1536), "1.5 KiB");
    assert_eq!(bytes(3_221_225_472), "3.0 GiB");
    assert_eq!(duration(4.24), "4.2 s");
    assert_eq!(duration(185.0), "3 min 05 s");
    assert_eq!(duration(3720.0), "1 h 02 min");
}
