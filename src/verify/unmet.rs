//! Why a first-party caveat does not hold: the reason a verification error carries.

/// Why a first-party caveat does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unmet {
    /// No satisfier accepted the caveat (no typed checking, or it was not asked for).
    #[error("no rule accepts it")]
    NoRule,
    /// The request context lacks the fact this caveat needs (e.g. no client IP for `ip = …`).
    #[error("the request context has no {0}")]
    Missing(&'static str),
    /// The context's value is not one the caveat allows.
    #[error("the request is outside what it allows")]
    NotAllowed,
    /// A `time < N` caveat that no satisfier accepted, checked by a verifier without a clock
    /// ([`Verifier::at_time`](crate::Verifier::at_time)): it cannot hold. Reported with or
    /// without typed checking.
    #[error("the verifier has no clock")]
    NoClock,
    /// A `time < N` caveat at or after `N` (plus the clock's leeway).
    #[error("expired at {expiry} (now {now})")]
    Expired {
        /// `N`.
        expiry: u64,
        /// The time of the check.
        now: u64,
    },
    /// The caveat matches no typed form.
    #[error("it matches no known caveat form")]
    Unknown,
    /// A typed caveat that the token kind does not allow (Onedata supported sets, SPEC §10.4).
    #[error("it is not supported on {token_kind} tokens")]
    NotSupported {
        /// `access`, `identity` or `invite`.
        token_kind: &'static str,
    },
}
