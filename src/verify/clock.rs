//! The verifier's one clock.

/// The verifier's clock: the current time, and how `time < N` caveats are judged against it.
///
/// The one place a verifier gets its time from (the library never reads the system clock):
/// [`Verifier::at_time`](crate::Verifier::at_time) sets a strict clock,
/// [`Verifier::with_clock`](crate::Verifier::with_clock) one with leeway or a lifetime cap.
/// A lifetime cap therefore always comes with the time it is measured from.
///
/// ```
/// use macaroon_mint::Clock;
///
/// let strict = Clock::at(1_000);
/// assert_eq!((strict.now, strict.leeway, strict.max_ttl), (1_000, 0, None));
/// assert!(strict.holds(1_001));
/// assert!(!strict.holds(1_000)); // at N, `time < N` has expired
///
/// let tolerant = Clock::at(1_020).with_leeway(30).with_max_ttl(3600);
/// assert!(tolerant.holds(1_000)); // 20 s late, within the leeway
/// assert!(!Clock::at(1_030).with_leeway(30).holds(1_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Clock {
    /// The current time, Unix seconds.
    pub now: u64,
    /// Seconds a `time < N` caveat is still accepted after `N`, for clock skew between
    /// servers: it holds iff `now < N + leeway`. Default 0.
    pub leeway: u64,
    /// The longest lifetime accepted: when set, the root macaroon must carry a `time < N` caveat
    /// with `N <= now + max_ttl` (its earliest counts), so a token without an expiry or with one
    /// too far ahead is refused. Discharges' expiries do not count: a fresh discharge must not
    /// stretch a long-lived root. Default none.
    pub max_ttl: Option<u64>,
}

impl Clock {
    /// A strict clock at `now` (Unix seconds): no leeway, no lifetime cap.
    pub const fn at(now: u64) -> Clock {
        Clock {
            now,
            leeway: 0,
            max_ttl: None,
        }
    }

    /// Accepts `time < N` caveats until `N + leeway`.
    #[must_use]
    pub const fn with_leeway(mut self, leeway: u64) -> Clock {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens that expire later than `now + max_ttl`, or never.
    #[must_use]
    pub const fn with_max_ttl(mut self, max_ttl: u64) -> Clock {
        self.max_ttl = Some(max_ttl);
        self
    }

    /// Whether `time < expiry` holds at this clock's time.
    pub fn holds(&self, expiry: u64) -> bool {
        self.now < expiry.saturating_add(self.leeway)
    }
}
