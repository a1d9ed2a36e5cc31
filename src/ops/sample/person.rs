//! A person: what every table needs to know about a borrower (name, sex, IIN,
//! contacts, status, dates), replayed from the borrower's own stream per table.

use chrono::{DateTime, Months, NaiveDate};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::names::*;
use super::world::{kz_ip, RandomStream, World, SECONDS_PER_DAY};
use crate::kz::identity::Sex;

#[derive(Clone, Copy)]
pub(super) struct Name {
    pub(super) surname: &'static str,
    pub(super) female: bool,
    pub(super) first: &'static str,
    /// Stem and ending, e.g. ("Нұрлан", "ұлы") or ("Сергеевич", "").
    pub(super) patronymic: Option<(&'static str, &'static str)>,
}

impl Name {
    pub(super) fn random(rng: &mut ChaCha8Rng, sex: Sex) -> Name {
        let female = sex == Sex::Female;
        let kazakh = rng.gen_bool(0.7);
        let (surnames, firsts) = match (kazakh, female) {
            (true, false) => (KAZAKH_SURNAMES, KAZAKH_MALE),
            (true, true) => (KAZAKH_SURNAMES, KAZAKH_FEMALE),
            (false, false) => (RUSSIAN_SURNAMES, RUSSIAN_MALE),
            (false, true) => (RUSSIAN_SURNAMES, RUSSIAN_FEMALE),
        };
        let surname = surnames[rng.gen_range(0..surnames.len())];
        let first = firsts[rng.gen_range(0..firsts.len())];
        let style = rng.gen_range(0..100);
        let patronymic = if style < 8 {
            None
        } else if kazakh && style < 55 {
            let father = KAZAKH_MALE[rng.gen_range(0..KAZAKH_MALE.len())];
            Some((father, if female { "қызы" } else { "ұлы" }))
        } else {
            let pool = if kazakh {
                KAZAKH_FATHERS_RUSSIAN_STYLE
            } else {
                RUSSIAN_PATRONYMICS
            };
            let (male, female_form) = pool[rng.gen_range(0..pool.len())];
            Some((if female { female_form } else { male }, ""))
        };
        Name {
            surname,
            female,
            first,
            patronymic,
        }
    }

    pub(super) fn last(&self) -> String {
        if self.female {
            format!("{}а", self.surname)
        } else {
            self.surname.to_owned()
        }
    }

    pub(super) fn patronymic(&self) -> Option<String> {
        self.patronymic
            .map(|(stem, ending)| format!("{stem}{ending}"))
    }

    pub(super) fn full(&self) -> String {
        match self.patronymic() {
            Some(patronymic) => format!("{} {} {}", self.last(), self.first, patronymic),
            None => format!("{} {}", self.last(), self.first),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Active,
    Blocked,
    Closed,
}

pub(super) struct Person {
    pub(super) sex: Sex,
    pub(super) birth_date: NaiveDate,
    pub(super) minor: bool,
    pub(super) name: Name,
    pub(super) city: usize,
    pub(super) created_at: i64,
    pub(super) status: Status,
    /// When the account was blocked or closed (or last updated, when active).
    pub(super) status_at: i64,
    pub(super) citizenship: &'static str,
    pub(super) home_ip: u32,
    pub(super) mobile_ip: u32,
}

impl Person {
    pub(super) fn new(world: &World, borrower: u64) -> Person {
        let mut rng = world.rng(borrower, RandomStream::Person);
        let as_of = world.as_of;
        let minor = rng.gen_bool(0.01);
        let sex = if rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        // Ages 16..75: minors are born in (as_of - 18y, as_of - 16y], adults in
        // (as_of - 76y, as_of - 18y], skewed towards the young as borrowers are.
        let eighteen = as_of - Months::new(18 * 12);
        let birth_date = if minor {
            let sixteen = as_of - Months::new(16 * 12);
            let span = (sixteen - eighteen).num_days();
            eighteen + chrono::Days::new(rng.gen_range(1..=span) as u64)
        } else {
            let oldest = as_of - Months::new(76 * 12);
            let span = (eighteen - oldest).num_days() - 1;
            let skewed = (rng.gen::<f64>().powf(1.7) * span as f64) as u64;
            eighteen - chrono::Days::new(skewed)
        };
        let name = Name::random(&mut rng, sex);
        let city = world.cities.sample(&mut rng);
        let adult_from = birth_date + Months::new(if minor { 16 * 12 } else { 18 * 12 });
        let earliest = (world.now - 6 * 365 * SECONDS_PER_DAY).max(midnight(adult_from));
        let latest = world.now - 3600;
        let created_at = rng.gen_range(earliest.min(latest - SECONDS_PER_DAY)..latest);
        let status = match rng.gen_range(0..1000) {
            0..=9 => Status::Blocked,
            10..=29 => Status::Closed,
            _ => Status::Active,
        };
        let status_at = rng.gen_range(created_at..world.now);
        let citizenship = match rng.gen_range(0..100) {
            0 => "RU",
            1 => "UZ",
            2 => "KG",
            _ => "KZ",
        };
        let home_ip = if rng.gen_bool(0.03) {
            world.shared_ip_blocks[rng.gen_range(0..world.shared_ip_blocks.len())]
                + rng.gen_range(0..16)
        } else {
            kz_ip(&mut rng)
        };
        let mobile_ip = if rng.gen_bool(0.05) {
            world.shared_ip_blocks[rng.gen_range(0..world.shared_ip_blocks.len())]
                + rng.gen_range(0..16)
        } else {
            kz_ip(&mut rng)
        };
        Person {
            sex,
            birth_date,
            minor,
            name,
            city,
            created_at,
            status,
            status_at,
            citizenship,
            home_ip,
            mobile_ip,
        }
    }

    /// A moment between sign-up and the as-of date.
    pub(super) fn moment(&self, world: &World, rng: &mut ChaCha8Rng) -> i64 {
        rng.gen_range(self.created_at..world.now)
    }
}

pub(super) fn midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

pub(super) fn date_of(seconds: i64) -> NaiveDate {
    DateTime::from_timestamp(seconds, 0)
        .expect("timestamps stay within chrono's range")
        .date_naive()
}
