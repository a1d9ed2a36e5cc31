//! The world: everything shared by all borrowers, derived from the options (policy
//! versions, employers, cities, shared IP blocks), and the random stream of each
//! borrower and purpose.

use chrono::{Datelike, Months, NaiveDate};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::names::*;
use super::person::Person;
use super::{SampleOptions, MAX_BORROWERS};
use crate::kz::identity::{Bin, BinEntity, BinUnit};

/// Random streams, one per (borrower, purpose): the purpose is the low 5 bits of
/// the ChaCha stream number.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(super) enum RandomStream {
    Person = 0,
    Phone,
    Email,
    EmailSharing,
    Borrower,
    Address,
    Document,
    ContactPerson,
    Employment,
    Card,
    Account,
    Photo,
    Loan,
    Payment,
    Device,
    Session,
    Log,
    Cookie,
    Usage,
    Location,
    Consent,
    Notice,
    Disclosure,
    Support,
    World,
}

pub(super) const SECONDS_PER_DAY: i64 = 86_400;

pub(super) struct PolicyVersion {
    pub(super) id: u64,
    pub(super) version: &'static str,
    pub(super) published_at: i64,
}

pub(super) struct Employer {
    pub(super) name: String,
    pub(super) bin: Bin,
    pub(super) city: usize,
    pub(super) street: &'static str,
    pub(super) house: u32,
}

pub(super) struct World {
    pub(super) base: ChaCha8Rng,
    pub(super) as_of: NaiveDate,
    /// `as_of` at midnight UTC, in Unix seconds: every timestamp is before it.
    pub(super) now: i64,
    pub(super) borrowers: u64,
    pub(super) log_rows_per_borrower: u32,
    pub(super) policies: [PolicyVersion; 3],
    pub(super) employers: Vec<Employer>,
    pub(super) cities: WeightedIndex<u32>,
    /// Blocks of 16 addresses behind which many borrowers sit (offices, mobile
    /// carrier NAT), so that lookups by IP range find several people.
    pub(super) shared_ip_blocks: Vec<u32>,
    pub(super) permutation_offset: u64,
}

/// Kazakhtelecom and other Kazakh IPv4 ranges: (first address, prefix length).
pub(super) const KZ_NETWORKS: &[(u32, u32)] = &[
    (u32::from_be_bytes([2, 132, 0, 0]), 14),
    (u32::from_be_bytes([37, 150, 0, 0]), 15),
    (u32::from_be_bytes([92, 46, 0, 0]), 15),
    (u32::from_be_bytes([95, 56, 0, 0]), 14),
    (u32::from_be_bytes([178, 88, 0, 0]), 14),
    (u32::from_be_bytes([89, 218, 0, 0]), 16),
];

pub(super) fn kz_ip(rng: &mut ChaCha8Rng) -> u32 {
    let (base, prefix) = KZ_NETWORKS[rng.gen_range(0..KZ_NETWORKS.len())];
    base + rng.gen_range(1..(1u32 << (32 - prefix)) - 1)
}

impl World {
    pub(super) fn new(opts: &SampleOptions) -> World {
        let base = ChaCha8Rng::seed_from_u64(opts.seed);
        let now = opts
            .as_of
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp();
        let mut world = World {
            base,
            as_of: opts.as_of,
            now,
            borrowers: opts.borrowers,
            log_rows_per_borrower: opts.log_rows_per_borrower,
            policies: [
                PolicyVersion {
                    id: 1,
                    version: "1.0",
                    published_at: now - (6 * 365 + 60) * SECONDS_PER_DAY + 9 * 3600,
                },
                PolicyVersion {
                    id: 2,
                    version: "2.0",
                    published_at: now - 3 * 365 * SECONDS_PER_DAY + 9 * 3600,
                },
                PolicyVersion {
                    id: 3,
                    version: "2.1",
                    published_at: now - 240 * SECONDS_PER_DAY + 9 * 3600,
                },
            ],
            employers: Vec::new(),
            cities: WeightedIndex::new(CITIES.iter().map(|c| c.weight)).expect("positive weights"),
            shared_ip_blocks: Vec::new(),
            permutation_offset: 0,
        };
        let mut rng = world.rng(0, RandomStream::World);
        world.permutation_offset = rng.gen_range(0..MAX_BORROWERS);
        world.shared_ip_blocks = (0..40).map(|_| kz_ip(&mut rng) & !0xF).collect();
        world.employers = (0..400)
            .map(|k| {
                let form = EMPLOYER_FORMS[k % EMPLOYER_FORMS.len()];
                let word = EMPLOYER_WORDS[(k / EMPLOYER_FORMS.len()) % EMPLOYER_WORDS.len()];
                let city = world.cities.sample(&mut rng);
                let name = if k < EMPLOYER_FORMS.len() * EMPLOYER_WORDS.len() {
                    format!("{form} «{word}»")
                } else {
                    format!("{form} «{word} {}»", CITIES[city].name)
                };
                let registered = opts.as_of - chrono::Days::new(rng.gen_range(400..9000));
                let mut serial = rng.gen_range(0..99_000);
                let bin = loop {
                    if let Some(bin) = Bin::from_parts(
                        registered,
                        BinEntity::ResidentLegalEntity,
                        BinUnit::Head,
                        serial,
                    ) {
                        break bin;
                    }
                    serial += 1;
                };
                Employer {
                    name,
                    bin,
                    city,
                    street: STREETS[rng.gen_range(0..STREETS.len())],
                    house: rng.gen_range(1..200),
                }
            })
            .collect();
        world
    }

    pub(super) fn rng(&self, borrower: u64, stream: RandomStream) -> ChaCha8Rng {
        let mut rng = self.base.clone();
        rng.set_stream((borrower << 5) | stream as u64);
        rng
    }

    pub(super) fn log_start_month(&self) -> NaiveDate {
        first_of_month(self.as_of - Months::new(24))
    }

    /// A bijection of `0..modulus` (for ids below it): unique phone numbers and
    /// email suffixes without remembering which were given out. The multiplier is
    /// coprime to the modulus, near its golden-ratio fraction so that neighbouring
    /// ids land far apart.
    pub(super) fn permute(&self, borrower: u64, modulus: u64, multiplier: u64) -> u64 {
        (borrower.wrapping_mul(multiplier) + self.permutation_offset) % modulus
    }

    /// The borrower's own mobile number, distinct from every other borrower's own.
    pub(super) fn own_phone(&self, borrower: u64) -> String {
        const PER_CODE: u64 = 10_000_000;
        const _: () = assert!(
            MOBILE_CODES.len() == 11,
            "the multiplier below must stay coprime to the number of codes times 10^7"
        );
        let index = self.permute(borrower, PER_CODE * MOBILE_CODES.len() as u64, 67_983_739);
        format!(
            "+7{}{:07}",
            MOBILE_CODES[(index / PER_CODE) as usize],
            index % PER_CODE
        )
    }

    /// The phone on file: about 0.5% share another borrower's number.
    pub(super) fn phone_of(&self, borrower: u64) -> String {
        let mut rng = self.rng(borrower, RandomStream::Phone);
        if borrower > 1 && rng.gen_bool(0.005) {
            self.own_phone(rng.gen_range(1..borrower))
        } else {
            self.own_phone(borrower)
        }
    }

    /// The borrower's own email (most have one), distinct from every other own.
    pub(super) fn own_email(&self, borrower: u64) -> Option<String> {
        let mut rng = self.rng(borrower, RandomStream::Email);
        if !rng.gen_bool(0.92) {
            return None;
        }
        let person = Person::new(self, borrower);
        let first = transliterate(person.name.first);
        let last = transliterate(&person.name.last());
        let suffix = self.permute(borrower, MAX_BORROWERS, 6_180_339);
        let domain = [
            "mail.ru",
            "gmail.com",
            "inbox.kz",
            "mail.kz",
            "yandex.kz",
            "list.ru",
            "icloud.com",
        ][rng.gen_range(0..7)];
        Some(match rng.gen_range(0..3) {
            0 => format!("{first}.{last}{suffix}@{domain}"),
            1 => format!("{first}_{last}{suffix}@{domain}"),
            _ => format!("{first}{suffix}@{domain}"),
        })
    }

    /// The email on file: about 0.5% of borrowers give another borrower's address,
    /// sometimes in another letter case.
    pub(super) fn email_of(&self, borrower: u64) -> Option<String> {
        let mut rng = self.rng(borrower, RandomStream::EmailSharing);
        if borrower > 1 && rng.gen_bool(0.005) {
            let other = rng.gen_range(1..borrower);
            if let Some(email) = self.own_email(other) {
                return Some(if rng.gen_bool(0.5) {
                    let mut chars = email.chars();
                    let first = chars.next().map(|c| c.to_ascii_uppercase());
                    first.into_iter().chain(chars).collect()
                } else {
                    email
                });
            }
        }
        self.own_email(borrower)
    }
}

pub(super) fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}
