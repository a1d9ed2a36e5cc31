//! Free text the audit log keeps forever (`--ticket`, `--application`,
//! `--operator`, reasons): one validator every command uses before it runs.
//!
//! The audit log is append-only, so whatever lands there can never be erased: free
//! text must be a reference, not a note about a person. A value is refused when it
//! is empty, longer than [`MAX_CHARS`] characters, spans lines, holds a control or
//! invisible formatting character (a terminal escape can forge an `audit log` row;
//! see [`hidden_char`]), or holds something that looks like personal data: 12 digits in a row (an IIN or
//! BIN), a phone number (10 or 11 digits starting with 7 or 8, or a `+` followed by
//! 10 or more digits, spaces, dashes and brackets allowed between them), or an email
//! address. Messages name the option and the rule, never the value.
//!
//! [`hidden_char`] is also the rule for values written into the database by
//! `rectify`: one rule, here, for every value a person types.

/// The longest free text accepted, in characters.
pub const MAX_CHARS: usize = 200;

/// Why a free-text value was refused. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreeTextError {
    #[error("{0} is empty: give {what}", what = asks_for(.0))]
    Empty(String),
    #[error(
        "{0} is longer than {MAX_CHARS} characters: give {what}, not a description",
        what = asks_for(.0)
    )]
    TooLong(String),
    #[error("{0} spans several lines: give it on one line")]
    MultiLine(String),
    #[error("{0} holds {1}, a control or invisible character: type it as plain text")]
    Control(String, String),
    #[error(
        "{0} holds what looks like {1}: the audit log keeps it forever and cannot be edited, \
         so it must not hold a subject's personal data; give {what} only",
        what = asks_for(.0)
    )]
    Personal(String, &'static str),
}

/// What `option` asks for, as a message says it.
fn asks_for(option: &str) -> &'static str {
    match option {
        "--ticket" => "the request or incident reference (e.g. REQ-2291, INC-4711)",
        "--operator" => {
            "the name of who runs derbes, as the audit trail should record it (e.g. \
             a.nurlanova), or leave out --operator and DERBES_OPERATOR to record the login name"
        }
        "--application" => {
            "the reference of the subject's written application (e.g. MAIL-2026-0042)"
        }
        "--evidence" => {
            "the reference of the document proving the correct value (e.g. a letter's number)"
        }
        "--document" => {
            "the reference of the subject's application or signed consent (e.g. APP-2026-0042)"
        }
        "--reply" => "the reference of the reply sent to the subject (e.g. OUT-2026-118)",
        "--summary" => {
            "a reference-like line saying what happened (e.g. INC-4711-session-export-leak)"
        }
        "--reference" => "the notification's reference (e.g. AUTH-2026-77)",
        "--recipient" => "the receiving organisation's name (e.g. PKB)",
        "VERSION" => "the policy version label (e.g. 2.2)",
        _ => "the reference it asks for (see --help)",
    }
}

/// Check one free-text value given as `option` (e.g. `--ticket`).
pub fn check(option: &str, value: &str) -> Result<(), FreeTextError> {
    let option = option.to_owned();
    if value.trim().is_empty() {
        return Err(FreeTextError::Empty(option));
    }
    if value.chars().count() > MAX_CHARS {
        return Err(FreeTextError::TooLong(option));
    }
    if value.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']) {
        return Err(FreeTextError::MultiLine(option));
    }
    if let Some(c) = hidden_char(value) {
        return Err(FreeTextError::Control(option, describe(c)));
    }
    if let Some(what) = looks_personal(value) {
        return Err(FreeTextError::Personal(option, what));
    }
    Ok(())
}

/// The first character of `value` that draws nothing or changes how the text around
/// it reads, if any: what a person checking the value on a screen cannot see.
///
/// - control characters (Unicode Cc: tab, escape, NUL, DEL, U+0080..U+009F);
/// - format characters (Unicode Cf, as of Unicode 16.0): soft hyphen U+00AD, zero
///   width space/non-joiner/joiner U+200B..U+200D, direction marks, embeddings,
///   overrides and isolates U+200E..U+200F, U+202A..U+202E, U+2066..U+2069, word
///   joiner and invisible operators U+2060..U+2064, byte order mark U+FEFF, tag
///   characters U+E0001, U+E0020..U+E007F, and the rest of the category;
/// - line and paragraph separators U+2028, U+2029;
/// - letters and marks that draw nothing: combining grapheme joiner U+034F, Hangul
///   fillers U+115F, U+1160, U+3164, U+FFA0, Khmer inherent vowels U+17B4, U+17B5,
///   Mongolian variation selectors U+180B..U+180D, U+180F.
pub fn hidden_char(value: &str) -> Option<char> {
    value.chars().find(|&c| c.is_control() || is_hidden(c))
}

/// A character as a message may name it: its code point and, for the usual
/// suspects, its name (`U+200B (zero width space)`). Never the text around it.
pub fn describe(c: char) -> String {
    let name = match c {
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{1B}' => "escape",
        '\0' => "NUL",
        '\u{7F}' => "delete",
        '\u{AD}' => "soft hyphen",
        '\u{34F}' => "combining grapheme joiner",
        '\u{200B}' => "zero width space",
        '\u{200C}' => "zero width non-joiner",
        '\u{200D}' => "zero width joiner",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2060}' => "word joiner",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\u{FEFF}' => "zero width no-break space (byte order mark)",
        c if c.is_control() => "a control character",
        _ => "a format character",
    };
    format!("U+{:04X} ({name})", u32::from(c))
}

/// Format characters (Unicode 16.0 general category Cf), line and paragraph
/// separators, and letters and marks that draw nothing. Control characters are
/// told by `char::is_control`.
fn is_hidden(c: char) -> bool {
    matches!(c,
        // Cf
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}'
        | '\u{890}'..='\u{891}' | '\u{8E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
        // Zl, Zp
        | '\u{2028}' | '\u{2029}'
        // Drawn as nothing
        | '\u{34F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180D}' | '\u{180F}' | '\u{3164}' | '\u{FFA0}')
}

/// What personal-looking thing `value` holds, if any.
fn looks_personal(value: &str) -> Option<&'static str> {
    // 12 digits in a row: an IIN or a BIN.
    let mut run = 0;
    for c in value.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run += 1;
        } else {
            if run == 12 {
                return Some("an IIN or BIN (12 digits)");
            }
            run = 0;
        }
    }
    // Phone numbers: a stretch of digits, spaces, dashes and brackets, optionally
    // after a `+`.
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() || chars[i] == '+' {
            let plus = chars[i] == '+';
            let mut digits = String::new();
            let mut j = if plus { i + 1 } else { i };
            while j < chars.len() && (chars[j].is_ascii_digit() || " -()".contains(chars[j])) {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                }
                j += 1;
            }
            let n = digits.len();
            let national = (n == 10 && digits.starts_with('7'))
                || (n == 11 && (digits.starts_with('7') || digits.starts_with('8')));
            if national || (plus && n >= 10) {
                return Some("a phone number");
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    // An email address: something@something.something
    for word in value.split(|c: char| c.is_whitespace() || ",;<>()[]\"'".contains(c)) {
        if let Some((local, domain)) = word.split_once('@') {
            let domain = domain.trim_end_matches('.');
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') {
                return Some("an email address");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: &str) -> FreeTextError {
        check("--ticket", value).expect_err(value)
    }

    #[test]
    fn references_pass() {
        for ok in [
            "INC-4711",
            "REQ-2291",
            "DPO-17",
            "RET-2026-11",
            "INC-2026-1104-5566",
            "JIRA PRIV-88 / call 3",
            "Запрос 15",
            "a",
            &"x".repeat(MAX_CHARS),
            "SR 123456789",
        ] {
            assert_eq!(check("--ticket", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn empty_long_multiline_and_control_text_is_refused() {
        assert!(matches!(refused(""), FreeTextError::Empty(_)));
        assert!(matches!(refused("   "), FreeTextError::Empty(_)));
        assert!(matches!(
            refused(&"x".repeat(MAX_CHARS + 1)),
            FreeTextError::TooLong(_)
        ));
        assert!(matches!(refused("T\nFAKE OK"), FreeTextError::MultiLine(_)));
        assert!(matches!(
            refused("T\x1b[31mFAKE OK"),
            FreeTextError::Control(..)
        ));
        assert!(matches!(refused("T\tX"), FreeTextError::Control(..)));
        assert!(matches!(refused("T\u{202E}X"), FreeTextError::Control(..)));
    }

    /// Issue 23, defect 2: every invisible character is refused, named by its code
    /// point, and the value is never echoed.
    #[test]
    fn invisible_characters_are_found_and_named() {
        for (c, point) in [
            ('\u{200B}', "U+200B"),
            ('\u{200C}', "U+200C"),
            ('\u{200D}', "U+200D"),
            ('\u{FEFF}', "U+FEFF"),
            ('\u{AD}', "U+00AD"),
            ('\u{202A}', "U+202A"),
            ('\u{202E}', "U+202E"),
            ('\u{2066}', "U+2066"),
            ('\u{2069}', "U+2069"),
            ('\u{2060}', "U+2060"),
            ('\u{061C}', "U+061C"),
            ('\u{180E}', "U+180E"),
            ('\u{E0041}', "U+E0041"),
            ('\u{3164}', "U+3164"),
            ('\u{1B}', "U+001B"),
            ('\u{7F}', "U+007F"),
            ('\u{9B}', "U+009B"),
        ] {
            let value = format!("Ai{c}gerim");
            assert_eq!(hidden_char(&value), Some(c), "{point}");
            let error = refused(&format!("INC{c}-1"));
            assert!(matches!(error, FreeTextError::Control(..)), "{point}");
            let text = error.to_string();
            assert!(text.contains(point), "{text}");
            assert!(!text.contains("INC"), "{text}");
        }
        assert_eq!(describe('\u{200B}'), "U+200B (zero width space)");
        // Visible text of any script passes, spaces and punctuation too.
        for plain in [
            "Айгерим",
            "Гүлмира Сәрсенқызы",
            "O'Brien-Smith",
            "José",
            "李小龙",
            "a\u{A0}b",
        ] {
            assert_eq!(hidden_char(plain), None, "{plain}");
        }
    }

    #[test]
    fn personal_data_is_refused_and_never_echoed() {
        for (bad, what) in [
            ("INC-1 650622474046 Гүлмира", "IIN"),
            ("650622474046", "IIN"),
            ("call +7 701 234 56 78", "phone"),
            ("87012345678", "phone"),
            ("7012345678", "phone"),
            ("8 (701) 234-56-78", "phone"),
            ("+44 20 7946 0958", "phone"),
            ("from aigerim@example.kz", "email"),
        ] {
            let error = refused(bad);
            assert!(matches!(error, FreeTextError::Personal(..)), "{bad}");
            let text = error.to_string();
            assert!(text.contains(what), "{bad}: {text}");
            assert!(!text.contains(bad), "{text}");
        }
    }
}
