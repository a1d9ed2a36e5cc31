//! Writing COPY text rows: the row encoder (tab-separated, `\N` for NULL,
//! backslash escapes) and values built for rows (random hex, KZ IBANs).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

/// One row of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
pub(super) struct Row<'a> {
    buffer: &'a mut String,
    first: bool,
}

impl<'a> Row<'a> {
    pub(super) fn start(buffer: &'a mut String) -> Row<'a> {
        Row {
            buffer,
            first: true,
        }
    }

    fn separate(&mut self) {
        if !self.first {
            self.buffer.push('\t');
        }
        self.first = false;
    }

    pub(super) fn text(mut self, value: &str) -> Self {
        self.separate();
        for c in value.chars() {
            match c {
                '\\' => self.buffer.push_str("\\\\"),
                '\t' => self.buffer.push_str("\\t"),
                '\n' => self.buffer.push_str("\\n"),
                '\r' => self.buffer.push_str("\\r"),
                _ => self.buffer.push(c),
            }
        }
        self
    }

    pub(super) fn opt_text(self, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.text(value),
            None => self.null(),
        }
    }

    /// A value known to need no escaping (numbers, codes, formatted dates).
    pub(super) fn raw(mut self, value: impl std::fmt::Display) -> Self {
        self.separate();
        let _ = write!(self.buffer, "{value}");
        self
    }

    pub(super) fn null(mut self) -> Self {
        self.separate();
        self.buffer.push_str("\\N");
        self
    }

    pub(super) fn money(self, tiyn: i64) -> Self {
        self.raw(format_args!("{}.{:02}", tiyn / 100, tiyn % 100))
    }

    pub(super) fn ip(self, address: u32) -> Self {
        self.raw(std::net::Ipv4Addr::from(address))
    }

    pub(super) fn date(mut self, date: NaiveDate) -> Self {
        self.separate();
        let _ = write!(
            self.buffer,
            "{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        );
        self
    }

    pub(super) fn timestamp(mut self, seconds: i64) -> Self {
        self.separate();
        let moment = DateTime::from_timestamp(seconds, 0).expect("timestamps stay within range");
        let _ = write!(
            self.buffer,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}+00",
            moment.year(),
            moment.month(),
            moment.day(),
            moment.hour(),
            moment.minute(),
            moment.second()
        );
        self
    }

    pub(super) fn opt_timestamp(self, seconds: Option<i64>) -> Self {
        match seconds {
            Some(seconds) => self.timestamp(seconds),
            None => self.null(),
        }
    }

    pub(super) fn end(self) -> u64 {
        self.buffer.push('\n');
        1
    }
}

pub(super) fn random_hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rng.fill_bytes(&mut raw);
    hex::encode(&raw)
}

/// A KZ IBAN: `KZ`, two ISO 7064 check digits, the bank's 3-digit code, 13 digits.
pub(super) fn kz_iban(bank_code: &str, account: u64) -> String {
    let bban = format!("{bank_code}{account:013}");
    // Rearranged as BBAN + "KZ00" with letters as numbers (K = 20, Z = 35).
    let remainder = format!("{bban}203500")
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    format!("KZ{:02}{bban}", 98 - remainder)
}
