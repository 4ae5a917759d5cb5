//! Verifying Onedata invite tokens the way Onezone does (SPEC §10.2–§10.4), in two phases: read
//! the token to find its secret, then verify it.

use crate::caveat::TypedCaveat;
use crate::format::{Encoding, Parsed};
use crate::key::RootKey;
use crate::limits::Limits;
use crate::macaroon::Macaroon;
use crate::verify::{AuthContext, Clock, Verifier};

use super::error::OnedataError;
use super::identifier::{
    InviteType, OnedataIdentifier, ParsedIdentifier, Persistence, Subject, TokenType,
};
use super::mint::INVITE_CAVEATS;

/// The default cap on a temporary token's lifetime: 7 days (604,800 s), Onezone's default
/// maximum temporary token TTL. SPEC §10.3 leaves the value to us.
///
/// ```
/// use macaroon_mint::onedata::{InvitePolicy, DEFAULT_TEMPORARY_MAX_TTL};
/// assert_eq!(DEFAULT_TEMPORARY_MAX_TTL, 7 * 24 * 3600);
/// assert_eq!(InvitePolicy::default().temporary_max_ttl, DEFAULT_TEMPORARY_MAX_TTL);
/// ```
pub const DEFAULT_TEMPORARY_MAX_TTL: u64 = 7 * 24 * 3600;

/// How invite tokens are judged beyond their caveats.
///
/// A plain struct with public fields. `Default`: no current generation (temporary tokens are
/// refused with [`OnedataError::GenerationUnknown`] until the server says which generation is
/// current), no leeway, temporary tokens must expire within [`DEFAULT_TEMPORARY_MAX_TTL`]
/// (7 days) and must carry an expiry, named tokens have no lifetime cap.
///
/// ```
/// use macaroon_mint::onedata::InvitePolicy;
///
/// let policy = InvitePolicy::default();
/// assert_eq!(policy.current_generation, None);
/// assert_eq!((policy.leeway, policy.named_max_ttl), (0, None));
///
/// // A server that looked up the subject's temporary-token secret, generation 4:
/// let policy = InvitePolicy { current_generation: Some(4), ..InvitePolicy::default() };
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitePolicy {
    /// The current generation of the subject's temporary-token secret (SPEC §10.3). A temporary
    /// token of another generation is [`OnedataError::Revoked`]; `None` refuses every temporary
    /// token ([`OnedataError::GenerationUnknown`]). Unused for named tokens.
    pub current_generation: Option<u64>,
    /// Seconds a `time < N` caveat is still accepted after `N` (clock skew between servers).
    pub leeway: u64,
    /// The longest lifetime of a temporary token, in seconds: its earliest `time < N` must be at
    /// most `now + temporary_max_ttl`, and a temporary token without one is refused.
    pub temporary_max_ttl: u64,
    /// An optional cap on named tokens' lifetime (and then an expiry is required of them too).
    pub named_max_ttl: Option<u64>,
}

impl Default for InvitePolicy {
    fn default() -> InvitePolicy {
        InvitePolicy {
            current_generation: None,
            leeway: 0,
            temporary_max_ttl: DEFAULT_TEMPORARY_MAX_TTL,
            named_max_ttl: None,
        }
    }
}

/// What a verified invite token grants.
///
/// ```
/// use macaroon_mint::onedata::{provider_registration_token, InviteOptions, InvitePolicy, InviteType, OnedataToken};
/// use macaroon_mint::{AuthContext, RootKey};
///
/// let key = RootKey::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
/// let minted = provider_registration_token(&key, "oz.example", "alice", "bob", &InviteOptions::default())?;
/// let claims = OnedataToken::parse(&minted.token)?.verify_invite(
///     &key,
///     InviteType::RegisterOneprovider,
///     1_700_000_000,
///     &AuthContext::new(),
///     &InvitePolicy::default(),
/// )?;
/// assert_eq!(claims.target, "bob");
/// assert_eq!(claims.subject.id(), Some("alice"));
/// assert_eq!(claims.location, "oz.example");
/// assert_eq!(claims.expiry, None);
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InviteClaims {
    /// Who issued the invitation (the token's subject).
    pub subject: Subject,
    /// The invite type.
    pub invite: InviteType,
    /// The entity invited to: the space (`ssp`), the future cluster admin (`rop`), …
    pub target: String,
    /// The invite parameters as written (`ge` for `ssp`; ignored by Onedata when read).
    pub parameters: String,
    /// The token id (the server's key for the token record: usage limit, revoked flag).
    pub token_id: String,
    /// Named or temporary (with its generation).
    pub persistence: Persistence,
    /// The earliest `time < N` caveat, if any.
    pub expiry: Option<u64>,
    /// The token's location (the Onezone domain; lossy for bytes that are not UTF-8).
    pub location: String,
    /// The service indication (`opw` / `opp`) the token text carried, if any. Not signed.
    pub service: Option<String>,
    /// The token's caveats, typed, in order (all of them held).
    pub caveats: Vec<TypedCaveat>,
}

/// An Onedata token read from its text, not yet verified.
///
/// Reading first lets a server find the secret: by token id for a named token (its record also
/// holds the usage limit and revoked flag), by subject for a temporary one (with the current
/// generation). [`OnedataToken::verify_invite`] then checks it.
///
/// ```
/// use macaroon_mint::onedata::{InviteType, OnedataToken, Persistence};
///
/// // SPEC §11.7 (TV7), with the service indication a Oneprovider worker prepends.
/// let text = "opw-MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVhaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvc3NwOlNwYWNlSWQ6Z2UvMTIzNDU2Nzg5MGV4YW1wbGUtaWQxMjM00NTY3ODkwZQowMDJmc2lnbmF00dXJlIICA3AFgFAXHLKDfXavXhDw00YeJioSh5rLbBeomcltfVCg";
/// let token = OnedataToken::parse(text)?;
/// assert_eq!(token.token_id(), "1234567890example-id1234567890e");
/// assert_eq!(token.service(), Some("opw"));
/// let id = token.identifier().as_v2().unwrap();
/// assert_eq!(id.invite_kind(), Some(&InviteType::SupportSpace));
/// assert_eq!(id.persistence(), Persistence::Named);
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnedataToken {
    macaroon: Macaroon,
    identifier: ParsedIdentifier,
    service: Option<String>,
}

impl OnedataToken {
    /// Reads Onedata token text (base62-escaped v1, optionally prefixed by `opw-` / `opp-`) with
    /// the default [`Limits`], and parses its identifier.
    ///
    /// # Errors
    ///
    /// [`OnedataError::Macaroon`] for text that does not decode (with the layer, offset and
    /// reason) or exceeds a limit; [`OnedataError::NotOnedataText`] for a macaroon in another
    /// format; [`OnedataError::Identifier`] for an identifier that is not a valid Onedata
    /// identifier.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataError, OnedataToken};
    /// use macaroon_mint::{Error, Format, Macaroon, RootKey};
    ///
    /// // SPEC §14 A: the damaged token printed in Onedata's docs.
    /// let err = OnedataToken::parse("MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8").unwrap_err();
    /// assert!(matches!(err, OnedataError::Macaroon(Error::Decode(_))));
    /// assert_eq!(err.to_string(), "base62: character '-' at offset 47 is not allowed");
    ///
    /// let v2 = Macaroon::mint(&RootKey::new("k"), "oz", "2/nmd/nobody/idn/t")?.serialize(Format::V2)?;
    /// assert_eq!(OnedataToken::parse(&v2).unwrap_err(), OnedataError::NotOnedataText { found: "v2" });
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<OnedataToken, OnedataError> {
        OnedataToken::parse_with_limits(text, &Limits::DEFAULT)
    }

    /// [`OnedataToken::parse`] with explicit limits.
    ///
    /// # Errors
    ///
    /// As [`OnedataToken::parse`].
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataError, OnedataToken};
    /// use macaroon_mint::{Error, LimitError, Limits};
    ///
    /// let limits = Limits { max_token_bytes: 8, ..Limits::default() };
    /// let err = OnedataToken::parse_with_limits("MDAyMGxvY2F00aW9u", &limits).unwrap_err();
    /// assert!(matches!(err, OnedataError::Macaroon(Error::Limit(LimitError::TokenTooLarge { .. }))));
    /// ```
    pub fn parse_with_limits(text: &str, limits: &Limits) -> Result<OnedataToken, OnedataError> {
        let parsed = Parsed::from_text(text, limits)?;
        let service = match parsed.encoding {
            Encoding::Onedata { service } => service,
            other => {
                return Err(OnedataError::NotOnedataText {
                    found: other.name(),
                })
            }
        };
        let identifier = OnedataIdentifier::parse_bytes(parsed.macaroon.identifier())?;
        Ok(OnedataToken {
            macaroon: parsed.macaroon,
            identifier,
            service,
        })
    }

    /// The macaroon (untrusted until verified).
    ///
    /// ```
    /// # use macaroon_mint::onedata::{provider_registration_token, InviteOptions, OnedataToken};
    /// # use macaroon_mint::RootKey;
    /// # let key = RootKey::new("s");
    /// # let minted = provider_registration_token(&key, "oz", "u", "u", &InviteOptions::default())?;
    /// let token = OnedataToken::parse(&minted.token)?;
    /// assert_eq!(token.macaroon().location(), b"oz");
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn macaroon(&self) -> &Macaroon {
        &self.macaroon
    }

    /// The parsed identifier (legacy or version 2).
    ///
    /// ```
    /// # use macaroon_mint::onedata::{provider_registration_token, InviteOptions, OnedataToken};
    /// # use macaroon_mint::RootKey;
    /// # let key = RootKey::new("s");
    /// # let minted = provider_registration_token(&key, "oz", "u", "u", &InviteOptions::default())?;
    /// let token = OnedataToken::parse(&minted.token)?;
    /// assert_eq!(token.identifier().version(), 2);
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn identifier(&self) -> &ParsedIdentifier {
        &self.identifier
    }

    /// The token id: where a server finds a named token's record and secret.
    ///
    /// ```
    /// # use macaroon_mint::onedata::{provider_registration_token, InviteOptions, OnedataToken};
    /// # use macaroon_mint::RootKey;
    /// # let key = RootKey::new("s");
    /// let options = InviteOptions { token_id: Some("tok1".into()), ..InviteOptions::default() };
    /// let minted = provider_registration_token(&key, "oz", "u", "u", &options)?;
    /// assert_eq!(OnedataToken::parse(&minted.token)?.token_id(), "tok1");
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn token_id(&self) -> &str {
        self.identifier.token_id()
    }

    /// The subject of a version 2 token (whose temporary-token secret verifies a temporary
    /// token); `None` for a legacy token.
    ///
    /// ```
    /// # use macaroon_mint::onedata::{provider_registration_token, InviteOptions, OnedataToken, Subject};
    /// # use macaroon_mint::RootKey;
    /// # let key = RootKey::new("s");
    /// # let minted = provider_registration_token(&key, "oz", "u", "u", &InviteOptions::default())?;
    /// let token = OnedataToken::parse(&minted.token)?;
    /// assert_eq!(token.subject(), Some(&Subject::User("u".into())));
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn subject(&self) -> Option<&Subject> {
        self.identifier.as_v2().map(OnedataIdentifier::subject)
    }

    /// The service indication (`opw` / `opp`) before the token text, if any. It is not signed.
    ///
    /// ```
    /// # use macaroon_mint::onedata::{provider_registration_token, InviteOptions, OnedataToken};
    /// # use macaroon_mint::RootKey;
    /// # let key = RootKey::new("s");
    /// # let minted = provider_registration_token(&key, "oz", "u", "u", &InviteOptions::default())?;
    /// assert_eq!(OnedataToken::parse(&minted.token)?.service(), None);
    /// let prefixed = format!("opp-{}", minted.token);
    /// assert_eq!(OnedataToken::parse(&prefixed)?.service(), Some("opp"));
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Verifies an invite token of kind `expected` under its secret `key`, at time `now` (Unix
    /// seconds) against the request `context`, and returns what it grants.
    ///
    /// Checks, in order (the first failure is returned):
    /// 1. the identifier is version 2 ([`OnedataError::LegacyToken`]);
    /// 2. the token is an invite ([`OnedataError::WrongTokenType`] for access and identity
    ///    tokens);
    /// 3. its invite code is known and so is `expected` ([`OnedataError::UnknownInviteType`]);
    /// 4. its invite type is `expected` ([`OnedataError::WrongInviteType`]);
    /// 5. a temporary token is of `policy.current_generation` ([`OnedataError::Revoked`],
    ///    [`OnedataError::GenerationUnknown`]), before the signature is checked (SPEC §10.3);
    /// 6. no third-party caveat ([`OnedataError::ThirdPartyCaveat`]);
    /// 7. the signature and every caveat ([`OnedataError::Macaroon`] wrapping the
    ///    [`VerifyError`](crate::VerifyError)): only the invite token's caveat forms
    ///    ([`INVITE_CAVEATS`]) are allowed (`interface = rest` fails as
    ///    [`Unmet::NotSupported`](crate::caveat::Unmet::NotSupported)), text of no form as
    ///    `UnknownCaveat`, a malformed one as `MalformedCaveat`, `time < N` holds iff
    ///    `now < N + policy.leeway`; a temporary token must expire within
    ///    `policy.temporary_max_ttl` (`NoExpiry`, `LifetimeTooLong`), a named one within
    ///    `policy.named_max_ttl` when set.
    ///
    /// Usage limits and the revoked flag of named tokens live in the server's token record; check
    /// them by [`token_id`](OnedataToken::token_id).
    ///
    /// # Errors
    ///
    /// As listed above.
    ///
    /// ```
    /// use macaroon_mint::onedata::{
    ///     provider_registration_token, space_support_token, Expiry, InviteOptions, InvitePolicy, InviteType,
    ///     OnedataError, OnedataToken, Persistence, Subject,
    /// };
    /// use macaroon_mint::{AuthContext, Error, RootKey, VerifyError};
    ///
    /// let key = RootKey::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    /// let now = 1_700_000_000;
    /// let ctx = AuthContext::new();
    /// let policy = InvitePolicy::default();
    ///
    /// let ssp = space_support_token(&key, "oz", Subject::User("alice".into()), "space1", &InviteOptions::default())?;
    /// let token = OnedataToken::parse(&ssp.token)?;
    /// let claims = token.verify_invite(&key, InviteType::SupportSpace, now, &ctx, &policy)?;
    /// assert_eq!(claims.target, "space1");
    ///
    /// // An ssp token where a rop token is required.
    /// let err = token.verify_invite(&key, InviteType::RegisterOneprovider, now, &ctx, &policy).unwrap_err();
    /// assert!(matches!(err, OnedataError::WrongInviteType { .. }));
    ///
    /// // The wrong secret.
    /// let err = token.verify_invite(&RootKey::new("other"), InviteType::SupportSpace, now, &ctx, &policy).unwrap_err();
    /// assert!(matches!(err, OnedataError::Macaroon(Error::Verify(VerifyError::SignatureMismatch { .. }))));
    ///
    /// // A temporary token after its subject's temporary tokens were revoked (generation 2 → 3).
    /// let options = InviteOptions {
    ///     persistence: Persistence::Temporary { generation: 2 },
    ///     expiry: Some(Expiry::after(3600, now)),
    ///     ..InviteOptions::default()
    /// };
    /// let rop = provider_registration_token(&key, "oz", "alice", "alice", &options)?;
    /// let current = InvitePolicy { current_generation: Some(3), ..policy };
    /// let err = OnedataToken::parse(&rop.token)?
    ///     .verify_invite(&key, InviteType::RegisterOneprovider, now, &ctx, &current)
    ///     .unwrap_err();
    /// assert_eq!(err, OnedataError::Revoked { generation: 2, current: 3 });
    /// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
    /// ```
    pub fn verify_invite(
        &self,
        key: &RootKey,
        expected: InviteType,
        now: u64,
        context: &AuthContext,
        policy: &InvitePolicy,
    ) -> Result<InviteClaims, OnedataError> {
        let id = match &self.identifier {
            ParsedIdentifier::V2(id) => id,
            ParsedIdentifier::Legacy { token_id } => {
                return Err(OnedataError::LegacyToken {
                    token_id: token_id.clone(),
                })
            }
        };
        let TokenType::Invite {
            invite,
            target,
            parameters,
        } = id.token_type()
        else {
            return Err(OnedataError::WrongTokenType {
                found: id.token_type().clone(),
            });
        };
        for t in [invite, &expected] {
            if let InviteType::Other(code) = t {
                return Err(OnedataError::UnknownInviteType { code: code.clone() });
            }
        }
        if *invite != expected {
            return Err(OnedataError::WrongInviteType {
                expected,
                found: invite.clone(),
            });
        }
        let max_ttl = match id.persistence() {
            Persistence::Named => policy.named_max_ttl,
            Persistence::Temporary { generation } => match policy.current_generation {
                None => return Err(OnedataError::GenerationUnknown { generation }),
                Some(current) if current != generation => {
                    return Err(OnedataError::Revoked {
                        generation,
                        current,
                    })
                }
                Some(_) => Some(policy.temporary_max_ttl),
            },
        };
        if let Some(index) = self
            .macaroon
            .caveats()
            .iter()
            .position(|c| c.is_third_party())
        {
            return Err(OnedataError::ThirdPartyCaveat { index });
        }

        let mut clock = Clock::at(now).with_leeway(policy.leeway);
        clock.max_ttl = max_ttl;
        Verifier::new()
            .with_clock(clock)
            .with_context(context)
            .with_supported_caveats(&INVITE_CAVEATS, "invite")
            .verify(key, &self.macaroon, &[])?;

        // Every caveat held, so every one parses.
        let caveats = self
            .macaroon
            .caveats()
            .iter()
            .map(|c| TypedCaveat::parse(c.id()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::Error::Caveat)?;
        let expiry = TypedCaveat::earliest_expiry(&caveats);
        Ok(InviteClaims {
            subject: id.subject().clone(),
            invite: invite.clone(),
            target: target.clone(),
            parameters: parameters.clone(),
            token_id: id.id().to_owned(),
            persistence: id.persistence(),
            expiry,
            location: String::from_utf8_lossy(self.macaroon.location()).into_owned(),
            service: self.service.clone(),
            caveats,
        })
    }
}
