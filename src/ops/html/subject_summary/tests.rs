//! The summary of a fixed subject under the reference data map: what the subject
//! reads, and that the page stays one safe, self-contained file.

use std::path::Path;

use chrono::TimeZone;

use super::*;
use crate::ops::subject::{ConsentRecord, DisclosureRecord, IdentityField, SubjectStatus};

fn reference_map() -> DataMap {
    DataMap::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datamap.toml")).unwrap()
}

fn field(column: &str, category: Category, value: Option<&str>) -> IdentityField {
    IdentityField {
        column: column.to_owned(),
        category,
        value: value.map(str::to_owned),
    }
}

fn held(category: Category, tables: &[&str], rows: i64) -> CategoryHeld {
    CategoryHeld {
        category,
        tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        rows,
        oldest: Some("2021-03-04 10:00:00+00".to_owned()),
        newest: Some("2026-11-28 09:30:00+00".to_owned()),
    }
}

/// A borrower as `subject::summary` gives them: identity fields in column-name
/// order, an empty BIN, a first name that tries to be markup.
fn borrower() -> SubjectSummary {
    use Category::*;
    SubjectSummary {
        subject_ref: "borrowers:42".to_owned(),
        key: "42".to_owned(),
        identity: vec![
            field("bin", Bin, None),
            field("birth_date", BirthDate, Some("1990-05-01")),
            field("citizenship", Citizenship, Some("KZ")),
            field("email", Email, Some("aigerim@example.kz")),
            field("first_name", Name, Some("Айгерим <script>x</script>")),
            field("iin", Iin, Some("900501400123")),
            field("last_name", Name, Some("Сагындыкова")),
            field("patronymic", Name, Some("")),
            field("phone", Phone, Some("+77011234567")),
            field("sex", Sex, Some("F")),
        ],
        status: SubjectStatus {
            state: "active".to_owned(),
            reason: None,
        },
        birth_date: None,
        minor: false,
        categories: vec![
            held(Name, &["bank_cards", "borrowers"], 3),
            held(Iin, &["borrowers"], 1),
            held(Citizenship, &["borrowers"], 1),
            held(Sex, &["borrowers"], 1),
            held(Address, &["addresses", "borrowers", "employments"], 4),
            held(BankCard, &["bank_cards"], 2),
            held(Selfie, &["photos"], 1),
            held(
                Microcredit,
                &["borrowers", "employments", "loans", "payments"],
                19,
            ),
            held(IpAddress, &["server_logs", "sessions"], 250),
            held(Cookie, &["cookies"], 4),
            held(Usage, &["usage_events"], 80),
            held(Location, &["locations"], 6),
            held(SupportMessage, &["support_messages"], 2),
            held(Consent, &["consents", "policy_notices"], 5),
        ],
        open_loans: Some(1),
        consents: vec![ConsentRecord {
            purpose: Some("services".to_owned()),
            granted_at: Some("2024-01-02 10:00:00+00".to_owned()),
            withdrawn_at: None,
            document: None,
        }],
        disclosures: vec![DisclosureRecord {
            recipient: Some("First Credit Bureau".to_owned()),
            purpose: Some("credit_history_report".to_owned()),
            disclosed_at: Some("2025-06-01 12:00:00+00".to_owned()),
            legal_basis: Some("Bureau agreement no. 7".to_owned()),
            categories: vec!["name".to_owned(), "iin".to_owned()],
        }],
        requests: None,
    }
}

fn rendered() -> (DataMap, String) {
    let map = reference_map();
    let generated = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let page = render(&map, &borrower(), &[], generated);
    (map, page)
}

/// The text as it stands in the page.
fn escaped(text: &str) -> String {
    html! { (text) }.into_string()
}

/// The section of the page in `lang`.
fn section_in(page: &str, lang: Lang) -> &str {
    let start = page
        .find(&format!("<section id=\"{}\"", lang.code()))
        .unwrap();
    let end = page[start..].find("</section>").unwrap();
    &page[start..start + end]
}

#[test]
fn stored_codes_read_as_their_meaning() {
    let (map, page) = rendered();
    let subject = &map.tables["borrowers"];
    for lang in Lang::ALL {
        let section = section_in(&page, lang);
        for field in borrower().identity {
            let Some(value) = field.value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            let Some(meaning) = subject.columns[&field.column].meaning(value, lang) else {
                continue;
            };
            assert!(
                section.contains(&format!("<td>{}</td>", escaped(meaning))),
                "{lang:?}: {} lacks its meaning {meaning}",
                field.column
            );
            assert!(
                !section.contains(&format!("<td>{value}</td>")),
                "{lang:?}: {} shown as the raw code {value}",
                field.column
            );
        }
    }
    let en = section_in(&page, Lang::En);
    assert!(en.contains("<td>Female</td>") && en.contains("<td>Kazakhstan</td>"));
    assert!(section_in(&page, Lang::Kk).contains("<td>Әйел</td>"));
    assert!(section_in(&page, Lang::Ru).contains("<td>Казахстан</td>"));
}

#[test]
fn personal_details_follow_the_map_with_the_identity_first_and_no_empty_rows() {
    let (map, page) = rendered();
    for lang in Lang::ALL {
        let section = section_in(&page, lang);
        let start = section.find("<table class=\"fields\">").unwrap();
        let end = section[start..].find("</table>").unwrap();
        let fields = &section[start..start + end];
        let first_row = fields.split("<tr>").nth(1).unwrap();
        assert!(
            first_row.contains(&escaped(Category::Iin.label(lang)))
                && first_row.contains("900501400123"),
            "{lang:?}: the IIN is not first: {first_row}"
        );
        assert!(
            !fields.contains(&escaped(Category::Bin.label(lang))),
            "{lang:?}: an empty BIN row"
        );
        let columns = &map.tables["borrowers"].columns;
        let patronymic = columns["patronymic"].label_in(lang).unwrap();
        assert!(
            !fields.contains(&escaped(patronymic)),
            "{lang:?}: empty patronymic"
        );
        // Surname, first name, then the birth date, as the map declares them.
        let at = |text: &str| fields.find(&escaped(text)).unwrap();
        assert!(at("Сагындыкова") < at("Айгерим"), "{lang:?}");
        assert!(at("Айгерим") < at("1990-05-01"), "{lang:?}");
        assert!(at("1990-05-01") < at("+77011234567"), "{lang:?}");
    }
}

#[test]
fn each_legal_basis_and_retention_text_is_written_once() {
    let (map, page) = rendered();
    let mut checked = 0;
    for lang in Lang::ALL {
        let texts = map
            .purposes
            .values()
            .map(|p| p.legal_basis_in(lang))
            .chain(map.retention.values().map(|r| r.legal_basis_in(lang)));
        for text in texts {
            // As a whole text: one text may begin with another ("Consent (...)"
            // and "Consent (...); AML/CFT ...").
            let text_html = escaped(text);
            let count = page.matches(&format!(">{text_html}<")).count()
                + page.matches(&format!(": {text_html}<")).count();
            assert!(count <= 1, "{lang:?}: written {count} times: {text}");
            checked += count;
        }
    }
    // Every category above has its grounds: identification, services, security,
    // personalised access, analytics, support and the consent ledger; loan records,
    // identity, photos, cookies, logs, traffic, location, support, consents.
    assert!(checked >= 3 * 12, "only {checked} texts were written");
    // The categories refer to them by number, and hold none of the texts.
    for lang in Lang::ALL {
        let section = section_in(&page, lang);
        let start = section.find("<table class=\"rows\">").unwrap();
        let table = &section[start..start + section[start..].find("</table>").unwrap()];
        let texts = map
            .purposes
            .values()
            .map(|p| p.legal_basis_in(lang))
            .chain(map.retention.values().map(|r| r.legal_basis_in(lang)));
        for text in texts {
            assert!(
                !table.contains(&escaped(text)),
                "{lang:?}: in a category's row: {text}"
            );
        }
    }
    let en = section_in(&page, Lang::En);
    assert!(en.contains("href=\"#en-note-1\""));
    for href in page.split("href=\"#").skip(1) {
        let id = &href[..href.find('"').unwrap()];
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "#{id} leads nowhere"
        );
    }
}

#[test]
fn notes_for_the_maps_maintainers_stay_out_of_the_page() {
    let (map, page) = rendered();
    let notes: Vec<&str> = map
        .purposes
        .values()
        .filter_map(|p| p.note.as_deref())
        .chain(map.retention.values().filter_map(|r| r.note.as_deref()))
        .collect();
    assert!(!notes.is_empty(), "the reference map keeps its notes");
    for note in notes {
        assert!(
            !page.contains(&escaped(note)),
            "a maintainer's note: {note}"
        );
    }
    assert!(!page.contains("verified_at") && !page.contains("taken_at"));
    // The photos rule itself is there, in words.
    assert!(section_in(&page, Lang::En).contains("Selfie and document photos"));
}

#[test]
fn the_page_is_one_well_formed_file_without_scripts_or_outside_resources() {
    let (_, page) = rendered();
    if let Some(path) = std::env::var_os("DERBES_SUMMARY_OUT") {
        std::fs::write(path, &page).unwrap();
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<style>").count(), 1, "one inline stylesheet");
    assert!(page.contains(crate::ops::html::STYLESHEET));
    for outside in [
        "<script",
        " src=",
        "href=\"http",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(outside), "{outside}");
    }
    // Values are escaped by construction.
    assert!(page.contains("Айгерим &lt;script&gt;x&lt;/script&gt;"));
    assert_balanced(&page);
}

/// Every element is closed in order (void elements excepted).
fn assert_balanced(page: &str) {
    const VOID: [&str; 4] = ["meta", "br", "hr", "!DOCTYPE"];
    let mut open: Vec<&str> = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').expect("an unclosed tag") + at;
        let tag = &rest[at + 1..end];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap();
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(closing.trim()), "misnested </{closing}>");
        } else if !VOID.contains(&name) {
            open.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "left open: {open:?}");
}
