//! Bounded retries of a transaction the server rolled back for a transient reason.
//!
//! A serialization failure (SQLSTATE 40001), a deadlock (40P01) or a lock held past
//! `lock_timeout` (55P03) ends the transaction with a rollback the server reported:
//! nothing of it stayed, and the same work run again a moment later usually goes
//! through. [`retry_safe`] is the one rule deciding that; the batch loop and the
//! archive restore's member loads follow it, with the waits of [`delay`]. Anything
//! else (a lost connection above all: the client is gone and whether a commit
//! reached the server is unknown) fails as before, and a rerun resumes from the
//! checkpoint.

use std::time::Duration;

use super::ChangeError;

/// How many times a transaction is run again after its first attempt.
pub const RETRIES: u32 = 3;

/// Whether `error` ended a transaction that may simply be run again: the server
/// rolled it back for a transient reason (a serialization failure, a deadlock, a
/// lock wait past `lock_timeout`), so nothing of it stayed.
pub fn retry_safe(error: &ChangeError) -> bool {
    matches!(error, ChangeError::Conflict | ChangeError::LockTimeout)
}

/// The SQLSTATE(s) behind a retry-safe error, for the log (never row values).
pub fn sqlstate(error: &ChangeError) -> &'static str {
    match error {
        ChangeError::LockTimeout => "55P03 lock timeout",
        ChangeError::Conflict => "40001/40P01 serialization failure or deadlock",
        _ => "not transient",
    }
}

/// The wait before retry `attempt` (1-based): 200 ms, 800 ms, 3.2 s, each with up
/// to a quarter more at random, so runs that collided do not collide again in step.
pub fn delay(attempt: u32) -> Duration {
    let base = Duration::from_millis(200) * 4u32.pow(attempt.saturating_sub(1).min(4));
    let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0.0..0.25);
    base.mul_f64(1.0 + jitter)
}

/// Log retry `attempt` of `what` after `error`, then wait [`delay`].
pub async fn wait_before(attempt: u32, what: &str, error: &ChangeError) {
    let wait = delay(attempt);
    tracing::warn!(
        "{what}: transaction rolled back (SQLSTATE {}); retry {attempt} of {RETRIES} in {} ms",
        sqlstate(error),
        wait.as_millis()
    );
    tokio::time::sleep(wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_rollbacks_are_retried() {
        assert!(retry_safe(&ChangeError::LockTimeout));
        assert!(retry_safe(&ChangeError::Conflict));
        for error in [
            ChangeError::ReadOnly,
            ChangeError::StatementTimeout,
            ChangeError::Database("connection closed".into()),
            ChangeError::Audit("chain".into()),
            ChangeError::Refused("other subject".into()),
            ChangeError::RunLockHeld {
                operation: "purge".into(),
                scope: "r".into(),
            },
        ] {
            assert!(!retry_safe(&error), "{error:?} is not retried");
        }
    }

    #[test]
    fn each_wait_is_four_times_the_last_with_a_little_jitter() {
        for (attempt, base) in [(1, 200), (2, 800), (3, 3_200)] {
            let wait = delay(attempt).as_millis() as u64;
            assert!(
                (base..=base * 5 / 4).contains(&wait),
                "retry {attempt} waits {wait} ms"
            );
        }
    }
}
