//! Names that hint at personal data or at the data subject, in English and in the
//! Russian and Kazakh transliterations Kazakh schemas use (`familiya`, `telefon`,
//! `zhsn`, `tugan_kuni`, `zaemshik`, `paydalanushy`, ...).
//!
//! Column names are matched word by word (split on `_` and other non-alphanumerics,
//! lowercased); hints longer than four characters also match inside a word
//! (`contactphone`). Short hints (`iin`, `pol`, `aty`) match whole words only, so
//! `binary` is not a BIN and `policy` is not a sex. Names written in Cyrillic
//! (`фамилия`, `клиенты`) are recognised too.

use crate::map::{Category, TypeFamily};

/// Per category, the name hints that suggest it, in the order categories are tried
/// (the first category whose hints match wins, if the column's type can hold it).
const CATEGORY_HINTS: &[(Category, &[&str])] = &[
    (
        Category::Iin,
        &[
            "iin",
            "zhsn",
            "jsn",
            "zhsn_iin",
            "individual_id",
            "national_id",
            "иин",
            "жсн",
        ],
    ),
    (Category::Bin, &["bin", "bsn", "бин", "бсн"]),
    (
        Category::Email,
        &[
            "email",
            "mail",
            "e_mail",
            "pochta",
            "elpochta",
            "epochta",
            "почта",
        ],
    ),
    (
        Category::Phone,
        &[
            "phone",
            "mobile",
            "tel",
            "telefon",
            "telephone",
            "msisdn",
            "cell",
            "uyaly",
            "mobilnyy",
            "mobilniy",
            "телефон",
            "тел",
        ],
    ),
    (
        Category::BirthDate,
        &[
            "birth",
            "birthday",
            "birthdate",
            "dob",
            "born",
            "rozhdeniya",
            "rozhdenia",
            "rozhdeniia",
            "tugan",
            "tuylgan",
            "рождения",
            "туған",
        ],
    ),
    (
        Category::IdentityDocument,
        &[
            "passport",
            "pasport",
            "document",
            "doc_number",
            "udostoverenie",
            "udostovereniya",
            "kuelik",
            "id_card",
            "паспорт",
            "удостоверение",
            "куәлік",
        ],
    ),
    (
        Category::IpAddress,
        &["ip", "ip_address", "ip_addr", "ipaddr", "remote_addr"],
    ),
    (
        Category::Name,
        &[
            "name",
            "firstname",
            "lastname",
            "fullname",
            "middlename",
            "surname",
            "patronymic",
            "fio",
            "familiya",
            "familia",
            "familiia",
            "imya",
            "imia",
            "otchestvo",
            "tegi",
            "aty",
            "akesinin",
            "фамилия",
            "имя",
            "отчество",
            "фио",
            "аты",
            "тегі",
        ],
    ),
    (
        Category::Address,
        &[
            "address",
            "addr",
            "adres",
            "mekenzhay",
            "mekenjai",
            "street",
            "ulitsa",
            "ulica",
            "city",
            "gorod",
            "postcode",
            "postal_code",
            "zip",
            "zipcode",
            "indeks",
            "kvartira",
            "district",
            "адрес",
            "мекенжай",
            "улица",
            "город",
        ],
    ),
    (
        Category::BankCard,
        &["pan", "card", "karta", "karty", "card_number"],
    ),
    (
        Category::BankAccount,
        &[
            "iban",
            "account",
            "account_number",
            "schet",
            "shot",
            "esepshot",
        ],
    ),
    (
        Category::Location,
        &[
            "latitude",
            "longitude",
            "lat",
            "lon",
            "lng",
            "location",
            "geo",
            "geolocation",
            "koordinaty",
        ],
    ),
    (Category::Selfie, &["selfie", "selfi"]),
    (
        Category::DocumentPhoto,
        &["photo", "foto", "picture", "surety"],
    ),
    (Category::Device, &["device", "imei", "ustroystvo"]),
    (Category::Browser, &["user_agent", "useragent", "browser"]),
    (Category::Cookie, &["cookie"]),
    (Category::Sex, &["sex", "gender", "pol", "zhynys"]),
    (
        Category::Citizenship,
        &[
            "citizenship",
            "grazhdanstvo",
            "azamattyq",
            "azamattyk",
            "nationality",
        ],
    ),
    (
        Category::Employer,
        &["employer", "rabotodatel", "mesto_raboty", "zhumys"],
    ),
    (
        Category::MaritalStatus,
        &["marital", "semeynoe", "dependants", "dependents"],
    ),
];

/// Hints that a column is personal without saying which category.
const OTHER_HINTS: &[&str] = &[
    "income", "dokhod", "tabys", "pep", "tax", "nalog", "salary", "zarplata",
];

/// The words of a column or table name: lowercased, split on non-alphanumerics.
fn words(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `hint` (which may hold `_`) matches `name`: as a run of whole words, or,
/// for hints longer than four characters, inside the name.
fn matches(name_words: &[String], joined: &str, hint: &str) -> bool {
    let hint_words: Vec<&str> = hint.split('_').collect();
    if name_words
        .windows(hint_words.len())
        .any(|w| w.iter().zip(&hint_words).all(|(a, b)| a == b))
    {
        return true;
    }
    hint.chars().count() > 4 && joined.contains(hint)
}

/// Whether a column name looks like it holds personal data.
pub fn looks_personal(column: &str) -> bool {
    let w = words(column);
    let joined = w.join("_");
    CATEGORY_HINTS
        .iter()
        .flat_map(|(_, hints)| hints.iter())
        .chain(OTHER_HINTS)
        .any(|hint| matches(&w, &joined, hint))
}

/// The category a column's name and type suggest, if its type can hold it. A column
/// of type `inet`/`cidr` is an IP address whatever its name.
pub fn guess_category(column: &str, pg_type: &str) -> Option<Category> {
    let family = TypeFamily::of(pg_type);
    if family == TypeFamily::Inet {
        return Some(Category::IpAddress);
    }
    let w = words(column);
    let joined = w.join("_");
    CATEGORY_HINTS
        .iter()
        .find(|(_, hints)| hints.iter().any(|hint| matches(&w, &joined, hint)))
        .map(|(category, _)| *category)
        .filter(|category| category.accepts(family))
}

/// Words that name a data subject, with the plural endings they take
/// (English, Russian and Kazakh transliterations).
const SUBJECT_WORDS: &[&str] = &[
    "client",
    "customer",
    "borrower",
    "user",
    "person",
    "people",
    "account_holder",
    "accountholder",
    "individual",
    "applicant",
    "debtor",
    "member",
    "subscriber",
    "klient",
    "kliyent",
    "pokupatel",
    "zaemshik",
    "zaemshchik",
    "zayomshik",
    "polzovatel",
    "zayavitel",
    "dolzhnik",
    "abonent",
    "fizlico",
    "fiz_lico",
    "fizlitso",
    "fiz_litso",
    "paydalanushy",
    "paidalanushy",
    "tutynushy",
    "karyz_alushy",
    "qaryz_alushy",
    "karyzalushy",
    "tulga",
    "azamat",
    "клиент",
    "заемщик",
    "заёмщик",
    "пользовател",
    "покупател",
    "абонент",
    "физлиц",
    "тұтынушы",
    "пайдаланушы",
    "қарыз_алушы",
];

const PLURALS: &[&str] = &[
    "", "s", "es", "y", "i", "a", "lar", "ler", "tar", "ter", "dar", "der", "ь", "и", "ы", "а",
    "о", "лар", "лер", "тар", "тер", "дар", "дер",
];

/// The subject word a table name reads as (`customers`, `app_users`, `zaemshiki`,
/// `paydalanushylar`), if any. Only the whole name or its last words count, so
/// `customer_address` does not read as a subject.
pub fn subject_word(table: &str) -> Option<&'static str> {
    let w = words(table);
    for take in 1..=w.len().min(2) {
        let tail = w[w.len() - take..].join("_");
        for word in SUBJECT_WORDS {
            if let Some(rest) = tail.strip_prefix(word) {
                if PLURALS.contains(&rest) {
                    return Some(word);
                }
            }
        }
    }
    None
}

/// Table names that are lookups or other parties, never the subject table.
const NOT_SUBJECT: &[&str] = &[
    "address",
    "addresses",
    "adres",
    "city",
    "cities",
    "country",
    "countries",
    "region",
    "district",
    "store",
    "shop",
    "branch",
    "staff",
    "employee",
    "manager",
    "product",
    "category",
    "currency",
    "language",
    "status",
    "type",
];

/// Whether a table name reads as a lookup or another party (address, city, store,
/// staff...), never the subject table.
pub fn reads_as_lookup(table: &str) -> bool {
    let w = words(table);
    w.last().is_some_and(|last| {
        NOT_SUBJECT
            .iter()
            .any(|n| last == n || last.strip_prefix(n).is_some_and(|r| PLURALS.contains(&r)))
    })
}

/// Whether a column name reads as the time a row was created (for `created_at`).
pub fn reads_as_created(column: &str) -> bool {
    let w = words(column);
    w.iter().any(|x| {
        matches!(
            x.as_str(),
            "created" | "create" | "registered" | "joined" | "signup" | "sozdan" | "sozdano"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_in_three_languages() {
        let cases = [
            ("familiya", "text", Category::Name),
            ("imya", "text", Category::Name),
            ("otchestvo", "varchar(64)", Category::Name),
            ("last_name", "text", Category::Name),
            ("telefon", "text", Category::Phone),
            ("nomer_telefona", "text", Category::Phone),
            ("pochta", "text", Category::Email),
            ("el_pochta", "text", Category::Email),
            ("adres", "text", Category::Address),
            ("data_rozhdeniya", "date", Category::BirthDate),
            ("tugan_kuni", "date", Category::BirthDate),
            ("dob", "date", Category::BirthDate),
            ("zhsn", "character(12)", Category::Iin),
            ("iin", "text", Category::Iin),
            ("bin", "text", Category::Bin),
            ("passport_no", "text", Category::IdentityDocument),
            ("udostoverenie", "text", Category::IdentityDocument),
            ("last_ip", "text", Category::IpAddress),
            ("ip_address", "text", Category::IpAddress),
            ("client_host", "inet", Category::IpAddress),
            ("pol", "text", Category::Sex),
            ("фамилия", "text", Category::Name),
            ("дата_рождения", "date", Category::BirthDate),
            ("иин", "character(12)", Category::Iin),
        ];
        for (column, ty, expected) in cases {
            assert_eq!(guess_category(column, ty), Some(expected), "{column}");
        }
    }

    #[test]
    fn types_that_cannot_hold_the_category_are_not_guessed() {
        assert_eq!(guess_category("data_rozhdeniya", "text"), None);
        assert_eq!(guess_category("birth_date", "integer"), None);
    }

    #[test]
    fn short_hints_match_whole_words_only() {
        assert!(!looks_personal("binary_blob"));
        assert!(!looks_personal("policy"));
        assert!(!looks_personal("total"));
        assert!(!looks_personal("amount"));
        assert!(!looks_personal("status"));
        assert!(!looks_personal("shipping_cost"));
        assert!(!looks_personal("rental_date"));
        assert!(looks_personal("tax_code"));
        assert!(looks_personal("contactphone"));
        assert!(looks_personal("familiya"));
    }

    #[test]
    fn subject_names() {
        for name in [
            "customer",
            "customers",
            "clients",
            "app_users",
            "borrowers",
            "people",
            "account_holders",
            "klienty",
            "zaemshiki",
            "polzovateli",
            "paydalanushylar",
            "tutynushy",
            "karyz_alushylar",
            "клиенты",
            "заемщики",
            "пользователи",
            "пайдаланушылар",
        ] {
            assert!(subject_word(name).is_some(), "{name}");
        }
        for name in [
            "customer_address",
            "address",
            "users_log",
            "film",
            "payment",
        ] {
            assert!(subject_word(name).is_none(), "{name}");
        }
    }

    #[test]
    fn lookups() {
        assert!(reads_as_lookup("address"));
        assert!(reads_as_lookup("cities"));
        assert!(reads_as_lookup("staff"));
        assert!(!reads_as_lookup("customer"));
    }
}
