//! Verification: recompute every signature, match discharges, then evaluate predicates (SPEC §5).

mod context;

pub use self::context::{ApiCall, AuthContext, Consumer, DataAccess, Service, TimePolicy};

use crate::caveat::{TypedCaveat, Unmet};
use crate::crypto;
use crate::error::{Error, LimitError, MacaroonRole, VerifyError};
use crate::format::{self, CaveatRef, Visitor};
use crate::key::RootKey;
use crate::limits::Limits;
use crate::macaroon::Macaroon;

type GeneralSatisfier<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;

/// Checks that a macaroon and its discharges authorize a request.
///
/// A first-party caveat holds when at least one satisfier accepts it: an exact predicate
/// ([`satisfy_exact`](Verifier::satisfy_exact)), a general closure
/// ([`satisfy_general`](Verifier::satisfy_general)), the built-in `time < N` check enabled by
/// [`at_time`](Verifier::at_time), or the typed caveat checkers enabled by
/// [`with_context`](Verifier::with_context). Anything no satisfier accepts fails verification,
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
/// assert_eq!(verified.macaroon().identifier(), b"we used our secret key");
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
    exact: Vec<Vec<u8>>,
    general: Vec<GeneralSatisfier<'a>>,
    now: Option<u64>,
    context: Option<&'a AuthContext>,
    supported: Option<SupportedCaveats<'a>>,
    time_policy: TimePolicy,
    limits: Limits,
    ignore_unused: bool,
}

impl core::fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("exact", &self.exact.len())
            .field("general", &self.general.len())
            .field("now", &self.now)
            .field("context", &self.context.is_some())
            .field("supported", &self.supported)
            .field("time_policy", &self.time_policy)
            .field("limits", &self.limits)
            .field("ignore_unused", &self.ignore_unused)
            .finish()
    }
}

/// The typed forms a token kind allows (SPEC §10.4 "supported sets").
#[derive(Debug, Clone, Copy)]
struct SupportedCaveats<'a> {
    forms: &'a [&'a str],
    token_kind: &'static str,
}

/// The proof that verification succeeded: the only way to reach the verified macaroons.
#[derive(Debug)]
pub struct Verified<'m> {
    root: &'m Macaroon,
    discharges: Vec<&'m Macaroon>,
}

impl<'m> Verified<'m> {
    /// The verified root macaroon.
    pub fn macaroon(&self) -> &'m Macaroon {
        self.root
    }

    /// The discharges that were used, in verification order.
    pub fn discharges(&self) -> &[&'m Macaroon] {
        &self.discharges
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
    pub fn first_party_predicates(&self) -> impl Iterator<Item = &'m [u8]> + '_ {
        core::iter::once(self.root)
            .chain(self.discharges.iter().copied())
            .flat_map(|m| m.caveats.iter())
            .filter(|c| !c.is_third_party())
            .map(|c| c.id.as_slice())
    }
}

/// The `N` of a `time < N` caveat, if the caveat is one, by the same rule as the typed parser
/// (canonical decimal, fits u64) and without allocating.
fn time_before(predicate: &[u8]) -> Option<u64> {
    let digits = predicate.strip_prefix(b"time < ")?;
    crate::caveat::decimal(core::str::from_utf8(digits).ok()?, u64::MAX).ok()
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
        match caveat.vid {
            Some(_) => self.third_party = true,
            None => self.signature = crypto::hmac(&self.signature, caveat.id),
        }
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
    earliest_expiry: Option<u64>,
}

impl<'c> Visitor<'c> for Predicates<'_, '_> {
    fn header(&mut self, _location: &'c [u8], _identifier: &'c [u8]) -> Result<(), Error> {
        Ok(())
    }

    fn caveat(&mut self, caveat: CaveatRef<'c>) -> Result<(), Error> {
        let index = self.index;
        self.index += 1;
        self.verifier.check_caveat(
            &MacaroonRole::Root,
            index,
            caveat,
            &mut self.earliest_expiry,
        )
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

    /// Accepts first-party caveats equal to `predicate` byte for byte.
    pub fn satisfy_exact(mut self, predicate: impl AsRef<[u8]>) -> Self {
        self.exact.push(predicate.as_ref().to_vec());
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

    /// Checks `time < N` caveats against `now` (Unix seconds): one holds iff `now < N`.
    ///
    /// Time is injected, never read from the clock here. Without this call, a `time <` caveat is
    /// satisfied only by another satisfier.
    pub fn at_time(mut self, now: u64) -> Self {
        self.now = Some(now);
        self
    }

    /// Checks typed caveats (SPEC §10.4) against `context`, and `time < N` against
    /// `context.now`. Combined with [`at_time`](Verifier::at_time), the two times must agree
    /// ([`VerifyError::ClockConflict`] otherwise).
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
    /// let ctx = AuthContext::new(1_700_000_000)
    ///     .with_ip("10.1.2.3".parse().unwrap())
    ///     .with_interface(Interface::Rest);
    /// Verifier::new().with_context(&ctx).verify(&key, &token, &[])?;
    ///
    /// let oneclient = ctx.clone().with_interface(Interface::Oneclient);
    /// let err = Verifier::new().with_context(&oneclient).verify(&key, &token, &[]).unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     Error::Verify(VerifyError::CaveatNotSatisfied { index: 2, reason: Unmet::NotAllowed, .. })
    /// ));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_context(mut self, context: &'a AuthContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Restricts the token to the typed caveat forms in `forms`, for a token kind that supports
    /// only some (SPEC §10.4 "supported sets"): a caveat of another typed form — parsed or
    /// malformed — fails as [`VerifyError::CaveatNotSatisfied`] with [`Unmet::NotSupported`]
    /// naming `token_kind`, before any satisfier is asked, so no exact or general satisfier can
    /// let it through. Text of no typed form is left to the satisfiers.
    ///
    /// Form names are those of [`TypedCaveat::form`]: `time`, `ip`, `asn`, `geo.country`,
    /// `geo.region`, `authorization` (SPEC's "scope"), `service`, `consumer`, `interface`, `api`,
    /// `data.readonly`, `data.path`, `data.objectid`.
    ///
    /// ```
    /// use macaroon_mint::caveat::{Interface, Unmet};
    /// use macaroon_mint::{AuthContext, Error, Macaroon, RootKey, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?.with_first_party("interface = rest")?;
    /// let ctx = AuthContext::new(0).with_interface(Interface::Rest);
    /// let err = Verifier::new()
    ///     .with_context(&ctx)
    ///     .with_supported_caveats(&["time", "ip"], "invite")
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
    pub fn with_supported_caveats(
        mut self,
        forms: &'a [&'a str],
        token_kind: &'static str,
    ) -> Self {
        self.supported = Some(SupportedCaveats { forms, token_kind });
        self
    }

    /// Replaces the time policy (leeway for `time <` caveats, maximum lifetime).
    ///
    /// ```
    /// use macaroon_mint::{Error, Macaroon, RootKey, TimePolicy, Verifier, VerifyError};
    ///
    /// let key = RootKey::new("secret");
    /// let token = Macaroon::mint(&key, "", "id")?.with_first_party("time < 1700086400")?;
    /// let one_hour = TimePolicy { leeway: 0, max_ttl: Some(3600) };
    /// let err = Verifier::new()
    ///     .at_time(1_700_000_000)
    ///     .with_time_policy(one_hour)
    ///     .verify(&key, &token, &[])
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::Verify(VerifyError::LifetimeTooLong { expiry: 1_700_086_400, .. })));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_time_policy(mut self, policy: TimePolicy) -> Self {
        self.time_policy = policy;
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
    /// Errors, in the order they are checked: [`VerifyError::ClockConflict`],
    /// [`LimitError::TooManyDischarges`], [`LimitError::DepthExceeded`],
    /// [`VerifyError::SignatureMismatch`] and the discharge matching errors (during the signature
    /// walk), [`VerifyError::DischargeUnused`], then for the first caveat no satisfier accepts
    /// (root first, then the discharges in verification order) [`VerifyError::Expired`],
    /// [`VerifyError::CaveatNotSatisfied`] (with the reason, including a typed form outside
    /// [`with_supported_caveats`](Verifier::with_supported_caveats)),
    /// [`VerifyError::UnknownCaveat`] or [`VerifyError::MalformedCaveat`], and last the lifetime
    /// policy: [`VerifyError::NoClock`], [`VerifyError::NoExpiry`],
    /// [`VerifyError::LifetimeTooLong`].
    pub fn verify<'m>(
        &self,
        key: &RootKey,
        root: &'m Macaroon,
        discharges: &'m [Macaroon],
    ) -> Result<Verified<'m>, Error> {
        self.check_clock()?;
        self.check_discharge_count(discharges)?;
        let order = self.authenticate(key, root, discharges)?;
        self.check_unused(discharges, &order)?;
        let used: Vec<&'m Macaroon> = order.iter().filter_map(|&j| discharges.get(j)).collect();
        let mut earliest_expiry = None;
        self.check_caveats(
            MacaroonRole::Root,
            root.caveats.iter().map(CaveatRef::from),
            &mut earliest_expiry,
        )?;
        // The lifetime cap applies to the root: a fresh discharge must not stretch it.
        let mut discharge_expiry = None;
        for d in &used {
            let role = MacaroonRole::Discharge {
                identifier: d.identifier.clone(),
            };
            self.check_caveats(
                role,
                d.caveats.iter().map(CaveatRef::from),
                &mut discharge_expiry,
            )?;
        }
        self.check_lifetime(earliest_expiry)?;
        Ok(Verified {
            root,
            discharges: used,
        })
    }

    /// Parses `token` (any format) and verifies it: the server's hot path.
    ///
    /// Same result as [`Macaroon::parse_with_limits`] followed by [`Verifier::verify`], but for
    /// v1, v2 and Onedata text whose root has only first-party caveats it works on borrowed slices
    /// of one decoded buffer: with exact satisfiers and `time <` checks, the decode is its only
    /// allocation (typed checking of list-valued caveats adds their parsed lists).
    ///
    /// ```
    /// use macaroon_mint::{Format, Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new("k");
    /// let token = Macaroon::mint(&key, "", "id")?
    ///     .with_first_party("user = alice")?
    ///     .serialize(Format::Onedata)?;
    /// let verifier = Verifier::new().satisfy_exact("user = alice");
    /// verifier.verify_token(&key, &token, &[])?;
    /// assert!(verifier.verify_token(&RootKey::new("other"), &token, &[]).is_err());
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn verify_token(
        &self,
        key: &RootKey,
        token: &str,
        discharges: &[Macaroon],
    ) -> Result<(), Error> {
        self.check_clock()?;
        let slow = || -> Result<(), Error> {
            let parsed = format::parse_detect(token.as_bytes(), &self.limits)?;
            self.verify(key, &parsed.macaroon, discharges).map(|_| ())
        };
        let Some(packets) = format::decode_packets(token.as_bytes(), &self.limits)? else {
            return slow();
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
            return slow();
        };
        if chain.third_party {
            return slow();
        }
        self.check_discharge_count(discharges)?;
        if !crypto::signatures_equal(&chain.signature, &signature) {
            return Err(VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Root,
                reason: None,
            }
            .into());
        }
        self.check_unused(discharges, &[])?;
        // Predicates run only now that the token is authentic: from the slices kept during the
        // walk, or, for a long caveat list, from a second walk.
        if chain.count <= CACHED_CAVEATS {
            let first_party = chain.seen.iter().take(chain.count).map(|id| CaveatRef {
                id,
                vid: None,
                location: &[],
            });
            let mut earliest_expiry = None;
            self.check_caveats(MacaroonRole::Root, first_party, &mut earliest_expiry)?;
            return self.check_lifetime(earliest_expiry);
        }
        let mut predicates = Predicates {
            verifier: self,
            index: 0,
            earliest_expiry: None,
        };
        packets.walk(&self.limits, &mut predicates)?;
        self.check_lifetime(predicates.earliest_expiry)
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
        earliest_expiry: &mut Option<u64>,
    ) -> Result<(), Error> {
        for (index, caveat) in caveats.enumerate() {
            self.check_caveat(&role, index, caveat, earliest_expiry)?;
        }
        Ok(())
    }

    /// Two clocks that disagree are a caller error: failing beats silently picking one.
    fn check_clock(&self) -> Result<(), Error> {
        match (self.now, self.context) {
            (Some(at_time), Some(ctx)) if ctx.now != at_time => Err(VerifyError::ClockConflict {
                at_time,
                context: ctx.now,
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// The current time: the context's, else the one given to [`at_time`](Verifier::at_time).
    fn now(&self) -> Option<u64> {
        self.context.map(|c| c.now).or(self.now)
    }

    /// Fails closed: a first-party caveat no satisfier accepts is an error naming it and why.
    /// Notes the earliest `time < N` seen, for the lifetime policy.
    fn check_caveat(
        &self,
        role: &MacaroonRole,
        index: usize,
        caveat: CaveatRef<'_>,
        earliest_expiry: &mut Option<u64>,
    ) -> Result<(), Error> {
        if caveat.vid.is_some() {
            return Ok(());
        }
        let predicate = caveat.id;
        let expiry = time_before(predicate);
        if let Some(n) = expiry {
            *earliest_expiry = Some(earliest_expiry.map_or(n, |e| e.min(n)));
        }
        if let Some(supported) = self.supported {
            // The supported set is the token kind's policy, not one more satisfier: a typed form
            // outside it fails even if an exact or general satisfier would accept it.
            if let Some(form) = crate::caveat::typed_form(predicate) {
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
        }
        if self.exact.iter().any(|e| e.as_slice() == predicate)
            || self.general.iter().any(|g| g(predicate))
        {
            return Ok(());
        }
        // Without a context nothing here allocates until the caveat is known to fail; typed
        // checking builds the parsed lists of list-valued caveats.
        let unmet = if let Some(context) = self.context {
            match TypedCaveat::parse(predicate) {
                Ok(typed) => match typed.check(context, &self.time_policy) {
                    Ok(()) => return Ok(()),
                    Err(unmet) => unmet,
                },
                Err(error) => {
                    return Err(VerifyError::MalformedCaveat {
                        macaroon: role.clone(),
                        index,
                        caveat: predicate.to_vec(),
                        error,
                    }
                    .into())
                }
            }
        } else {
            match expiry.zip(self.now) {
                Some((expiry, now)) if self.time_policy.holds(expiry, now) => return Ok(()),
                Some((expiry, now)) => Unmet::Expired { expiry, now },
                None => Unmet::NoRule,
            }
        };
        let macaroon = role.clone();
        let caveat = predicate.to_vec();
        Err(match unmet {
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
        .into())
    }

    /// Applies [`TimePolicy::max_ttl`] to the earliest expiry of the verified token.
    fn check_lifetime(&self, earliest_expiry: Option<u64>) -> Result<(), Error> {
        let Some(max_ttl) = self.time_policy.max_ttl else {
            return Ok(());
        };
        let now = self.now().ok_or(VerifyError::NoClock)?;
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
                top.signature = crypto::hmac(&top.signature, &caveat.id);
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
            top.signature = crypto::hmac2(&top.signature, vid, &caveat.id);
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
