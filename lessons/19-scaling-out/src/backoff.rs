//! NEW(lesson 19): how long to wait before trying again: exponential backoff with full jitter.
//!
//! The ceiling doubles (by default) with every retry, so that a client backs off from a server
//! in trouble; the wait itself is drawn at random below the ceiling, so that a thousand clients
//! that failed at the same moment do not all come back at the same moment.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with full jitter: before retry `n` (the first retry is 1), wait a
/// random time in `[0, min(initial × multiplier^(n-1), max)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// How much the ceiling grows from one retry to the next (1 keeps it flat).
    pub multiplier: f64,
    /// The ceiling never grows past this.
    pub max: Duration,
}

impl Backoff {
    /// The longest wait before retry `retry` (1 for the first retry, 0 is taken as 1):
    /// `initial × multiplier^(retry-1)`, at most `max`. Any input gives a duration, never a
    /// panic: a ceiling that is not a finite number of seconds (a huge exponent) is `max`, and
    /// one below zero (a negative multiplier) is zero.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        let max = self.max.as_secs_f64();
        if seconds.is_nan() || seconds >= max {
            self.max
        } else if seconds <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(seconds)
        }
    }

    /// The wait before retry `retry`: uniform in `[0, ceiling(retry)]`, drawn from `rng`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        self.ceiling(retry).mul_f64(rng.random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const BACKOFF: Backoff = Backoff {
        initial: Duration::from_millis(100),
        multiplier: 2.0,
        max: Duration::from_secs(1),
    };

    #[test]
    fn the_ceiling_doubles_until_the_maximum() {
        let ceilings: Vec<u128> = (1..=6).map(|n| BACKOFF.ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1000, 1000],
            "the ceiling of retry n must be initial × multiplier^(n-1), capped at max"
        );
        assert_eq!(
            BACKOFF.ceiling(0),
            BACKOFF.ceiling(1),
            "retry 0 is read as 1"
        );
    }

    #[test]
    fn odd_settings_give_a_duration_not_a_panic() {
        let huge = Backoff {
            multiplier: 1e300,
            ..BACKOFF
        };
        assert_eq!(huge.ceiling(u32::MAX), BACKOFF.max);
        let negative = Backoff {
            multiplier: -3.0,
            ..BACKOFF
        };
        assert_eq!(negative.ceiling(2), Duration::ZERO);
        let nan = Backoff {
            multiplier: f64::NAN,
            ..BACKOFF
        };
        assert_eq!(nan.ceiling(3), BACKOFF.max);
    }

    #[test]
    fn every_delay_is_drawn_below_its_ceiling_and_they_differ() {
        let mut rng = StdRng::seed_from_u64(19);
        for retry in 1..=6 {
            let delays: Vec<Duration> = (0..200).map(|_| BACKOFF.delay(retry, &mut rng)).collect();
            let ceiling = BACKOFF.ceiling(retry);
            assert!(
                delays.iter().all(|delay| *delay <= ceiling),
                "retry {retry}: a delay above the ceiling {ceiling:?}"
            );
            // Full jitter: the waits spread over the whole range, not around one value.
            let low = delays.iter().filter(|d| **d < ceiling / 4).count();
            let high = delays.iter().filter(|d| **d > ceiling * 3 / 4).count();
            assert!(
                low > 20 && high > 20,
                "retry {retry}: 200 delays under {ceiling:?} should spread over the range \
                 (full jitter); {low} were in the lowest quarter, {high} in the highest"
            );
        }
    }
}
