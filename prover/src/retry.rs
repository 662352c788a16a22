//! Retrying work that fails: the back-off between attempts, and the message of a panic
//! that an attempt records as its error. Shared by the fleet's workers and the sequencer's
//! provers.

use std::time::Duration;

/// The wait before trying again after `attempts` failed attempts: 1 s after the first,
/// doubling, at most `cap`.
pub fn backoff(attempts: u32, cap: Duration) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(32)).min(cap)
}

/// What a caught panic said, for an error message.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let minute = Duration::from_secs(64);
        assert_eq!(backoff(0, minute), Duration::from_secs(1));
        assert_eq!(backoff(1, minute), Duration::from_secs(1));
        assert_eq!(backoff(3, minute), Duration::from_secs(4));
        assert_eq!(backoff(7, minute), minute);
        assert_eq!(backoff(u32::MAX, minute), minute);
        assert_eq!(
            backoff(40, Duration::from_secs(300)),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn a_panics_message_is_its_text() {
        let caught = std::panic::catch_unwind(|| panic!("out of {}", "memory")).unwrap_err();
        assert_eq!(panic_message(&*caught), "out of memory");
        let caught = std::panic::catch_unwind(|| std::panic::panic_any(7)).unwrap_err();
        assert_eq!(panic_message(&*caught), "a panic without a message");
    }
}
