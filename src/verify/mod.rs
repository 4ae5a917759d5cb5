//! Verification: recompute every signature, match discharges, then evaluate predicates (SPEC §5).
#![cfg_attr(
    not(feature = "caveats"),
    allow(clippy::let_unit_value, clippy::unit_arg)
)]

mod clock;
#[cfg(feature = "caveats")]
mod context;
mod unmet;

pub use self::clock::Clock;
#[cfg(feature = "caveats")]
pub use self::context::{ApiCall, AuthContext, Consumer, DataAccess, Service};
pub use self::unmet::Unmet;

use std::borrow::Cow;

#[cfg(feature = "caveats")]
use crate::caveat::{Form, TypedCaveat};
use crate::crypto;
use crate::error::{Error, LimitError, MacaroonRole, VerifyError};
use crate::format::{self, Builder, CaveatRef, Packets, Visitor};
use crate::key::RootKey;
use crate::limits::Limits;
use crate::macaroon::Macaroon;

type GeneralSatisfier<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;

/// A predicate for [`Verifier::satisfy_exact`]: borrowed when the caller's bytes outlive the
/// verifier (a `&str`, `&[u8]`, `&String`, …), owned otherwise (`String`, `Vec<u8>`), so building
/// a verifier copies nothing it does not have to.
///
/// ```
/// use macaroon_mint::{ExactPredicate, Verifier};
///
/// let account = String::from("account = 3735928559");
/// let verifier = Verifier::new()
///     .satisfy_exact(&account)               // borrowed
///     .satisfy_exact("user = alice")         // borrowed, 'static
///     .satisfy_exact(format!("op = {}", 7)); // owned
/// assert_eq!(ExactPredicate::from("a").as_bytes(), b"a");
/// # let _ = verifier;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactPredicate<'a>(Cow<'a, [u8]>);

impl ExactPredicate<'_> {
    /// The predicate's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> From<&'a T> for ExactPredicate<'a> {
    fn from(predicate: &'a T) -> Self {
        ExactPredicate(Cow::Borrowed(predicate.as_ref()))
    }
}

impl From<String> for ExactPredicate<'_> {
    fn from(predicate: String) -> Self {
        ExactPredicate(Cow::Owned(predicate.into_bytes()))
    }
}

impl From<Vec<u8>> for ExactPredicate<'_> {
    fn from(predicate: Vec<u8>) -> Self {
        ExactPredicate(Cow::Owned(predicate))
    }
}

/// Checks that a macaroon and its discharges authorize a request.
///
/// A first-party caveat holds when at least one satisfier accepts it: an exact predicate
/// ([`satisfy_exact`](Verifier::satisfy_exact)), a general closure
/// ([`satisfy_general`](Verifier::satisfy_general)), the built-in `time < N` check against the
/// verifier's one clock ([`at_time`](Verifier::at_time), [`with_clock`](Verifier::with_clock)),
/// or the typed caveat checkers enabled by [`with_context`](Verifier::with_context). Anything no satisfier accepts fails verification,
/// naming the caveat and why.
///
/// The policy (SPEC §5.2): discharges are matched by exact identifier, the first unused match in
/// the given order; each discharge is used at most once (so cycles fail as
/// [`DischargeCycle`](VerifyError::DischargeCycle)); unused discharges are an error unless
/// [`ignore_unused_discharges`](Verifier::ignore_unused_discharges) is set; nesting and count are
/// bounded by [`Limits`]. Every signature is checked (in constant time) before any predicate is
/// evaluated, so a forged token never reveals which caveats would be accepted.
///
/// ```
/// use macaroon_mint::{Macaroon, RootKey, Verifier};
///
/// let key = RootKey::new(b"this is our super secret key; only we should know it");
/// let token = Macaroon::mint(&key, "http://mybank/", "we used our secret key")?
///     .with_first_party("account = 3735928559")?
///     .with_first_party("time < 1700003600")?;
///
/// let verified = Verifier::new()
///     .satisfy_exact("account = 3735928559")
///     .at_time(1_700_000_000)
///     .verify(&key, &token, &[])?;
/// assert_eq!(verified.identifier(), b"we used our secret key");
///
/// let late = Verifier::new()
///     .satisfy_exact("account = 3735928559")
///     .at_time(1_700_003_600)
///     .verify(&key, &token, &[]);
/// assert!(late.unwrap_err().to_string().contains("has expired"));
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
#[derive(Default)]
pub struct Verifier<'a> {
    exact: Vec<ExactPredicate<'a>>,
    general: Vec<GeneralSatisfier<'a>>,
    clock: Option<Clock>,
    #[cfg(feature = "caveats")]
    typed: Typed<'a>,
    limits: Limits,
    ignore_unused: bool,
}

impl core::fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("exact", &self.exact.len())
            .field("general", &self.general.len())
            .field("clock", &self.clock)
            .field("limits", &self.limits)
            .field("ignore_unused", &self.ignore_unused)
            .finish()
    }
}

/// What typed checking adds to a verifier: the request context, the token kind's supported forms
/// and the deferred forms.
#[cfg(feature = "caveats")]
#[derive(Default, Clone, Copy)]
struct Typed<'a> {
    context: Option<&'a AuthContext>,
    supported: Option<SupportedCaveats<'a>>,
    deferred: &'a [Form],
}

/// The typed forms a token kind allows (SPEC §10.4 "supported sets").
#[cfg(feature = "caveats")]
#[derive(Debug, Clone, Copy)]
struct SupportedCaveats<'a> {
    forms: &'a [Form],
    token_kind: &'static str,
}

/// The proof that verification succeeded: the only way to reach the verified macaroons.
///
/// [`Verifier::verify`] borrows the macaroon it was given; [`Verifier::verify_token`] keeps the
/// token's decoded bytes (its one allocation) and reads the fields from them when asked, so
/// callers never parse a token twice.
///
/// ```
/// use macaroon_mint::{Format, Macaroon, RootKey, Verifier};
///
/// let key = RootKey::new("k");
/// let token = Macaroon::mint(&key, "loc", "id")?.with_first_party("user = alice")?;
/// let text = token.serialize(Format::V2)?;
/// let verified = Verifier::new().satisfy_exact("user = alice").verify_token(&key, &text, &[])?;
/// assert_eq!((verified.identifier(), verified.location()), (&b"id"[..], &b"loc"[..]));
/// assert_eq!(verified.first_party_predicates().collect::<Vec<_>>(), [b"user = alice"]);
/// assert_eq!(verified.into_macaroon(), token);
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
pub struct Verified<'m> {
    root: VerifiedRoot<'m>,
    discharges: Vec<&'m Macaroon>,
    #[cfg_attr(not(feature = "caveats"), allow(dead_code))]
    deferred: Deferred,
}

/// The caveats a verification left to the caller (none without typed caveats).
#[cfg(feature = "caveats")]
type Deferred = Vec<DeferredCaveat>;
#[cfg(not(feature = "caveats"))]
type Deferred = ();

enum VerifiedRoot<'m> {
    /// What [`Verifier::verify`] was given.
    Borrowed(&'m Macaroon),
    /// A token [`Verifier::verify_token`] had to parse in full (third-party caveats, JSON).
    Parsed(Macaroon),
    /// The decoded bytes [`Verifier::verify_token`] walked, with the limits they passed.
    Decoded(Packets, Limits),
}

/// Copies the header of a walk.
#[derive(Default)]
struct Header<'a> {
    location: &'a [u8],
    identifier: &'a [u8],
}

impl<'a> Visitor<'a> for Header<'a> {
    fn header(&mut self, location: &'a [u8], identifier: &'a [u8]) -> Result<(), Error> {
        (self.location, self.identifier) = (location, identifier);
        Ok(())
    }

    fn caveat(&mut self, _caveat: CaveatRef<'a>) -> Result<(), Error> {
        Ok(())
    }
}

/// Collects the first-party predicates of a walk.
#[derive(Default)]
struct FirstParty<'a>(Vec<&'a [u8]>);

impl<'a> Visitor<'a> for FirstParty<'a> {
    fn header(&mut self, _location: &'a [u8], _identifier: &'a [u8]) -> Result<(), Error> {
        Ok(())
    }

    fn caveat(&mut self, caveat: CaveatRef<'a>) -> Result<(), Error> {
        if caveat.vid.is_none() {
            self.0.push(caveat.id);
        }
        Ok(())
    }
}

/// Walks bytes that were walked and verified before: the walk cannot fail the second time.
fn rewalk<'a>(packets: &'a Packets, limits: &Limits, visitor: &mut impl Visitor<'a>) -> [u8; 32] {
    match packets.walk(limits, visitor) {
        Ok(signature) => signature,
        Err(_) => unreachable!("verified bytes decode again under the same limits"),
    }
}

impl<'m> Verified<'m> {
    /// The verified root macaroon: borrowed from [`Verifier::verify`]'s argument, or built from
    /// the bytes [`Verifier::verify_token`] decoded (allocating only now).
    pub fn macaroon(&self) -> Cow<'_, Macaroon> {
        match &self.root {
            VerifiedRoot::Borrowed(m) => Cow::Borrowed(*m),
            VerifiedRoot::Parsed(m) => Cow::Borrowed(m),
            VerifiedRoot::Decoded(packets, limits) => {
                let mut builder = Builder::default();
                let signature = rewalk(packets, limits, &mut builder);
                Cow::Owned(builder.finish(signature))
            }
        }
    }

    /// The verified root macaroon, owned.
    pub fn into_macaroon(self) -> Macaroon {
        match self.root {
            VerifiedRoot::Borrowed(m) => m.clone(),
            VerifiedRoot::Parsed(m) => m,
            root @ VerifiedRoot::Decoded(..) => Verified {
                root,
                discharges: Vec::new(),
                deferred: Deferred::default(),
            }
            .macaroon()
            .into_owned(),
        }
    }

    /// The root's identifier.
    pub fn identifier(&self) -> &[u8] {
        self.header().identifier
    }

    /// The root's location (not covered by the signature).
    pub fn location(&self) -> &[u8] {
        self.header().location
    }

    fn header(&self) -> Header<'_> {
        match &self.root {
            VerifiedRoot::Borrowed(m) => Header {
                location: &m.location,
                identifier: &m.identifier,
            },
            VerifiedRoot::Parsed(m) => Header {
                location: &m.location,
                identifier: &m.identifier,
            },
            VerifiedRoot::Decoded(packets, limits) => {
                let mut header = Header::default();
                rewalk(packets, limits, &mut header);
                header
            }
        }
    }

    /// The discharges that were used, in verification order.
    pub fn discharges(&self) -> &[&'m Macaroon] {
        &self.discharges
    }

    /// The caveats of the deferred forms ([`Verifier::defer`]), in verification order: the
    /// verifier did not judge them; the caller must, e.g. with
    /// [`Verified::check_deferred`].
    #[cfg(feature = "caveats")]
    pub fn deferred(&self) -> &[DeferredCaveat] {
        &self.deferred
    }

    /// Checks the deferred caveats against `context` (and `time <` against `clock`), failing
    /// closed with the error verification would have given for the first that does not hold.
    ///
    /// ```
    /// use macaroon_mint::caveat::{Form, Operation, ServiceKind};
    /// use macaroon_mint::{ApiCall, AuthContext, Error, Macaroon, RootKey, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?.with_first_party("api = ozw/get/user.*.*:*")?;
    /// // Verify once: the signature and every other caveat; `api` is left for each operation.
    /// let verified = Verifier::new()
    ///     .with_context(&AuthContext::new())
    ///     .defer(&[Form::Api])
    ///     .verify(&key, &token, &[])?;
    /// assert_eq!(verified.deferred().len(), 1);
    ///
    /// let call = |operation| ApiCall {
    ///     service: ServiceKind::OnezoneWorker,
    ///     operation,
    ///     entity_type: "user".into(),
    ///     id: "u1".into(),
    ///     aspect: "instance".into(),
    ///     scope: "private".into(),
    /// };
    /// verified.check_deferred(&AuthContext::new().with_api(call(Operation::Get)), None)?;
    /// let err = verified
    ///     .check_deferred(&AuthContext::new().with_api(call(Operation::Delete)), None)
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::Verify(VerifyError::CaveatNotSatisfied { index: 0, .. })));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    #[cfg(feature = "caveats")]
    pub fn check_deferred(
        &self,
        context: &AuthContext,
        clock: Option<&Clock>,
    ) -> Result<(), Error> {
        for d in &self.deferred {
            if let Err(unmet) = d.caveat.check(context, clock) {
                return Err(unmet_error(
                    d.macaroon.clone(),
                    d.index,
                    d.caveat.to_bytes(),
                    unmet,
                ));
            }
        }
        Ok(())
    }

    /// Every first-party predicate that was checked: the root's, then each discharge's.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey, Verifier};
    /// let key = RootKey::new("k");
    /// let m = Macaroon::mint(&key, "", "id")?.with_first_party("a")?.with_first_party("b")?;
    /// let v = Verifier::new().satisfy_general(|_| true).verify(&key, &m, &[])?;
    /// assert_eq!(v.first_party_predicates().collect::<Vec<_>>(), [b"a", b"b"]);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn first_party_predicates(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let root: Vec<&[u8]> = match &self.root {
            VerifiedRoot::Borrowed(m) => first_party_of(m).collect(),
            VerifiedRoot::Parsed(m) => first_party_of(m).collect(),
            VerifiedRoot::Decoded(packets, limits) => {
                let mut first_party = FirstParty::default();
                rewalk(packets, limits, &mut first_party);
                first_party.0
            }
        };
        root.into_iter()
            .chain(self.discharges.iter().flat_map(|d| first_party_of(d)))
    }
}

fn first_party_of(m: &Macaroon) -> impl Iterator<Item = &[u8]> {
    m.caveats
        .iter()
        .filter(|c| !c.is_third_party())
        .map(|c| c.id.as_slice())
}

impl core::fmt::Debug for Verified<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The macaroons' own `Debug` redacts their signatures; decoded bytes are not printed.
        f.debug_struct("Verified")
            .field(
                "identifier",
                &format_args!("\"{}\"", crate::util::Printable(self.identifier())),
            )
            .field("discharges", &self.discharges)
            .finish_non_exhaustive()
    }
}

/// A caveat of a deferred form ([`Verifier::defer`]): authenticated, parsed, and left for the
/// caller to check.
#[cfg(feature = "caveats")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeferredCaveat {
    /// The macaroon holding it.
    pub macaroon: MacaroonRole,
    /// Its index within that macaroon.
    pub index: usize,
    /// The parsed caveat.
    pub caveat: TypedCaveat,
}

/// What checking a macaroon's caveats gathers: the earliest expiry (for the lifetime cap) and
/// the deferred caveats.
#[derive(Default)]
struct Tally {
    earliest_expiry: Option<u64>,
    deferred: Deferred,
}

/// The `N` of a `time < N` caveat, if the caveat is one, by the same rule as the typed parser
/// (canonical decimal, fits u64) and without allocating.
fn time_before(predicate: &[u8]) -> Option<u64> {
    let digits = predicate.strip_prefix(b"time < ")?;
    crate::util::decimal(core::str::from_utf8(digits).ok()?, u64::MAX).ok()
}

/// The verification error for a caveat that does not hold, by reason.
fn unmet_error(macaroon: MacaroonRole, index: usize, caveat: Vec<u8>, unmet: Unmet) -> Error {
    match unmet {
        Unmet::Expired { expiry, now } => VerifyError::Expired {
            macaroon,
            index,
            caveat,
            expiry,
            now,
        },
        Unmet::Unknown => VerifyError::UnknownCaveat {
            macaroon,
            index,
            caveat,
        },
        reason => VerifyError::CaveatNotSatisfied {
            macaroon,
            index,
            caveat,
            reason,
        },
    }
    .into()
}

fn role_of(frame: &Frame<'_>) -> MacaroonRole {
    match frame.discharge {
        None => MacaroonRole::Root,
        Some(_) => MacaroonRole::Discharge {
            identifier: frame.macaroon.identifier.clone(),
        },
    }
}

/// How many caveat slices the fast path keeps on the stack for the predicate pass.
const CACHED_CAVEATS: usize = 16;

/// Folds a root's first-party chain while the decoder validates it; notes third-party caveats
/// and keeps the first caveats' predicates for checking after authentication.
struct Chain<'k, 'a> {
    key: &'k RootKey,
    signature: [u8; 32],
    third_party: bool,
    seen: [&'a [u8]; CACHED_CAVEATS],
    count: usize,
}

impl<'a> Visitor<'a> for Chain<'_, 'a> {
    fn header(&mut self, _location: &'a [u8], identifier: &'a [u8]) -> Result<(), Error> {
        self.signature = self.key.sign_identifier(identifier);
        Ok(())
    }

    fn caveat(&mut self, caveat: CaveatRef<'a>) -> Result<(), Error> {
        // A third-party caveat needs the discharge machinery: the caller takes the full path.
        if caveat.vid.is_some() {
            self.third_party = true;
            return Ok(());
        }
        self.signature = crypto::fold(&self.signature, caveat);
        if let Some(slot) = self.seen.get_mut(self.count) {
            *slot = caveat.id;
        }
        self.count += 1;
        Ok(())
    }
}

/// Checks each first-party caveat of an authenticated root, in order.
struct Predicates<'v, 'a> {
    verifier: &'v Verifier<'a>,
    index: usize,
    tally: Tally,
}

impl<'c> Visitor<'c> for Predicates<'_, '_> {
    fn header(&mut self, _location: &'c [u8], _identifier: &'c [u8]) -> Result<(), Error> {
        Ok(())
    }

    fn caveat(&mut self, caveat: CaveatRef<'c>) -> Result<(), Error> {
        let index = self.index;
        self.index += 1;
        self.verifier
            .check_caveat(&MacaroonRole::Root, index, caveat, &mut self.tally)
    }
}

struct Frame<'m> {
    macaroon: &'m Macaroon,
    /// `None` for the root, else the discharge's index.
    discharge: Option<usize>,
    signature: [u8; 32],
    next: usize,
}

impl<'a> Verifier<'a> {
    /// A verifier that accepts nothing yet, with default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts first-party caveats equal to `predicate` byte for byte. A borrowed predicate is
    /// not copied (see [`ExactPredicate`]).
    pub fn satisfy_exact(mut self, predicate: impl Into<ExactPredicate<'a>>) -> Self {
        self.exact.push(predicate.into());
        self
    }

    /// Accepts first-party caveats equal to any of `predicates`, borrowed where they can be:
    /// [`satisfy_exact`](Verifier::satisfy_exact) for each, growing the verifier's list once.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new("k");
    /// let m = Macaroon::mint(&key, "", "id")?.with_first_party("a = 1")?.with_first_party("b = 2")?;
    /// let allowed = ["a = 1", "b = 2"];
    /// Verifier::new().satisfy_exact_all(&allowed).verify(&key, &m, &[])?;
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn satisfy_exact_all<P: Into<ExactPredicate<'a>>>(
        mut self,
        predicates: impl IntoIterator<Item = P>,
    ) -> Self {
        self.exact.extend(predicates.into_iter().map(Into::into));
        self
    }

    /// Accepts first-party caveats for which `check` returns true.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new("k");
    /// let m = Macaroon::mint(&key, "", "id")?.with_first_party("user = alice")?;
    /// let users = ["alice", "bob"];
    /// Verifier::new()
    ///     .satisfy_general(|c| {
    ///         c.strip_prefix(b"user = ").is_some_and(|u| users.iter().any(|x| x.as_bytes() == u))
    ///     })
    ///     .verify(&key, &m, &[])?;
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn satisfy_general(mut self, check: impl Fn(&[u8]) -> bool + 'a) -> Self {
        self.general.push(Box::new(check));
        self
    }

    /// Gives the verifier its clock, strict: a `time < N` caveat holds iff `now < N` (Unix
    /// seconds). Replaces any clock set before.
    ///
    /// Time is injected, never read from the system here. Without a clock a `time <` caveat is
    /// satisfied only by another satisfier.
    pub fn at_time(self, now: u64) -> Self {
        self.with_clock(Clock::at(now))
    }

    /// Gives the verifier its clock with a leeway or a lifetime cap (see [`Clock`]). Replaces any
    /// clock set before: the verifier has exactly one time.
    ///
    /// ```
    /// use macaroon_mint::{Clock, Error, Macaroon, RootKey, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?.with_first_party("time < 1700086400")?;
    /// let one_hour = Clock::at(1_700_000_000).with_max_ttl(3600);
    /// let err = Verifier::new().with_clock(one_hour).verify(&key, &token, &[]).unwrap_err();
    /// assert!(matches!(err, Error::Verify(VerifyError::LifetimeTooLong { expiry: 1_700_086_400, .. })));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks typed caveats (SPEC §10.4) against `context` (and `time < N` against the
    /// verifier's clock).
    ///
    /// A caveat no exact or general satisfier accepts is then parsed: one that matches no form
    /// fails as [`VerifyError::UnknownCaveat`], a malformed one as
    /// [`VerifyError::MalformedCaveat`], an expired `time <` as [`VerifyError::Expired`], and one
    /// the context does not satisfy as [`VerifyError::CaveatNotSatisfied`] with the reason.
    ///
    /// ```
    /// use macaroon_mint::caveat::{Interface, Unmet};
    /// use macaroon_mint::{AuthContext, Error, Macaroon, RootKey, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?
    ///     .with_first_party("time < 1700003600")?
    ///     .with_first_party("ip = 10.0.0.0/8")?
    ///     .with_first_party("interface = rest")?;
    ///
    /// let ctx = AuthContext::new()
    ///     .with_ip("10.1.2.3".parse().unwrap())
    ///     .with_interface(Interface::Rest);
    /// Verifier::new().at_time(1_700_000_000).with_context(&ctx).verify(&key, &token, &[])?;
    ///
    /// let oneclient = ctx.clone().with_interface(Interface::Oneclient);
    /// let err = Verifier::new()
    ///     .at_time(1_700_000_000)
    ///     .with_context(&oneclient)
    ///     .verify(&key, &token, &[])
    ///     .unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     Error::Verify(VerifyError::CaveatNotSatisfied { index: 2, reason: Unmet::NotAllowed, .. })
    /// ));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    #[cfg(feature = "caveats")]
    pub fn with_context(mut self, context: &'a AuthContext) -> Self {
        self.typed.context = Some(context);
        self
    }

    /// Restricts the token to the typed caveat forms in `forms`, for a token kind that supports
    /// only some (SPEC §10.4 "supported sets"): a caveat of another typed form — parsed or
    /// malformed — fails as [`VerifyError::CaveatNotSatisfied`] with [`Unmet::NotSupported`]
    /// naming `token_kind`, before any satisfier is asked, so no exact or general satisfier can
    /// let it through. Text of no typed form is left to the satisfiers.
    ///
    /// The forms are [`Form`]s, as [`TypedCaveat::form`] gives them; the Onedata token kinds'
    /// sets are [`onedata::ACCESS_CAVEATS`](crate::onedata::ACCESS_CAVEATS),
    /// [`IDENTITY_CAVEATS`](crate::onedata::IDENTITY_CAVEATS) and
    /// [`INVITE_CAVEATS`](crate::onedata::INVITE_CAVEATS).
    ///
    /// ```
    /// use macaroon_mint::caveat::{Form, Interface, Unmet};
    /// use macaroon_mint::{AuthContext, Error, Macaroon, RootKey, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?.with_first_party("interface = rest")?;
    /// let ctx = AuthContext::new().with_interface(Interface::Rest);
    /// let err = Verifier::new()
    ///     .with_context(&ctx)
    ///     .with_supported_caveats(&[Form::Time, Form::Ip], "invite")
    ///     .verify(&key, &token, &[])
    ///     .unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     Error::Verify(VerifyError::CaveatNotSatisfied {
    ///         reason: Unmet::NotSupported { token_kind: "invite" },
    ///         ..
    ///     })
    /// ));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    #[cfg(feature = "caveats")]
    pub fn with_supported_caveats(mut self, forms: &'a [Form], token_kind: &'static str) -> Self {
        self.typed.supported = Some(SupportedCaveats { forms, token_kind });
        self
    }

    /// Leaves caveats of `forms` to the caller: they are authenticated and parsed (a malformed
    /// one fails as [`VerifyError::MalformedCaveat`]) but not judged, and
    /// [`Verified::deferred`] returns them for the caller to check later, e.g. per operation
    /// with [`Verified::check_deferred`]. This is how Onedata treats `api` caveats: ctool's
    /// `tokens:verify` checks everything else and each API call checks them. A deferred form
    /// still obeys [`with_supported_caveats`](Verifier::with_supported_caveats), and no
    /// satisfier is asked about it: every caveat of the form comes back.
    ///
    /// ```
    /// use macaroon_mint::caveat::{Form, TypedCaveat};
    /// use macaroon_mint::{Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?
    ///     .with_first_party("time < 1700003600")?
    ///     .with_first_party("api = ozw/get/user.*.*:*")?;
    /// let verified = Verifier::new().at_time(1_700_000_000).defer(&[Form::Api]).verify(&key, &token, &[])?;
    /// let [deferred] = verified.deferred() else { panic!("one api caveat") };
    /// assert_eq!(deferred.index, 1);
    /// assert_eq!(deferred.caveat.form(), Some(Form::Api));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    #[cfg(feature = "caveats")]
    pub fn defer(mut self, forms: &'a [Form]) -> Self {
        self.typed.deferred = forms;
        self
    }

    /// Replaces the limits (`max_discharges` and `max_depth` apply here).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Accepts discharges that no caveat used, as libmacaroons and pymacaroons do.
    pub fn ignore_unused_discharges(mut self) -> Self {
        self.ignore_unused = true;
        self
    }

    /// Verifies `root` under `key` with the bound `discharges`.
    ///
    /// Errors, in the order they are checked: [`LimitError::TooManyDischarges`],
    /// [`LimitError::DepthExceeded`], [`VerifyError::SignatureMismatch`] and the discharge
    /// matching errors (during the signature walk), [`VerifyError::DischargeUnused`], then for the
    /// first caveat no satisfier accepts (root first, then the discharges in verification order)
    /// [`VerifyError::Expired`], [`VerifyError::CaveatNotSatisfied`] (with the reason, including
    /// a typed form outside [`with_supported_caveats`](Verifier::with_supported_caveats)),
    /// [`VerifyError::UnknownCaveat`] or [`VerifyError::MalformedCaveat`], and last the clock's
    /// lifetime cap: [`VerifyError::NoExpiry`], [`VerifyError::LifetimeTooLong`].
    pub fn verify<'m>(
        &self,
        key: &RootKey,
        root: &'m Macaroon,
        discharges: &'m [Macaroon],
    ) -> Result<Verified<'m>, Error> {
        let (discharges, deferred) = self.verify_root(key, root, discharges)?;
        Ok(Verified {
            root: VerifiedRoot::Borrowed(root),
            discharges,
            deferred,
        })
    }

    /// [`Verifier::verify`], returning the discharges used and the deferred caveats.
    fn verify_root<'m>(
        &self,
        key: &RootKey,
        root: &Macaroon,
        discharges: &'m [Macaroon],
    ) -> Result<(Vec<&'m Macaroon>, Deferred), Error> {
        self.check_discharge_count(discharges)?;
        if !root.caveats.iter().any(|c| c.is_third_party()) {
            // The same one-pass path as `verify_token`: fold, compare, then the predicates.
            let computed = root
                .caveats
                .iter()
                .fold(key.sign_identifier(&root.identifier), |signature, c| {
                    crypto::fold(&signature, CaveatRef::from(c))
                });
            let deferred = self.settle_first_party_root(
                &computed,
                &root.signature,
                discharges,
                root.caveats.iter().map(CaveatRef::from),
            )?;
            return Ok((Vec::new(), deferred));
        }
        let order = self.authenticate(key, root, discharges)?;
        self.check_unused(discharges, &order)?;
        let used: Vec<&'m Macaroon> = order.iter().filter_map(|&j| discharges.get(j)).collect();
        let mut tally = Tally::default();
        self.check_caveats(
            MacaroonRole::Root,
            root.caveats.iter().map(CaveatRef::from),
            &mut tally,
        )?;
        // The lifetime cap applies to the root: a fresh discharge must not stretch it.
        let root_expiry = tally.earliest_expiry;
        for d in &used {
            let role = MacaroonRole::Discharge {
                identifier: d.identifier.clone(),
            };
            self.check_caveats(role, d.caveats.iter().map(CaveatRef::from), &mut tally)?;
        }
        self.check_lifetime(root_expiry)?;
        Ok((used, tally.deferred))
    }

    /// Parses `token` (any format) and verifies it: the server's hot path.
    ///
    /// Same result as [`Parsed::from_text`](crate::Parsed::from_text) (under the verifier's
    /// limits) followed by [`Verifier::verify`], but for
    /// v1, v2 and Onedata text whose root has only first-party caveats it works on borrowed slices
    /// of one decoded buffer, which the returned [`Verified`] keeps: with exact satisfiers and
    /// `time <` checks, the decode is its only allocation (typed checking of list-valued caveats
    /// adds their parsed lists).
    ///
    /// ```
    /// use macaroon_mint::{Format, Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new("k");
    /// let token = Macaroon::mint(&key, "", "id")?
    ///     .with_first_party("user = alice")?
    ///     .serialize(Format::Onedata)?;
    /// let verifier = Verifier::new().satisfy_exact("user = alice");
    /// let verified = verifier.verify_token(&key, &token, &[])?;
    /// assert_eq!(verified.identifier(), b"id");
    /// assert!(verifier.verify_token(&RootKey::new("other"), &token, &[]).is_err());
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn verify_token<'m>(
        &self,
        key: &RootKey,
        token: &str,
        discharges: &'m [Macaroon],
    ) -> Result<Verified<'m>, Error> {
        let full = || -> Result<Verified<'m>, Error> {
            let parsed = format::parse_detect(token.as_bytes(), &self.limits)?;
            let (discharges, deferred) = self.verify_root(key, &parsed.macaroon, discharges)?;
            Ok(Verified {
                root: VerifiedRoot::Parsed(parsed.macaroon),
                discharges,
                deferred,
            })
        };
        let Some(packets) = format::decode_packets(token.as_bytes(), &self.limits)? else {
            return full();
        };
        let mut chain = Chain {
            key,
            signature: [0; 32],
            third_party: false,
            seen: [&[]; CACHED_CAVEATS],
            count: 0,
        };
        // A structural error is reported by the full parser, which maps offsets to the text.
        let Ok(signature) = packets.walk(&self.limits, &mut chain) else {
            return full();
        };
        if chain.third_party {
            return full();
        }
        self.check_discharge_count(discharges)?;
        let deferred = if chain.count <= CACHED_CAVEATS {
            let first_party = chain.seen.iter().take(chain.count).map(|id| CaveatRef {
                id,
                vid: None,
                location: &[],
            });
            self.settle_first_party_root(&chain.signature, &signature, discharges, first_party)?
        } else {
            // A long caveat list: the predicates come from a second walk, once authenticated.
            self.authenticate_first_party_root(&chain.signature, &signature, discharges)?;
            let mut predicates = Predicates {
                verifier: self,
                index: 0,
                tally: Tally::default(),
            };
            packets.walk(&self.limits, &mut predicates)?;
            self.check_lifetime(predicates.tally.earliest_expiry)?;
            predicates.tally.deferred
        };
        Ok(Verified {
            root: VerifiedRoot::Decoded(packets, self.limits),
            discharges: Vec::new(),
            deferred,
        })
    }

    /// The end of every verification of a root without third-party caveats, from a parsed
    /// macaroon or straight from decoded bytes: compare the folded signature (constant time),
    /// refuse unused discharges, and only then check the predicates and the lifetime cap.
    fn settle_first_party_root<'c>(
        &self,
        computed: &[u8; 32],
        claimed: &[u8; 32],
        discharges: &[Macaroon],
        caveats: impl Iterator<Item = CaveatRef<'c>>,
    ) -> Result<Deferred, Error> {
        self.authenticate_first_party_root(computed, claimed, discharges)?;
        let mut tally = Tally::default();
        self.check_caveats(MacaroonRole::Root, caveats, &mut tally)?;
        self.check_lifetime(tally.earliest_expiry)?;
        Ok(tally.deferred)
    }

    /// The first half of [`Verifier::settle_first_party_root`]: the signature (constant time)
    /// and the unused discharges, before any predicate is looked at.
    fn authenticate_first_party_root(
        &self,
        computed: &[u8; 32],
        claimed: &[u8; 32],
        discharges: &[Macaroon],
    ) -> Result<(), Error> {
        if !crypto::signatures_equal(computed, claimed) {
            return Err(VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Root,
                reason: None,
            }
            .into());
        }
        self.check_unused(discharges, &[])
    }

    fn check_discharge_count(&self, discharges: &[Macaroon]) -> Result<(), Error> {
        if discharges.len() > self.limits.max_discharges {
            return Err(LimitError::TooManyDischarges {
                limit: self.limits.max_discharges,
                found: discharges.len(),
            }
            .into());
        }
        Ok(())
    }

    fn check_unused(&self, discharges: &[Macaroon], used: &[usize]) -> Result<(), Error> {
        if self.ignore_unused {
            return Ok(());
        }
        match discharges
            .iter()
            .enumerate()
            .find(|(j, _)| !used.contains(j))
        {
            Some((index, d)) => Err(VerifyError::DischargeUnused {
                index,
                identifier: d.identifier.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    fn check_caveats<'c>(
        &self,
        role: MacaroonRole,
        caveats: impl Iterator<Item = CaveatRef<'c>>,
        tally: &mut Tally,
    ) -> Result<(), Error> {
        for (index, caveat) in caveats.enumerate() {
            self.check_caveat(&role, index, caveat, tally)?;
        }
        Ok(())
    }

    /// Fails closed: a first-party caveat no satisfier accepts is an error naming it and why.
    /// Notes the earliest `time < N` seen, for the lifetime policy, and the deferred caveats.
    fn check_caveat(
        &self,
        role: &MacaroonRole,
        index: usize,
        caveat: CaveatRef<'_>,
        tally: &mut Tally,
    ) -> Result<(), Error> {
        if caveat.vid.is_some() {
            return Ok(());
        }
        let predicate = caveat.id;
        let expiry = time_before(predicate);
        if let Some(n) = expiry {
            tally.earliest_expiry = Some(tally.earliest_expiry.map_or(n, |e| e.min(n)));
        }
        #[cfg(feature = "caveats")]
        if self.settled_by_form(role, index, predicate, tally)? {
            return Ok(());
        }
        if self.exact.iter().any(|e| e.as_bytes() == predicate)
            || self.general.iter().any(|g| g(predicate))
        {
            return Ok(());
        }
        #[cfg(feature = "caveats")]
        if let Some(context) = self.typed.context {
            return self.check_typed(context, role, index, predicate);
        }
        // Nothing here allocates until the caveat is known to fail.
        let unmet = match (expiry, self.clock) {
            (Some(expiry), Some(clock)) if clock.holds(expiry) => return Ok(()),
            (Some(expiry), Some(clock)) => Unmet::Expired {
                expiry,
                now: clock.now,
            },
            (Some(_), None) => Unmet::NoClock,
            (None, _) => Unmet::NoRule,
        };
        Err(unmet_error(role.clone(), index, predicate.to_vec(), unmet))
    }

    /// The token kind's policy on typed forms, before any satisfier: a form outside the supported
    /// set fails (even if a satisfier would accept it), a deferred form is parsed and handed to
    /// the caller (`Ok(true)`).
    #[cfg(feature = "caveats")]
    fn settled_by_form(
        &self,
        role: &MacaroonRole,
        index: usize,
        predicate: &[u8],
        tally: &mut Tally,
    ) -> Result<bool, Error> {
        let Typed {
            supported,
            deferred,
            ..
        } = self.typed;
        if supported.is_none() && deferred.is_empty() {
            return Ok(false);
        }
        let Some(form) = crate::caveat::typed_form(predicate) else {
            return Ok(false);
        };
        if let Some(supported) = supported {
            if !supported.forms.contains(&form) {
                return Err(VerifyError::CaveatNotSatisfied {
                    macaroon: role.clone(),
                    index,
                    caveat: predicate.to_vec(),
                    reason: Unmet::NotSupported {
                        token_kind: supported.token_kind,
                    },
                }
                .into());
            }
        }
        if !deferred.contains(&form) {
            return Ok(false);
        }
        let caveat =
            TypedCaveat::parse(predicate).map_err(|error| VerifyError::MalformedCaveat {
                macaroon: role.clone(),
                index,
                caveat: predicate.to_vec(),
                error,
            })?;
        tally.deferred.push(DeferredCaveat {
            macaroon: role.clone(),
            index,
            caveat,
        });
        Ok(true)
    }

    /// Typed checking of a caveat no satisfier accepted; typed checking builds the parsed lists
    /// of list-valued caveats.
    #[cfg(feature = "caveats")]
    fn check_typed(
        &self,
        context: &AuthContext,
        role: &MacaroonRole,
        index: usize,
        predicate: &[u8],
    ) -> Result<(), Error> {
        match TypedCaveat::parse(predicate) {
            Ok(typed) => typed
                .check(context, self.clock.as_ref())
                .map_err(|unmet| unmet_error(role.clone(), index, predicate.to_vec(), unmet)),
            Err(error) => Err(VerifyError::MalformedCaveat {
                macaroon: role.clone(),
                index,
                caveat: predicate.to_vec(),
                error,
            }
            .into()),
        }
    }

    /// Applies [`Clock::max_ttl`] to the earliest expiry of the verified token.
    fn check_lifetime(&self, earliest_expiry: Option<u64>) -> Result<(), Error> {
        let Some((now, max_ttl)) = self.clock.and_then(|c| Some((c.now, c.max_ttl?))) else {
            return Ok(());
        };
        let expiry = earliest_expiry.ok_or(VerifyError::NoExpiry { max_ttl })?;
        if expiry > now.saturating_add(max_ttl) {
            return Err(VerifyError::LifetimeTooLong {
                expiry,
                now,
                max_ttl,
            }
            .into());
        }
        Ok(())
    }

    /// Recomputes every signature; returns the used discharges in verification order.
    fn authenticate(
        &self,
        key: &RootKey,
        root: &Macaroon,
        discharges: &[Macaroon],
    ) -> Result<Vec<usize>, Error> {
        let mut used = vec![false; discharges.len()];
        let mut order = Vec::new();
        // An explicit stack: depth is bounded by limits, never by the thread's stack.
        let mut stack = vec![Frame {
            macaroon: root,
            discharge: None,
            signature: key.sign_identifier(&root.identifier),
            next: 0,
        }];
        while let Some(top) = stack.last_mut() {
            let macaroon: &Macaroon = top.macaroon;
            let Some(caveat) = macaroon.caveats.get(top.next) else {
                let mut sig = top.signature;
                if top.discharge.is_some() {
                    sig = crypto::bind(&root.signature, &sig);
                }
                if !crypto::signatures_equal(&sig, &macaroon.signature) {
                    return Err(VerifyError::SignatureMismatch {
                        macaroon: role_of(top),
                        reason: None,
                    }
                    .into());
                }
                stack.pop();
                continue;
            };
            top.next += 1;
            let Some(vid) = &caveat.verification_id else {
                top.signature = crypto::fold(&top.signature, CaveatRef::from(caveat));
                continue;
            };
            let mismatch = |reason| -> Error {
                VerifyError::SignatureMismatch {
                    macaroon: role_of(top),
                    reason: Some(reason),
                }
                .into()
            };
            if vid.len() != crypto::VID_LEN {
                return Err(mismatch(
                    "third-party caveat has a verification id of the wrong length",
                ));
            }
            let Some(caveat_key) = crypto::open_caveat_key(&top.signature, vid) else {
                return Err(mismatch(
                    "third-party caveat's verification id does not open",
                ));
            };
            top.signature = crypto::fold(&top.signature, CaveatRef::from(caveat));
            let matches = || {
                discharges
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.identifier == caveat.id)
                    .map(|(j, _)| j)
            };
            let Some(j) = matches().find(|&j| used.get(j) == Some(&false)) else {
                let caveat_id = caveat.id.clone();
                let on_path = |j: usize| stack.iter().any(|f| f.discharge == Some(j));
                return Err(if matches().any(on_path) {
                    VerifyError::DischargeCycle { caveat_id }
                } else if matches().next().is_some() {
                    VerifyError::DischargeReused { caveat_id }
                } else {
                    VerifyError::DischargeMissing { caveat_id }
                }
                .into());
            };
            if stack.len() > self.limits.max_depth {
                return Err(LimitError::DepthExceeded {
                    limit: self.limits.max_depth,
                    caveat_id: caveat.id.clone(),
                }
                .into());
            }
            let (Some(u), Some(discharge)) = (used.get_mut(j), discharges.get(j)) else {
                continue;
            };
            *u = true;
            order.push(j);
            stack.push(Frame {
                macaroon: discharge,
                discharge: Some(j),
                signature: crypto::hmac(&caveat_key, &discharge.identifier),
                next: 0,
            });
        }
        Ok(order)
    }
}
