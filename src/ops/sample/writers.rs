//! Each table's rows, one borrower at a time, with running ids: what `COPY`
//! streams into every table of the reference schema.

use std::collections::HashSet;

use chrono::{Datelike, Months};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::names::*;
use super::person::{date_of, midnight, Name, Person, Status};
use super::row::{kz_iban, random_hex, Row};
use super::shared::{devices_of, loans_of, user_agent, LoanStatus};
use super::world::{kz_ip, RandomStream, World, SECONDS_PER_DAY};
use crate::kz::identity::{Bin, BinEntity, BinUnit, Iin, Sex};

/// Each table's rows, one borrower (a "unit") at a time, with the running id.
pub(super) struct TableWriter {
    table: &'static str,
    next_id: u64,
    /// Ids of a parent table replayed alongside (loans for payments, devices for
    /// sessions).
    next_parent_id: u64,
    issued_iins: HashSet<u64>,
}

impl TableWriter {
    pub(super) fn for_table(table: &'static str, world: &World) -> TableWriter {
        TableWriter {
            table,
            next_id: 1,
            next_parent_id: 1,
            issued_iins: if table == "borrowers" {
                HashSet::with_capacity(world.borrowers as usize)
            } else {
                HashSet::new()
            },
        }
    }

    pub(super) fn units(&self, world: &World) -> u64 {
        match self.table {
            "policy_versions" => 1,
            _ => world.borrowers,
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(super) fn write_unit(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        match self.table {
            "policy_versions" => write_policy_versions(world, out),
            "borrowers" => self.write_borrower(world, borrower, out),
            "addresses" => self.write_addresses(world, borrower, out),
            "identity_documents" => self.write_documents(world, borrower, out),
            "contact_persons" => self.write_contact_persons(world, borrower, out),
            "employments" => self.write_employment(world, borrower, out),
            "bank_cards" => self.write_cards(world, borrower, out),
            "bank_accounts" => self.write_accounts(world, borrower, out),
            "photos" => self.write_photos(world, borrower, out),
            "loans" => self.write_loans(world, borrower, out),
            "payments" => self.write_payments(world, borrower, out),
            "devices" => self.write_devices(world, borrower, out),
            "sessions" => self.write_sessions(world, borrower, out),
            "server_logs" => self.write_logs(world, borrower, out),
            "cookies" => self.write_cookies(world, borrower, out),
            "usage_events" => self.write_usage(world, borrower, out),
            "locations" => self.write_locations(world, borrower, out),
            "consents" => self.write_consents(world, borrower, out),
            "policy_notices" => self.write_notices(world, borrower, out),
            "disclosures" => self.write_disclosures(world, borrower, out),
            "support_messages" => self.write_support(world, borrower, out),
            other => unreachable!("no generator for table {other}"),
        }
    }

    fn write_borrower(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Borrower);
        let mut serial = rng.gen_range(0..10_000u16);
        let iin = loop {
            if let Some(iin) = Iin::from_parts(person.birth_date, person.sex, serial) {
                let key: u64 = iin.to_string().parse().expect("12 digits");
                if self.issued_iins.insert(key) {
                    break iin;
                }
            }
            serial = (serial + 1) % 10_000;
        };
        let bin = (!person.minor && rng.gen_bool(0.03)).then(|| {
            let registered =
                date_of(person.created_at) - chrono::Days::new(rng.gen_range(30..3000));
            let mut serial = rng.gen_range(0..99_000);
            loop {
                if let Some(bin) = Bin::from_parts(
                    registered,
                    BinEntity::IndividualEntrepreneur,
                    BinUnit::Head,
                    serial,
                ) {
                    break bin.to_string();
                }
                serial += 1;
            }
        });
        let marital = if person.minor {
            "single"
        } else {
            [
                "single", "married", "married", "married", "divorced", "widowed", "single",
            ][rng.gen_range(0..7)]
        };
        let dependants = if person.minor {
            0
        } else {
            [0, 0, 1, 1, 2, 2, 3, 4][rng.gen_range(0..8)]
        };
        let pep = rng.gen_bool(0.002).then_some(
            [
                "spouse of a foreign PEP",
                "child of a foreign PEP",
                "close associate of a foreign PEP",
            ][rng.gen_range(0..3)],
        );
        let beneficial_owner = rng.gen_bool(0.02);
        let (status, token_version, updated_at) = match person.status {
            Status::Active => ("active", 1, person.status_at),
            Status::Blocked => ("blocked", 2, person.status_at),
            Status::Closed => ("closed", 1, person.status_at),
        };
        Row::start(out)
            .raw(borrower)
            .raw(iin)
            .opt_text(bin.as_deref())
            .text(&person.name.last())
            .text(person.name.first)
            .opt_text(person.name.patronymic().as_deref())
            .date(person.birth_date)
            .raw(person.sex.code())
            .raw(person.citizenship)
            .raw(marital)
            .raw(dependants)
            .opt_text(pep)
            .raw(if beneficial_owner { 't' } else { 'f' })
            .opt_text(world.email_of(borrower).as_deref())
            .raw(world.phone_of(borrower))
            .raw(status)
            .raw(token_version)
            .timestamp(person.created_at)
            .timestamp(updated_at)
            .end()
    }

    fn write_addresses(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Address);
        let residence = (
            person.city,
            STREETS[rng.gen_range(0..STREETS.len())],
            house_number(&mut rng),
            rng.gen_bool(0.7)
                .then(|| rng.gen_range(1..300u32).to_string()),
        );
        let registration = match rng.gen_range(0..10) {
            0..=5 => residence.clone(),
            6..=7 => (
                person.city,
                STREETS[rng.gen_range(0..STREETS.len())],
                house_number(&mut rng),
                rng.gen_bool(0.6)
                    .then(|| rng.gen_range(1..300u32).to_string()),
            ),
            _ => (
                world.cities.sample(&mut rng),
                STREETS[rng.gen_range(0..STREETS.len())],
                house_number(&mut rng),
                rng.gen_bool(0.4)
                    .then(|| rng.gen_range(1..300u32).to_string()),
            ),
        };
        let mut rows = 0;
        for (kind, (city, street, house, flat)) in
            [("residence", residence), ("registration", registration)]
        {
            let city = &CITIES[city];
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .text(city.region)
                .text(city.name)
                .text(street)
                .text(&house)
                .opt_text(flat.as_deref())
                .raw(city.postcode)
                .timestamp(person.created_at)
                .end();
        }
        rows
    }

    fn write_documents(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Document);
        let (doc_type, number) = if person.citizenship != "KZ" {
            (
                "residence_permit",
                format!("F{:08}", rng.gen_range(0..100_000_000)),
            )
        } else if rng.gen_bool(0.85) {
            ("id_card", format!("{:09}", rng.gen_range(0..1_000_000_000)))
        } else {
            ("passport", format!("N{:08}", rng.gen_range(0..100_000_000)))
        };
        let sixteen = person.birth_date + Months::new(16 * 12);
        let earliest = sixteen.max(world.as_of - Months::new(10 * 12) + chrono::Days::new(1));
        let latest = (world.as_of - chrono::Days::new(1)).max(earliest);
        let span = (latest - earliest).num_days();
        let issued_on = earliest + chrono::Days::new(rng.gen_range(0..=span) as u64);
        let issued_by = if doc_type == "id_card" && issued_on.year() < 2012 {
            "МЮ РК"
        } else {
            "МВД РК"
        };
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .raw(doc_type)
            .raw(number)
            .text(issued_by)
            .date(issued_on)
            .date(issued_on + Months::new(10 * 12) - chrono::Days::new(1))
            .timestamp(person.created_at)
            .end()
    }

    fn write_contact_persons(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::ContactPerson);
        let count = if rng.gen_bool(0.6) { 1 } else { 2 };
        let mut rows = 0;
        for _ in 0..count {
            let sex = if rng.gen_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let name = Name::random(&mut rng, sex);
            let phone = format!(
                "+7{}{:07}",
                MOBILE_CODES[rng.gen_range(0..MOBILE_CODES.len())],
                rng.gen_range(0..10_000_000)
            );
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .text(&name.full())
                .text(CONTACT_RELATIONS[rng.gen_range(0..CONTACT_RELATIONS.len())])
                .raw(phone)
                .timestamp(person.created_at)
                .end();
        }
        rows
    }

    fn write_employment(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Employment);
        if person.minor || !rng.gen_bool(0.85) {
            return 0;
        }
        let employer = &world.employers[rng.gen_range(0..world.employers.len())];
        let city = &CITIES[employer.city];
        let address = format!("{}, {}, {}", city.name, employer.street, employer.house);
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .text(&employer.name)
            .raw(employer.bin)
            .text(&address)
            .text(POSITIONS[rng.gen_range(0..POSITIONS.len())])
            .money(rng.gen_range(85..1200) * 1000 * 100)
            .timestamp(person.created_at)
            .end()
    }

    fn write_cards(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Card);
        let count = if rng.gen_bool(0.7) { 1 } else { 2 };
        let holder = format!(
            "{} {}",
            transliterate(person.name.first).to_uppercase(),
            transliterate(&person.name.last()).to_uppercase()
        );
        let mut rows = 0;
        for _ in 0..count {
            let added = person.moment(world, &mut rng);
            let expires_year = date_of(added).year() + rng.gen_range(1..5);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!(
                    "{}******{:04}",
                    CARD_PREFIXES[rng.gen_range(0..CARD_PREFIXES.len())],
                    rng.gen_range(0..10_000)
                ))
                .raw(format_args!("tok_{}", random_hex(&mut rng, 12)))
                .text(&holder)
                .raw(format_args!(
                    "{:02}/{:02}",
                    rng.gen_range(1..=12),
                    expires_year % 100
                ))
                .timestamp(added)
                .end();
        }
        rows
    }

    fn write_accounts(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Account);
        if !rng.gen_bool(0.6) {
            return 0;
        }
        let (code, bic) = BANKS[rng.gen_range(0..BANKS.len())];
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .raw(kz_iban(code, rng.gen_range(0..10_000_000_000_000)))
            .raw(bic)
            .timestamp(person.moment(world, &mut rng))
            .end()
    }

    fn write_photos(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Photo);
        let mut kinds = vec!["selfie", "id_front", "id_back"];
        if rng.gen_bool(0.1) {
            kinds.push("selfie");
        }
        let mut rows = 0;
        for (index, kind) in kinds.into_iter().enumerate() {
            let taken_at =
                (person.created_at + 60 * index as i64 + rng.gen_range(0..600)).min(world.now - 1);
            let month = date_of(taken_at);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .raw(format_args!(
                    "kyc/{:04}/{:02}/{borrower}/{kind}-{}.jpg",
                    month.year(),
                    month.month(),
                    random_hex(&mut rng, 8)
                ))
                .raw(random_hex(&mut rng, 32))
                .timestamp(taken_at)
                .end();
        }
        rows
    }

    fn write_loans(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rows = 0;
        for loan in loans_of(world, &person, borrower) {
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!(
                    "1K-{}-{id:08}",
                    date_of(loan.issued_at).year()
                ))
                .money(loan.principal)
                .money(loan.rate_basis_points)
                .timestamp(loan.issued_at)
                .date(loan.due_on)
                .opt_timestamp(loan.closed_at)
                .raw(match loan.status {
                    LoanStatus::Open => "open",
                    LoanStatus::Closed => "closed",
                    LoanStatus::Overdue => "overdue",
                    LoanStatus::WrittenOff => "written_off",
                })
                .end();
        }
        rows
    }

    fn write_payments(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Payment);
        let mut rows = 0;
        for loan in loans_of(world, &person, borrower) {
            let loan_id = self.next_parent_id;
            self.next_parent_id += 1;
            // Closed loans are paid in full, the last payment closing them; the rest
            // have partial payments, if any.
            let (count, total, last_at) = match loan.status {
                LoanStatus::Closed => {
                    let closed_at = loan.closed_at.expect("closed loans have a closing time");
                    (rng.gen_range(1..=3), loan.owed, closed_at)
                }
                LoanStatus::Open => (rng.gen_range(0..=1), loan.owed / 3, world.now - 1),
                LoanStatus::Overdue => (rng.gen_range(0..=2), loan.owed / 4, world.now - 1),
                LoanStatus::WrittenOff => (rng.gen_range(0..=1), loan.owed / 5, world.now - 1),
            };
            let mut paid = 0;
            for part in 1..=count {
                let amount = if part == count {
                    (total - paid).max(100)
                } else {
                    total / count - rng.gen_range(0..total / count / 4 + 1)
                };
                paid += amount;
                let paid_at = if part == count && loan.status == LoanStatus::Closed {
                    last_at
                } else {
                    rng.gen_range(loan.issued_at..last_at.max(loan.issued_at + 1))
                };
                let id = self.id();
                rows += Row::start(out)
                    .raw(id)
                    .raw(loan_id)
                    .timestamp(paid_at)
                    .money(amount.max(100))
                    .raw(
                        [
                            "card",
                            "card",
                            "kaspi",
                            "kaspi",
                            "terminal",
                            "bank_transfer",
                        ][rng.gen_range(0..6)],
                    )
                    .end();
            }
        }
        rows
    }

    fn write_devices(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rows = 0;
        for device in devices_of(world, &person, borrower) {
            let (os, model, browser) = DEVICES[device.kind];
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!("{:032x}", device.uid))
                .raw(os)
                .raw(model)
                .opt_text(browser)
                .timestamp(device.first_seen)
                .timestamp(device.last_seen)
                .end();
        }
        rows
    }

    fn write_sessions(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let devices = devices_of(world, &person, borrower);
        let first_device_id = self.next_parent_id;
        self.next_parent_id += devices.len() as u64;
        let mut rng = world.rng(borrower, RandomStream::Session);
        let mut rows = 0;
        let mut agent = String::new();
        for _ in 0..rng.gen_range(1..=6) {
            let index = rng.gen_range(0..devices.len());
            let device = &devices[index];
            let started_at = rng.gen_range(device.first_seen..=device.last_seen);
            let last_seen_at = (started_at + rng.gen_range(30..7200)).min(world.now - 1);
            let ip = match rng.gen_range(0..10) {
                0..=5 => person.mobile_ip,
                6..=8 => person.home_ip,
                _ => kz_ip(&mut rng),
            };
            let revoked_at = match person.status {
                Status::Active => rng.gen_bool(0.05).then_some(last_seen_at),
                Status::Blocked | Status::Closed => Some(person.status_at.max(last_seen_at)),
            };
            agent.clear();
            user_agent(device.kind, &mut agent);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(first_device_id + index as u64)
                .ip(ip)
                .text(&agent)
                .timestamp(started_at)
                .timestamp(last_seen_at)
                .opt_timestamp(revoked_at)
                .end();
        }
        rows
    }

    /// About `log_rows_per_borrower` rows per borrower over the 24 months before
    /// `as_of`; about one in ten is anonymous traffic with no borrower.
    fn write_logs(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let devices = devices_of(world, &person, borrower);
        let mut rng = world.rng(borrower, RandomStream::Log);
        let start = midnight(world.log_start_month());
        let earliest = start.max(person.created_at);
        let count = rng.gen_range(0..=2 * world.log_rows_per_borrower);
        let mut rows = 0;
        let mut agent = String::new();
        for _ in 0..count {
            let anonymous = rng.gen_bool(0.1);
            let logged_at = if anonymous {
                rng.gen_range(start..world.now)
            } else {
                rng.gen_range(earliest..world.now)
            };
            let ip = if anonymous {
                kz_ip(&mut rng)
            } else if rng.gen_bool(0.6) {
                person.mobile_ip
            } else {
                person.home_ip
            };
            let (method, path) = REQUESTS[rng.gen_range(0..REQUESTS.len())];
            let status = match rng.gen_range(0..100) {
                0..=87 => 200,
                88..=90 => 201,
                91..=92 => 304,
                93..=95 => 401,
                96..=97 => 404,
                98 => 429,
                _ => 500,
            };
            agent.clear();
            let kind = if anonymous {
                rng.gen_range(0..DEVICES.len())
            } else {
                devices[rng.gen_range(0..devices.len())].kind
            };
            user_agent(kind, &mut agent);
            let id = self.id();
            let row = Row::start(out).raw(id).timestamp(logged_at);
            let row = if anonymous {
                row.null()
            } else {
                row.raw(borrower)
            };
            rows += row
                .ip(ip)
                .raw(method)
                .raw(path)
                .raw(status)
                .text(&agent)
                .end();
        }
        rows
    }

    fn write_cookies(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Cookie);
        const COOKIES: &[(&str, &str, Option<i64>)] = &[
            ("cookie", "session_id", Some(30)),
            ("cookie", "_ga", Some(400)),
            ("pixel", "_fbp", Some(90)),
            ("local_storage", "device_fingerprint", None),
        ];
        let count = rng.gen_range(2..=COOKIES.len());
        let mut rows = 0;
        for (kind, name, lifetime_days) in &COOKIES[..count] {
            let set_at = person.moment(world, &mut rng);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .raw(name)
                .raw(random_hex(&mut rng, 32))
                .timestamp(set_at)
                .opt_timestamp(lifetime_days.map(|days| set_at + days * SECONDS_PER_DAY))
                .end();
        }
        rows
    }

    fn write_usage(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Usage);
        let mut rows = 0;
        for _ in 0..rng.gen_range(1..=15) {
            let id = self.id();
            let occurred_at = person.moment(world, &mut rng);
            let event = USAGE_EVENTS[rng.gen_range(0..USAGE_EVENTS.len())];
            let screen = SCREENS[rng.gen_range(0..SCREENS.len())];
            let row = Row::start(out)
                .raw(id)
                .raw(borrower)
                .timestamp(occurred_at)
                .raw(event)
                .raw(screen);
            rows += if event == "screen_view" {
                row.raw(rng.gen_range(300..120_000))
            } else {
                row.null()
            }
            .end();
        }
        rows
    }

    fn write_locations(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Location);
        let city = &CITIES[person.city];
        let mut rows = 0;
        for _ in 0..rng.gen_range(0..=5) {
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .timestamp(person.moment(world, &mut rng))
                .raw(format_args!(
                    "{:.6}",
                    city.latitude + rng.gen_range(-0.08..0.08)
                ))
                .raw(format_args!(
                    "{:.6}",
                    city.longitude + rng.gen_range(-0.10..0.10)
                ))
                .raw(rng.gen_range(5..500))
                .end();
        }
        rows
    }

    fn write_consents(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Consent);
        let policy = world
            .policies
            .iter()
            .rev()
            .find(|p| p.published_at <= person.created_at)
            .unwrap_or(&world.policies[0]);
        let marketing = rng.gen_bool(0.6);
        // About 3% withdraw one optional purpose by a written application.
        let withdrawn = rng
            .gen_bool(0.03)
            .then(|| ["marketing", "location_security", "notices"][rng.gen_range(0..3)]);
        let mut rows = 0;
        for purpose in CONSENT_PURPOSES {
            if *purpose == "marketing" && !marketing {
                continue;
            }
            let (withdrawn_at, document_ref) = if withdrawn == Some(*purpose) {
                let at = person.moment(world, &mut rng);
                (
                    Some(at),
                    Some(format!("APP-{}-{:06}", date_of(at).year(), borrower)),
                )
            } else {
                (None, None)
            };
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(policy.id)
                .raw(purpose)
                .timestamp(person.created_at)
                .opt_timestamp(withdrawn_at)
                .opt_text(document_ref.as_deref())
                .end();
        }
        rows
    }

    fn write_notices(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Notice);
        let mut rows = 0;
        for policy in world
            .policies
            .iter()
            .filter(|p| p.published_at > person.created_at)
        {
            let notified_at =
                (policy.published_at + rng.gen_range(0..3 * SECONDS_PER_DAY)).min(world.now - 1);
            let objected_at = rng
                .gen_bool(0.02)
                .then(|| rng.gen_range(notified_at..world.now));
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(policy.id)
                .timestamp(notified_at)
                .opt_timestamp(objected_at)
                .opt_text(
                    objected_at
                        .map(|at| format!("EMAIL-{}-{:06}", date_of(at).year(), borrower))
                        .as_deref(),
                )
                .end();
        }
        rows
    }

    fn write_disclosures(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Disclosure);
        let mut rows = 0;
        let disclose = |writer: &mut TableWriter,
                        out: &mut String,
                        (recipient, purpose, basis, categories): (&str, &str, &str, &[&str]),
                        at: i64| {
            let id = writer.id();
            Row::start(out)
                .raw(id)
                .raw(borrower)
                .text(recipient)
                .raw(purpose)
                .text(basis)
                .raw(format_args!("{{{}}}", categories.join(",")))
                .timestamp(at)
                .end()
        };
        if rng.gen_bool(0.2) {
            rows += disclose(self, out, SCORING_PARTNER, person.created_at);
        }
        for loan in loans_of(world, &person, borrower) {
            rows += disclose(self, out, CREDIT_BUREAU, loan.issued_at + 60);
            if rng.gen_bool(0.5) {
                rows += disclose(self, out, STATE_CREDIT_BUREAU, loan.issued_at + 120);
            }
            let collected_at = midnight(loan.due_on) + 30 * SECONDS_PER_DAY;
            if matches!(loan.status, LoanStatus::Overdue | LoanStatus::WrittenOff)
                && collected_at < world.now
            {
                let collector = COLLECTORS[rng.gen_range(0..COLLECTORS.len())];
                rows += disclose(
                    self,
                    out,
                    (
                        collector,
                        "debt_collection",
                        "Law on Microfinance Activities, Art. 9-1; loan agreement",
                        COLLECTOR_CATEGORIES,
                    ),
                    collected_at,
                );
            }
        }
        rows
    }

    fn write_support(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, RandomStream::Support);
        let count = match rng.gen_range(0..10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        let mut rows = 0;
        for _ in 0..count {
            let template = SUPPORT_BODIES[rng.gen_range(0..SUPPORT_BODIES.len())];
            let body = if template.contains("{phone}") {
                let phone = world.phone_of(borrower);
                template.replace(
                    "{phone}",
                    &format!(
                        "8 {} {} {} {}",
                        &phone[2..5],
                        &phone[5..8],
                        &phone[8..10],
                        &phone[10..]
                    ),
                )
            } else {
                template.to_owned()
            };
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(["email", "call_centre", "chat"][rng.gen_range(0..3)])
                .timestamp(person.moment(world, &mut rng))
                .text(&body)
                .end();
        }
        rows
    }
}

pub(super) fn write_policy_versions(world: &World, out: &mut String) -> u64 {
    let mut rows = 0;
    for policy in &world.policies {
        let digest = Sha256::digest(format!(
            "1Kredit.kz privacy policy, version {}",
            policy.version
        ));
        rows += Row::start(out)
            .raw(policy.id)
            .raw(policy.version)
            .timestamp(policy.published_at)
            .raw(hex::encode(digest))
            .end();
    }
    rows
}

pub(super) fn house_number(rng: &mut ChaCha8Rng) -> String {
    let number = rng.gen_range(1..250);
    match rng.gen_range(0..10) {
        0 => format!("{number}А"),
        1 => format!("{number}/{}", rng.gen_range(1..5)),
        _ => number.to_string(),
    }
}
