//! Identities a person gives to be found by: IIN, BIN, phone, email, or a subject key.
//!
//! Placeholder with the agreed API until the full module lands on main.

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iin(String);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin(String);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Iin(Iin),
    Bin(Bin),
    Phone(Phone),
    Email(Email),
    Key(String),
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("not an IIN, BIN, phone, email or id:KEY")]
    Unrecognised,
    #[error("the IIN's check digit is wrong: re-read the document")]
    CheckDigit,
    #[error("the IIN's first six digits are not a date")]
    BadDate,
}

fn check_digit_ok(d: &[u32]) -> bool {
    let sum = |w: &dyn Fn(usize) -> u32| (0..11).map(|i| d[i] * w(i)).sum::<u32>() % 11;
    let mut c = sum(&|i| i as u32 + 1);
    if c == 10 {
        c = sum(&|i| ((i + 2) % 11) as u32 + 1);
        if c == 10 {
            return false;
        }
    }
    c == d[11]
}

impl Iin {
    pub fn parse(text: &str) -> Result<Iin, IdentityError> {
        let d: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
        if d.len() != 12 || text.len() != 12 {
            return Err(IdentityError::Unrecognised);
        }
        if !check_digit_ok(&d) {
            return Err(IdentityError::CheckDigit);
        }
        let iin = Iin(text.to_owned());
        iin.birth_date().ok_or(IdentityError::BadDate)?;
        Ok(iin)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<i32>().ok();
        let century = match n(6..7)? {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            _ => return None,
        };
        NaiveDate::from_ymd_opt(century + n(0..2)?, n(2..4)? as u32, n(4..6)? as u32)
    }
    pub fn is_minor_on(&self, date: NaiveDate) -> bool {
        self.birth_date().is_some_and(|b| {
            let mut age = date.year() - b.year();
            if (date.month(), date.day()) < (b.month(), b.day()) {
                age -= 1;
            }
            age < 18
        })
    }
    pub fn masked(&self) -> String {
        format!("{}******{}", &self.0[..4], &self.0[10..])
    }
}

impl Bin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Identity {
    pub fn parse(text: &str) -> Result<Identity, IdentityError> {
        let text = text.trim();
        if let Some(key) = text.strip_prefix("id:") {
            return Ok(Identity::Key(key.to_owned()));
        }
        if text.contains('@') {
            return Ok(Identity::Email(Email(text.to_lowercase())));
        }
        if text.chars().all(|c| c.is_ascii_digit()) && text.len() == 12 {
            return Iin::parse(text).map(Identity::Iin);
        }
        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
        match digits.len() {
            11 if digits.starts_with('7') || digits.starts_with('8') => {
                Ok(Identity::Phone(Phone(format!("+7{}", &digits[1..]))))
            }
            10 => Ok(Identity::Phone(Phone(format!("+7{digits}")))),
            _ => Err(IdentityError::Unrecognised),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Iin(_) => "iin",
            Identity::Bin(_) => "bin",
            Identity::Phone(_) => "phone",
            Identity::Email(_) => "email",
            Identity::Key(_) => "key",
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Identity::Iin(i) => i.masked(),
            Identity::Bin(b) => format!("{}******{}", &b.0[..4], &b.0[10..]),
            Identity::Phone(p) => format!("+7*******{}", &p.0[p.0.len().saturating_sub(2)..]),
            Identity::Email(e) => format!("{}***", e.0.chars().next().unwrap_or('*')),
            Identity::Key(k) => format!("id:{k}"),
        }
    }
}
