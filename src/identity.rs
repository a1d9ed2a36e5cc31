//! Identities a person gives to be found by: IIN, BIN, phone, email, or a subject key.
//!
//! Placeholder with the agreed API until the full module lands on main.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iin(String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bin(String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Iin(Iin),
    Bin(Bin),
    Phone(Phone),
    Email(Email),
    Key(String),
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "not an IIN, BIN, phone, email or key: give a 12-digit IIN, +7 phone, email or key:ID"
    )]
    Unrecognised,
    #[error("the check digit of the 12-digit number is wrong: re-read the document")]
    CheckDigit,
}

fn check_digit_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 12 {
        return false;
    }
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
        if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
            if check_digit_ok(text) {
                Ok(Iin(text.to_owned()))
            } else {
                Err(IdentityError::CheckDigit)
            }
        } else {
            Err(IdentityError::Unrecognised)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        format!("{}******{}", &self.0[..2], &self.0[8..])
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
        if let Some(key) = text.strip_prefix("key:") {
            return Ok(Identity::Key(key.to_owned()));
        }
        if text.contains('@') {
            return Ok(Identity::Email(Email(text.to_lowercase())));
        }
        if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
            return Iin::parse(text).map(Identity::Iin);
        }
        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
        if text.starts_with('+') && digits.len() == 11 {
            return Ok(Identity::Phone(Phone(format!("+{digits}"))));
        }
        Err(IdentityError::Unrecognised)
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
            Identity::Bin(b) => format!("{}******{}", &b.0[..2], &b.0[8..]),
            Identity::Phone(p) => format!("+7*******{}", &p.0[p.0.len() - 2..]),
            Identity::Email(e) => format!("{}***", &e.0[..1]),
            Identity::Key(k) => format!("key:{k}"),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
