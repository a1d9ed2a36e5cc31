//! The subject's `summary.html` (Law 94-V Art. 24(1)(1)): what is held about them,
//! why, on what legal basis and for how long, in Kazakh, Russian and English, for a
//! reader without tools.
//!
//! Each language section reads from the top: personal details (in the data map's
//! order, the identity first, empty fields left out, stored codes shown as what
//! they mean), the categories held with references to the legal bases and retention
//! periods, which follow once each, then consents, policy notices, transfers and
//! requests. Texts come from the data map in the section's language where it gives
//! them; its maintainers' `note`s are never shown.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::{day, page};
use crate::map::labels::period_words;
use crate::map::{Category, DataMap, Lang};
use crate::ops::policy::NoticeRecord;
use crate::ops::subject::{CategoryHeld, SubjectSummary};

/// Headings of the summary, in Kazakh, Russian and English.
struct Words {
    lang: Lang,
    /// The language's own name, for the menu at the top.
    language: &'static str,
    title: &'static str,
    intro: &'static str,
    identity: &'static str,
    categories: &'static str,
    category: &'static str,
    purpose: &'static str,
    legal_basis: &'static str,
    retention: &'static str,
    rows: &'static str,
    period: &'static str,
    recipients: &'static str,
    consents: &'static str,
    granted: &'static str,
    withdrawn: &'static str,
    none: &'static str,
    transfers: &'static str,
    not_recorded: &'static str,
    files: &'static str,
    date: &'static str,
    recipient: &'static str,
    notices: &'static str,
    /// `{v}` is the version label.
    notice_version: &'static str,
    notified: &'static str,
    objected: &'static str,
    requests: &'static str,
    received: &'static str,
    due: &'static str,
    status: &'static str,
    prepared: &'static str,
    /// Headings of the sections that give each legal basis and retention rule once.
    bases: &'static str,
    rules: &'static str,
    /// How to read the bracketed references.
    references: &'static str,
}

const LANGUAGES: [Words; 3] = [
    Words {
        lang: Lang::Kk,
        language: "Қазақша",
        title: "Сіз туралы сақталатын дербес деректер",
        intro: "Бұл құжат «Дербес деректер және оларды қорғау туралы» Заңның 24-бабына сәйкес компанияда сіз туралы сақталатын барлық деректерді көрсетеді.",
        identity: "Жеке деректер",
        categories: "Деректер санаттары",
        category: "Санат",
        purpose: "Мақсаты",
        legal_basis: "Құқықтық негіз",
        retention: "Сақтау мерзімі",
        rows: "Жазбалар",
        period: "Кезең",
        recipients: "Деректер берілген үшінші тұлғалар",
        consents: "Келісімдер",
        granted: "берілген",
        withdrawn: "кері қайтарылған",
        none: "жоқ",
        transfers: "Деректерді үшінші тұлғаларға беру",
        not_recorded: "берілген санаттар тіркелмеген",
        files: "Толық деректер: data.json және tables/ қалтасындағы CSV файлдары.",
        date: "Күні",
        recipient: "Алушы",
        notices: "Құпиялылық саясатының өзгерістері туралы хабарламалар",
        notice_version: "{v} нұсқасы",
        notified: "хабарлама жіберілді",
        objected: "қарсылық білдірілді",
        requests: "Сіздің өтініштеріңіз",
        received: "қабылданды",
        due: "жауап беру мерзімі",
        status: "күйі",
        prepared: "Жасалған уақыты",
        bases: "Құқықтық негіздер",
        rules: "Сақтау мерзімдері",
        references: "Жақшадағы сандар төмендегі құқықтық негіздер мен сақтау мерзімдеріне сілтейді.",
    },
    Words {
        lang: Lang::Ru,
        language: "Русский",
        title: "Персональные данные, которые мы храним о вас",
        intro: "Этот документ показывает все данные о вас, которые хранит компания, согласно статье 24 Закона «О персональных данных и их защите».",
        identity: "Личные данные",
        categories: "Категории данных",
        category: "Категория",
        purpose: "Цель",
        legal_basis: "Правовое основание",
        retention: "Срок хранения",
        rows: "Записей",
        period: "Период",
        recipients: "Третьи лица, которым переданы данные",
        consents: "Согласия",
        granted: "дано",
        withdrawn: "отозвано",
        none: "нет",
        transfers: "Передача данных третьим лицам",
        not_recorded: "переданные категории не записаны",
        files: "Полные данные: data.json и CSV-файлы в папке tables/.",
        date: "Дата",
        recipient: "Получатель",
        notices: "Уведомления об изменениях политики конфиденциальности",
        notice_version: "Версия {v}",
        notified: "уведомление направлено",
        objected: "возражение получено",
        requests: "Ваши обращения",
        received: "получено",
        due: "срок ответа",
        status: "статус",
        prepared: "Сформировано",
        bases: "Правовые основания",
        rules: "Сроки хранения",
        references: "Числа в скобках отсылают к правовым основаниям и срокам хранения ниже.",
    },
    Words {
        lang: Lang::En,
        language: "English",
        title: "The personal data we hold about you",
        intro: "This document shows all data the company holds about you, under Article 24 of the Law on Personal Data and Their Protection.",
        identity: "Personal details",
        categories: "Categories of data",
        category: "Category",
        purpose: "Purpose",
        legal_basis: "Legal basis",
        retention: "Kept for",
        rows: "Records",
        period: "Period",
        recipients: "Third parties the data was disclosed to",
        consents: "Consents",
        granted: "given",
        withdrawn: "withdrawn",
        none: "none",
        transfers: "Transfers of data to third parties",
        not_recorded: "the categories transferred were not recorded",
        files: "The full data: data.json and the CSV files in the tables/ folder.",
        date: "Date",
        recipient: "Recipient",
        notices: "Notices of changes to the privacy policy",
        notice_version: "Version {v}",
        notified: "notified",
        objected: "objected",
        requests: "Your requests",
        received: "received",
        due: "due by",
        status: "status",
        prepared: "Prepared",
        bases: "Legal bases",
        rules: "Retention periods",
        references: "Numbers in brackets refer to the legal bases and retention periods below.",
    },
];

/// The whole page: one section per language, Kazakh first (the policy's language).
pub fn render(
    map: &DataMap,
    summary: &SubjectSummary,
    notices: &[NoticeRecord],
    generated_at: DateTime<Utc>,
) -> String {
    let body = html! {
        nav {
            @for words in &LANGUAGES {
                a href={ "#" (words.lang.code()) } lang=(words.lang.code()) { (words.language) }
            }
        }
        @for words in &LANGUAGES {
            (section(map, summary, notices, generated_at, words))
        }
    };
    page(Lang::Kk.code(), LANGUAGES[0].title, body)
}

fn section(
    map: &DataMap,
    summary: &SubjectSummary,
    notices: &[NoticeRecord],
    generated_at: DateTime<Utc>,
    words: &Words,
) -> Markup {
    let lang = words.lang;
    let code = lang.code();
    let references = References::of(map, &summary.categories, lang);
    html! {
        section id=(code) lang=(code) {
            h1 { (words.title) }
            p { (words.intro) }
            p.meta { (words.prepared) ": " (generated_at.format("%Y-%m-%d %H:%M")) " UTC" }

            h2 { (words.identity) }
            table.fields {
                @for (label, value) in personal_details(map, summary, lang) {
                    tr { th scope="row" { (label) } td { (value) } }
                }
            }

            h2 { (words.categories) }
            p.meta { (words.references) }
            table.rows {
                thead { tr {
                    th { (words.category) } th { (words.purpose) } th { (words.legal_basis) }
                    th { (words.retention) } th { (words.rows) } th { (words.period) }
                    th { (words.recipients) }
                } }
                tbody {
                    @for row in &references.rows {
                        tr {
                            td data-label=(words.category) { (row.held.category.label(lang)) }
                            td data-label=(words.purpose) { (list(&row.purposes, words.none)) }
                            td data-label=(words.legal_basis) {
                                @if row.bases.is_empty() { (words.none) }
                                @for (i, n) in row.bases.iter().enumerate() {
                                    @if i > 0 { " " }
                                    (reference(code, *n))
                                }
                            }
                            td data-label=(words.retention) {
                                @if row.rules.is_empty() { (words.none) }
                                @for (i, (keep, notes)) in references.periods(row).into_iter().enumerate() {
                                    @if i > 0 { "; " }
                                    (keep)
                                    @for n in notes { " " (reference(code, n)) }
                                }
                            }
                            td.num data-label=(words.rows) { (row.held.rows) }
                            td data-label=(words.period) { (period(row.held, words.none)) }
                            td data-label=(words.recipients) { (list(&recipients(summary, row.held.category), words.none)) }
                        }
                    }
                }
            }

            @if !references.bases.is_empty() {
                h2 { (words.bases) }
                ol.notes {
                    @for (i, text) in references.bases.iter().enumerate() {
                        li id=(note_id(code, i + 1)) { span.label { "[" (i + 1) "]" } (text) }
                    }
                }
            }
            @if !references.rules.is_empty() {
                h2 { (words.rules) }
                ol.notes {
                    @for (i, (keep, text)) in references.rules.iter().enumerate() {
                        @let n = references.bases.len() + i + 1;
                        li id=(note_id(code, n)) { span.label { "[" (n) "]" } strong { (keep) } ": " (text) }
                    }
                }
            }

            h2 { (words.consents) }
            ul {
                @if summary.consents.is_empty() { li { (words.none) } }
                @for consent in &summary.consents {
                    li {
                        (purpose_text(map, consent.purpose.as_deref().unwrap_or(""), lang)) ": "
                        (words.granted) " " (day(consent.granted_at.as_deref().unwrap_or("")))
                        @if let Some(withdrawn) = &consent.withdrawn_at {
                            ", " (words.withdrawn) " " (day(withdrawn))
                        }
                    }
                }
            }

            @if !notices.is_empty() {
                h2 { (words.notices) }
                ul {
                    @for notice in notices {
                        li {
                            (words.notice_version.replace("{v}", notice.version.as_deref().unwrap_or("?")))
                            ": " (words.notified) " " (day(notice.notified_at.as_deref().unwrap_or("")))
                            @if let Some(objected) = &notice.objected_at {
                                ", " (words.objected) " " (day(objected))
                            }
                        }
                    }
                }
            }

            h2 { (words.transfers) }
            @if summary.disclosures.is_empty() {
                p { (words.none) }
            } @else {
                table.rows {
                    thead { tr {
                        th { (words.date) } th { (words.recipient) } th { (words.purpose) }
                        th { (words.categories) } th { (words.legal_basis) }
                    } }
                    tbody {
                        @for disclosure in &summary.disclosures {
                            tr {
                                td data-label=(words.date) { (day(disclosure.disclosed_at.as_deref().unwrap_or(""))) }
                                td data-label=(words.recipient) { (disclosure.recipient.as_deref().unwrap_or("")) }
                                td data-label=(words.purpose) { (purpose_text(map, disclosure.purpose.as_deref().unwrap_or(""), lang)) }
                                td data-label=(words.categories) {
                                    @if disclosure.categories.is_empty() {
                                        (words.not_recorded)
                                    } @else {
                                        (disclosure.categories.iter().map(|name| category_text(name, lang)).collect::<Vec<_>>().join("; "))
                                    }
                                }
                                td data-label=(words.legal_basis) { (disclosure.legal_basis.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }

            // Requests and the dates they are due (Law 94-V Art. 24, 25), when recorded.
            @if let Some(requests) = summary.requests.as_deref() {
                h2 { (words.requests) }
                ul {
                    @if requests.is_empty() { li { (words.none) } }
                    @for request in requests {
                        li {
                            (request.kind) ": " (words.received) " " (request.received_on)
                            ", " (words.due) " " (request.due_on)
                            ", " (words.status) " " (request.status)
                        }
                    }
                }
            }

            p.meta { (words.files) }
        }
    }
}

/// The subject's details as (label, value) in the order the data map declares the
/// subject table's columns, the first identity it names (the IIN) leading; fields
/// without a value are left out, and a stored code the map explains reads as its
/// meaning.
fn personal_details<'a>(
    map: &'a DataMap,
    summary: &'a SubjectSummary,
    lang: Lang,
) -> Vec<(&'a str, &'a str)> {
    let spec = map.tables.get(&map.subject.table);
    let declared = |column: &str| {
        spec.and_then(|s| s.column_order.iter().position(|c| c == column))
            .unwrap_or(usize::MAX)
    };
    let leading = map
        .subject
        .identities
        .iter()
        .find(|identity| identity.table.is_none())
        .map(|identity| identity.column.as_str());
    let mut fields: Vec<_> = summary
        .identity
        .iter()
        .filter_map(|field| {
            let value = field.value.as_deref().map(str::trim)?;
            (!value.is_empty()).then_some((field, value))
        })
        .collect();
    fields.sort_by_key(|(field, _)| {
        (
            Some(field.column.as_str()) != leading,
            declared(&field.column),
        )
    });
    fields
        .into_iter()
        .map(|(field, value)| {
            let column = spec.and_then(|s| s.columns.get(&field.column));
            let label = column
                .and_then(|c| c.label_in(lang))
                .unwrap_or_else(|| field.category.label(lang));
            let value = column.and_then(|c| c.meaning(value, lang)).unwrap_or(value);
            (label, value)
        })
        .collect()
}

/// The categories' rows of the table, and the legal bases and retention periods
/// they refer to, each text once, numbered as one sequence: the legal bases
/// `1..=k` in order of first use, then the retention periods `k+1..`.
struct References<'a> {
    rows: Vec<CategoryRow<'a>>,
    bases: Vec<&'a str>,
    /// The period in words and the rule's legal basis.
    rules: Vec<(String, &'a str)>,
}

struct CategoryRow<'a> {
    held: &'a CategoryHeld,
    purposes: Vec<String>,
    /// Numbers of the notes (see [`References`]).
    bases: Vec<usize>,
    rules: Vec<usize>,
}

impl<'a> References<'a> {
    fn of(map: &'a DataMap, categories: &'a [CategoryHeld], lang: Lang) -> References<'a> {
        let mut bases: Vec<&str> = Vec::new();
        let mut rules: Vec<(String, &str)> = Vec::new();
        let mut rows: Vec<(CategoryRow<'a>, Vec<usize>)> = Vec::new();
        for held in categories {
            let mut purposes: Vec<String> = Vec::new();
            let mut row_bases: Vec<usize> = Vec::new();
            let mut row_rules: Vec<usize> = Vec::new();
            for (purpose, rule) in grounds(map, held) {
                let text = purpose_text(map, purpose, lang);
                if !purposes.contains(&text) {
                    purposes.push(text);
                }
                if let Some(spec) = map.purposes.get(purpose) {
                    let n = index_of(&mut bases, spec.legal_basis_in(lang));
                    if !row_bases.contains(&n) {
                        row_bases.push(n);
                    }
                }
                if let Some(rule) = rule.and_then(|name| map.retention.get(name)) {
                    let n = index_of(
                        &mut rules,
                        (period_words(&rule.keep, lang), rule.legal_basis_in(lang)),
                    );
                    if !row_rules.contains(&n) {
                        row_rules.push(n);
                    }
                }
            }
            row_bases.sort_unstable();
            rows.push((
                CategoryRow {
                    held,
                    purposes,
                    bases: row_bases.iter().map(|i| i + 1).collect(),
                    rules: Vec::new(),
                },
                row_rules,
            ));
        }
        let first_rule = bases.len() + 1;
        let rows = rows
            .into_iter()
            .map(|(mut row, mut row_rules)| {
                row_rules.sort_unstable();
                row.rules = row_rules.into_iter().map(|i| first_rule + i).collect();
                row
            })
            .collect();
        References { rows, bases, rules }
    }
}

impl References<'_> {
    /// A row's retention periods in words, each with the notes that give it
    /// ("5 years [7] [8]" rather than the period once per rule).
    fn periods(&self, row: &CategoryRow<'_>) -> Vec<(&str, Vec<usize>)> {
        let mut periods: Vec<(&str, Vec<usize>)> = Vec::new();
        for &n in &row.rules {
            let keep = self.rules[n - self.bases.len() - 1].0.as_str();
            match periods.iter_mut().find(|(k, _)| *k == keep) {
                Some((_, notes)) => notes.push(n),
                None => periods.push((keep, vec![n])),
            }
        }
        periods
    }
}

/// The position of `item` in `items`, added at the end when new.
fn index_of<T: PartialEq>(items: &mut Vec<T>, item: T) -> usize {
    match items.iter().position(|i| *i == item) {
        Some(i) => i,
        None => {
            items.push(item);
            items.len() - 1
        }
    }
}

/// The (purpose, retention rule) of every mapped column of the category, in the
/// tables that hold the subject's rows of it (every table of the map that has the
/// category when the summary names none).
fn grounds<'a>(map: &'a DataMap, held: &CategoryHeld) -> Vec<(&'a str, Option<&'a str>)> {
    let all = || {
        map.tables.iter().flat_map(|(table, spec)| {
            spec.columns
                .values()
                .filter(|c| c.category == held.category)
                .map(move |c| (table, c.purpose.as_str(), spec.retention.as_deref()))
        })
    };
    let in_held: Vec<_> = all()
        .filter(|(table, _, _)| held.tables.contains(table))
        .map(|(_, purpose, rule)| (purpose, rule))
        .collect();
    if in_held.is_empty() {
        all().map(|(_, purpose, rule)| (purpose, rule)).collect()
    } else {
        in_held
    }
}

/// A link to note `n` of the section in language `code`.
fn reference(code: &str, n: usize) -> Markup {
    html! { a.ref href={ "#" (note_id(code, n)) } { "[" (n) "]" } }
}

fn note_id(code: &str, n: usize) -> String {
    format!("{code}-note-{n}")
}

/// Recipients the disclosure ledger says received the category.
fn recipients(summary: &SubjectSummary, category: Category) -> Vec<String> {
    let name = category.name();
    let mut recipients: Vec<String> = summary
        .disclosures
        .iter()
        .filter(|d| d.categories.contains(&name))
        .filter_map(|d| d.recipient.clone())
        .collect();
    recipients.sort();
    recipients.dedup();
    recipients
}

/// The dates of the oldest and newest record: one date when they are the same day.
fn period(held: &CategoryHeld, none: &str) -> String {
    match (
        held.oldest.as_deref().map(day),
        held.newest.as_deref().map(day),
    ) {
        (Some(a), Some(b)) if a == b => a.to_owned(),
        (Some(a), Some(b)) => format!("{a} – {b}"),
        (Some(d), None) | (None, Some(d)) => d.to_owned(),
        (None, None) => none.to_owned(),
    }
}

fn list(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join("; ")
    }
}

/// A purpose as the subject reads it: the map's description in `lang`, else the
/// name as recorded (a ledger may hold purposes the map does not declare).
fn purpose_text(map: &DataMap, purpose: &str, lang: Lang) -> String {
    map.purposes
        .get(purpose)
        .map_or_else(|| purpose.to_owned(), |p| p.description_in(lang).to_owned())
}

/// A category name as recorded in a ledger, as the subject reads it.
fn category_text(name: &str, lang: Lang) -> String {
    Category::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .map_or_else(|| name.to_owned(), |c| c.label(lang).to_owned())
}

#[cfg(test)]
mod tests;
