//! Free text the audit log keeps forever (`--ticket`, `--application`,
//! `--operator`, reasons): one validator every command uses before it runs.
//!
//! The audit log is append-only, so whatever lands there can never be erased: free
//! text must be a reference, not a note about a person. A value is refused when it
//! is empty, longer than [`MAX_CHARS`] characters, spans lines, holds a control or
//! invisible formatting character (a terminal escape can forge an `audit log` row),
//! or holds something that looks like personal data: 12 digits in a row (an IIN or
//! BIN), a phone number (10 or 11 digits starting with 7 or 8, or a `+` followed by
//! 10 or more digits, spaces, dashes and brackets allowed between them), or an email
//! address. Messages name the option and the rule, never the value.

/// The longest free text accepted, in characters.
pub const MAX_CHARS: usize = 200;

/// Why a free-text value was refused. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreeTextError {
    #[error(
        "{0} is empty: give the reference it asks for (the request or incident reference; \
         for --application, the reference of the subject's written application)"
    )]
    Empty(String),
    #[error("{0} is longer than {MAX_CHARS} characters: give the reference, not a description")]
    TooLong(String),
    #[error("{0} spans several lines: give it on one line")]
    MultiLine(String),
    #[error("{0} holds a control or invisible character: type it as plain text")]
    Control(String),
    #[error(
        "{0} holds what looks like {1}: the audit log keeps it forever and cannot be edited, \
         so it must not hold personal data; give the request or incident reference only"
    )]
    Personal(String, &'static str),
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
    if value.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(FreeTextError::Control(option));
    }
    if let Some(what) = looks_personal(value) {
        return Err(FreeTextError::Personal(option, what));
    }
    Ok(())
}

/// Zero-width and direction-changing characters: they make text read differently
/// from what it holds.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{AD}')
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
            FreeTextError::Control(_)
        ));
        assert!(matches!(refused("T\tX"), FreeTextError::Control(_)));
        assert!(matches!(refused("T\u{202E}X"), FreeTextError::Control(_)));
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
