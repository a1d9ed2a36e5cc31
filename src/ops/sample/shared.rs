//! Rows replayed by more than one table: a borrower's loans (for loans and their
//! payments) and devices (for devices and their sessions).

use std::fmt::Write as _;

use chrono::NaiveDate;
use rand::distributions::WeightedIndex;
use rand::prelude::*;

use super::names::*;
use super::person::{date_of, midnight, Person};
use super::world::{RandomStream, World, SECONDS_PER_DAY};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum LoanStatus {
    Open,
    Closed,
    Overdue,
    WrittenOff,
}

pub(super) struct Loan {
    pub(super) issued_at: i64,
    pub(super) due_on: NaiveDate,
    pub(super) closed_at: Option<i64>,
    pub(super) status: LoanStatus,
    /// Principal and the amount owed at due date, in tiyn.
    pub(super) principal: i64,
    pub(super) owed: i64,
    pub(super) rate_basis_points: i64,
}

pub(super) fn loans_of(world: &World, person: &Person, borrower: u64) -> Vec<Loan> {
    let mut rng = world.rng(borrower, RandomStream::Loan);
    let count = WeightedIndex::new([15u32, 25, 20, 15, 12, 8, 5])
        .expect("positive weights")
        .sample(&mut rng);
    let earliest = person.created_at.max(world.now - 6 * 365 * SECONDS_PER_DAY);
    let mut issued: Vec<i64> = (0..count)
        .map(|_| rng.gen_range(earliest..world.now - 3600))
        .collect();
    issued.sort_unstable();
    let as_of = world.as_of;
    issued
        .into_iter()
        .enumerate()
        .map(|(index, issued_at)| {
            let term_days = [7u64, 15, 30, 30, 45, 60, 90, 180][rng.gen_range(0..8)];
            let principal =
                rng.gen_range(if index == 0 { 20..=100 } else { 30..=300 }) * 1000 * 100;
            let rate_basis_points = if index == 0 && rng.gen_bool(0.3) {
                0
            } else {
                [3650, 4500, 4990, 5600][rng.gen_range(0..4)]
            };
            let owed =
                principal + principal * rate_basis_points * term_days as i64 / (365 * 10_000);
            let due_on = date_of(issued_at) + chrono::Days::new(term_days);
            let due_at = midnight(due_on);
            let roll = rng.gen_range(0..100);
            let (status, closed_at) = if due_on >= as_of {
                if roll < 25 {
                    (
                        LoanStatus::Closed,
                        Some(rng.gen_range(issued_at..world.now)),
                    )
                } else {
                    (LoanStatus::Open, None)
                }
            } else if roll < 88 {
                let late =
                    rng.gen_range(-(term_days as i64) * SECONDS_PER_DAY / 2..10 * SECONDS_PER_DAY);
                let closed = (due_at + late).clamp(issued_at + 3600, world.now - 1);
                (LoanStatus::Closed, Some(closed))
            } else if roll < 97 || due_at > world.now - 180 * SECONDS_PER_DAY {
                (LoanStatus::Overdue, None)
            } else {
                (LoanStatus::WrittenOff, None)
            };
            Loan {
                issued_at,
                due_on,
                closed_at,
                status,
                principal,
                owed,
                rate_basis_points,
            }
        })
        .collect()
}

pub(super) struct Device {
    pub(super) uid: u128,
    pub(super) kind: usize,
    pub(super) first_seen: i64,
    pub(super) last_seen: i64,
}

pub(super) fn devices_of(world: &World, person: &Person, borrower: u64) -> Vec<Device> {
    let mut rng = world.rng(borrower, RandomStream::Device);
    let count = match rng.gen_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    (0..count)
        .map(|_| {
            let first_seen = person.moment(world, &mut rng);
            Device {
                uid: rng.gen(),
                kind: rng.gen_range(0..DEVICES.len()),
                first_seen,
                last_seen: rng.gen_range(first_seen..world.now),
            }
        })
        .collect()
}

pub(super) fn user_agent(kind: usize, buffer: &mut String) {
    let (os, model, browser) = DEVICES[kind];
    match browser {
        None => {
            let _ = write!(buffer, "1Kredit/3.{} ({os}; {model})", kind % 7 + 2);
        }
        Some(browser) => {
            let (name, version) = browser.split_once(' ').unwrap_or((browser, "1"));
            let _ = write!(
                buffer,
                "Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) {name}/{version}.0"
            );
        }
    }
}
