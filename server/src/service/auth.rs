//! Who is calling: a username and password, or an access token minted by this service,
//! verified with `macaroon_mint` against the request it comes with.

use std::net::IpAddr;
use std::sync::Arc;

use macaroon_mint::caveat::{ConsumerKind, Form, Interface, Operation, ServiceKind};
use macaroon_mint::onedata::{
    OnedataError, OnedataIdentifier, OnedataToken, ParsedIdentifier, Persistence, Subject,
    TokenType,
};
use macaroon_mint::{
    ApiCall, AuthContext, Clock, Consumer, Error as MacaroonError, ErrorClass, Limits, RootKey,
    TypedCaveat, Verifier, VerifyError,
};

use super::memo::{self, KnownSecret, ParsedToken};
use super::tokens::{Parent, MAX_LINEAGE};
use super::{
    keys, verify_password, AnyCaller, AuthToken, Caller, Error, Principal, ProviderCaller, Result,
    Service, TokenError,
};
use crate::store::RootKeyRecord;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Onedata's `max_token_size` (SPEC §10.1).
pub const MAX_TOKEN_SIZE: usize = 1_048_576;

/// The caveat forms an access and an identity token may carry (SPEC §10.4), as the library
/// defines them.
pub use macaroon_mint::onedata::{ACCESS_CAVEATS, IDENTITY_CAVEATS};

/// The request an access token's caveats are checked against: the client and the API call
/// (`ozw/<operation>/<entity type>.<entity id>.<aspect>`, what `api` caveats match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's address (what `ip` caveats see).
    pub client_ip: IpAddr,
    /// The operation.
    pub operation: Operation,
    /// The entity type (`user`, `space`, `token`).
    pub entity_type: &'static str,
    /// The entity id (`undefined` where the path names none).
    pub entity_id: String,
    /// The aspect (`instance`, `provider_registration_token`, …).
    pub aspect: &'static str,
}

/// What a verifying service tells `verify_access_token` / `verify_identity_token` about the
/// bearer (Onezone's `VerifyAccessTokenRequest`, `VerifyIdentityTokenRequest`). A fact left out
/// fails every caveat that needs it: nothing is assumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bearer {
    /// The bearer's address (`peerIp`).
    pub peer_ip: Option<IpAddr>,
    /// The interface the bearer connected through.
    pub interface: Option<Interface>,
    /// The consumer, proven by its identity token (`consumerToken`).
    pub consumer: Option<Subject>,
    /// The Oneprovider whose worker processes the token, proven by its identity token
    /// (`serviceToken`).
    pub service_provider: Option<String>,
    /// Whether the verifying service checks `data.*` caveats itself
    /// (`allowDataAccessCaveats`; access tokens only).
    pub allow_data_access_caveats: bool,
    /// Whether `service` and `interface` caveats are left aside too (inferring a token's data
    /// access scope, which looks past where the token may be used).
    pub ignore_service_and_interface: bool,
}

/// A token verified for a bearer: its subject, caveats and expiry.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// Whose token it is.
    pub subject: Subject,
    /// The user or provider it is.
    pub principal: Principal,
    /// Its typed caveats, in order.
    pub caveats: Vec<TypedCaveat>,
    /// Its earliest `time <` caveat, if any.
    pub expiry: Option<u64>,
}

/// A token's parse: remembered from an earlier request, or made for this one.
// A local of one call: boxing the fresh parse would allocate on every miss.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Remembered(Arc<ParsedToken>),
    Fresh(OnedataToken),
}

impl Parsed {
    fn token(&self) -> &OnedataToken {
        match self {
            Parsed::Remembered(entry) => &entry.token,
            Parsed::Fresh(token) => token,
        }
    }
}

/// A verified token's secret and what else decides its fate.
struct Secret {
    key: Arc<RootKey>,
    /// The root key it was derived from, and its material (with the token's text, all the
    /// secret depends on).
    root_id: i64,
    root_material: Zeroizing<Vec<u8>>,
    /// The lifetime cap (temporary tokens).
    max_ttl: Option<u64>,
    /// Why a genuine token must still be refused (revoked itself or through its lineage).
    revoked: bool,
    /// How many tokens stand above it in its lineage.
    depth: usize,
    /// How tokens minted with it name it as their parent.
    as_parent: Parent,
}

impl Service {
    /// Authenticates a username and password (blocking: Argon2 and the store).
    ///
    /// # Errors
    ///
    /// [`Error::BadBasicCredentials`] for an unknown user or a wrong password — the same work
    /// either way, so usernames cannot be probed by timing.
    pub fn authenticate_basic(&self, username: &str, password: &str) -> Result<Caller> {
        match self.store.user_by_username(username)? {
            Some(user) if verify_password(password, &user.password_hash) => {
                Ok(Caller { user, token: None })
            }
            Some(_) => Err(Error::BadBasicCredentials),
            None => {
                let _ = verify_password(password, &self.dummy_hash);
                Err(Error::BadBasicCredentials)
            }
        }
    }

    /// Authenticates a user's access token for `request`.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] with the reason the token was refused; 403 for a
    /// Oneprovider's token (it acts for the provider, and this is a user's operation).
    pub fn authenticate_token(&self, text: &str, request: &Request) -> Result<Caller> {
        match self.authenticate_any(text, request)? {
            (Principal::User(user), token) => Ok(Caller {
                user,
                token: Some(token),
            }),
            (Principal::Provider(_), _) => Err(Error::forbidden_because(
                "a Oneprovider's token acts for the provider; this operation is a user's",
            )),
        }
    }

    /// Authenticates a Oneprovider's access token for `request` (the `/provider/…` routes).
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] with the reason the token was refused; 403 for a user's
    /// token.
    pub fn authenticate_provider_token(
        &self,
        text: &str,
        request: &Request,
    ) -> Result<ProviderCaller> {
        match self.authenticate_any(text, request)? {
            (Principal::Provider(provider), token) => Ok(ProviderCaller { provider, token }),
            (Principal::User(_), _) => Err(Error::forbidden_because(
                "this operation is a Oneprovider's: authenticate with the provider's token",
            )),
        }
    }

    /// Authenticates an access token of a user or a Oneprovider for `request` (routes both
    /// may call, as `/tokens/named/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] with the reason the token was refused.
    pub fn authenticate_any_token(&self, text: &str, request: &Request) -> Result<AnyCaller> {
        Ok(match self.authenticate_any(text, request)? {
            (Principal::User(user), token) => AnyCaller::User(Caller {
                user,
                token: Some(token),
            }),
            (Principal::Provider(provider), token) => {
                AnyCaller::Provider(ProviderCaller { provider, token })
            }
        })
    }

    fn authenticate_any(&self, text: &str, request: &Request) -> Result<(Principal, AuthToken)> {
        self.verify_access_token(text, request)
            .map_err(|e| match e {
                Error::Token(reason) => Error::Unauthenticated(Some(reason)),
                other => other,
            })
    }

    fn verify_access_token(&self, text: &str, request: &Request) -> Result<(Principal, AuthToken)> {
        // Read before any lookup: a root key change after this point keeps this request from
        // remembering what it read.
        let clearings = self.parsed_tokens.clearings();
        // A token verified here recently is not parsed again; it is verified as any other.
        let source = match self.parsed_tokens.get(text) {
            Some(entry) => Parsed::Remembered(entry),
            None => Parsed::Fresh(parse_token(text)?),
        };
        let remembered = matches!(source, Parsed::Remembered(_));
        let verified = self.verify_parsed_access_token(text, request, source, clearings);
        if remembered
            && matches!(
                verified,
                Err(Error::Token(TokenError::Invalid | TokenError::Revoked))
            )
        {
            self.parsed_tokens.forget(text);
        }
        verified
    }

    fn verify_parsed_access_token(
        &self,
        text: &str,
        request: &Request,
        source: Parsed,
        clearings: u64,
    ) -> Result<(Principal, AuthToken)> {
        let token = source.token();
        check_access_type(token)?;
        let (id, principal) = self.token_principal(token)?;
        let known = match &source {
            Parsed::Remembered(entry) => Some(&entry.secret),
            Parsed::Fresh(_) => None,
        };
        let secret =
            self.token_secret(&principal, id.persistence(), id.id(), Some("act"), known)?;
        let checked = self.check_signature_and_caveats(token, &secret, request);
        // The revocation is told only to who holds a genuine token: a forgery learns nothing.
        match checked {
            Err(Error::Token(TokenError::Invalid)) => {
                return Err(Error::Token(TokenError::Invalid))
            }
            _ if secret.revoked => return Err(Error::Token(TokenError::Revoked)),
            other => other?,
        }
        let caveats = match source {
            Parsed::Remembered(entry) => Arc::clone(&entry.caveats),
            Parsed::Fresh(token) => {
                // Verified: every caveat is a first-party caveat of a supported typed form.
                let caveats: Arc<[TypedCaveat]> = typed_caveats(&token)?.into();
                let verified = memo::Verified {
                    token,
                    caveats: Arc::clone(&caveats),
                    key: secret.key,
                    root_id: secret.root_id,
                    root_material: &secret.root_material,
                };
                self.parsed_tokens.remember(text, clearings, verified);
                caveats
            }
        };
        let token = AuthToken {
            caveats,
            parent: secret.as_parent,
            depth: secret.depth + 1,
        };
        Ok((principal, token))
    }

    /// `POST /tokens/verify_access_token`: verifies an access token for `bearer`, as a service
    /// would before acting for it. `api` caveats are left to the operation the service then
    /// performs (as Onezone does); `data.*` caveats hold only when the service says it checks
    /// them.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with Onezone's reason.
    pub fn verify_access_token_for(&self, text: &str, bearer: &Bearer) -> Result<VerifiedToken> {
        let token = parse_token(text)?;
        check_access_type(&token)?;
        self.verify_for_bearer(&token, "act", &ACCESS_CAVEATS, bearer)
    }

    /// `POST /tokens/verify_identity_token`: verifies an identity token for `bearer`.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with Onezone's reason ([`TokenError::NotAnIdentityToken`] for another
    /// type).
    pub fn verify_identity_token(&self, text: &str, bearer: &Bearer) -> Result<VerifiedToken> {
        let token = parse_token(text)?;
        let received = token.identifier().as_v2().map(|id| id.token_type().clone());
        if received != Some(TokenType::Identity) {
            return Err(Error::Token(TokenError::NotAnIdentityToken { received }));
        }
        let bearer = Bearer {
            allow_data_access_caveats: false,
            ..bearer.clone()
        };
        self.verify_for_bearer(&token, "idn", &IDENTITY_CAVEATS, &bearer)
    }

    fn verify_for_bearer(
        &self,
        token: &OnedataToken,
        kind: &str,
        forms: &[Form],
        bearer: &Bearer,
    ) -> Result<VerifiedToken> {
        let (id, principal) = self.token_principal(token)?;
        let secret = self.token_secret(&principal, id.persistence(), id.id(), Some(kind), None)?;
        let mut context = AuthContext::new();
        if let Some(ip) = bearer.peer_ip {
            context = context.with_ip(ip);
        }
        if let Some(interface) = bearer.interface {
            context = context.with_interface(interface);
        }
        if let Some(provider) = &bearer.service_provider {
            context = context.with_service(macaroon_mint::Service::new(
                ServiceKind::OneproviderWorker,
                provider,
            ));
        }
        match &bearer.consumer {
            Some(Subject::User(consumer)) => {
                context =
                    context.with_consumer(Consumer::new(ConsumerKind::User, consumer), Vec::new());
            }
            Some(Subject::Provider(consumer)) => {
                context = context
                    .with_consumer(Consumer::new(ConsumerKind::Provider, consumer), Vec::new());
            }
            _ => {}
        }
        // Left to each operation, as Onedata does: `api` always, data access and the service and
        // interface when the bearer asks for it.
        let mut deferred = vec![Form::Api];
        if bearer.ignore_service_and_interface {
            deferred.extend([Form::Service, Form::Interface]);
        }
        if bearer.allow_data_access_caveats {
            deferred.extend([Form::DataReadonly, Form::DataPath, Form::DataObjectId]);
        }
        let verifier = Verifier::new()
            .with_context(&context)
            .with_supported_caveats(forms, if kind == "act" { "access" } else { "identity" })
            .defer(&deferred)
            .with_clock(clock(self.now(), secret.max_ttl));
        let checked = verifier
            .verify(&secret.key, token.macaroon(), &[])
            .map_err(|e| macaroon_error(&e));
        // As for authentication: only a genuine token hears that it is revoked.
        match checked {
            Err(TokenError::Invalid) => return Err(Error::Token(TokenError::Invalid)),
            _ if secret.revoked => return Err(Error::Token(TokenError::Revoked)),
            Err(reason) => return Err(Error::Token(reason)),
            Ok(_) => {}
        }
        let caveats: Vec<TypedCaveat> = token
            .macaroon()
            .caveats()
            .iter()
            .filter_map(|c| TypedCaveat::parse(c.id()).ok())
            .collect();
        Ok(VerifiedToken {
            subject: id.subject().clone(),
            principal,
            expiry: TypedCaveat::earliest_expiry(&caveats),
            caveats,
        })
    }

    /// The identifier and the principal of a token this service could have minted:
    /// `tokenInvalid` for a legacy identifier, a subject that is no user or provider, or an
    /// unknown one.
    fn token_principal<'t>(
        &self,
        token: &'t OnedataToken,
    ) -> Result<(&'t OnedataIdentifier, Principal)> {
        let ParsedIdentifier::V2(id) = token.identifier() else {
            return Err(Error::Token(TokenError::Invalid));
        };
        let principal = match id.subject() {
            Subject::User(user_id) => self.store.user_by_id(user_id)?.map(Principal::User),
            Subject::Provider(provider_id) => {
                self.store.provider(provider_id)?.map(Principal::Provider)
            }
            _ => None,
        };
        principal
            .map(|principal| (id, principal))
            .ok_or(Error::Token(TokenError::Invalid))
    }

    /// The secret of `user`'s token with this persistence and id, and whether it is revoked.
    /// A named token must have a record of the given kind (`act`, `rop`, …; `None`: any).
    ///
    /// A temporary token's secret is derived for the generation *it claims*, so a forgery is
    /// refused as invalid whatever generation it names; only a genuine token of an old
    /// generation is told it is revoked (SPEC §10.3).
    ///
    /// `known`: the secret derived when this token's text verified before (it is kept with the
    /// text's parse); taken again when the root key's material is still the one it was derived
    /// from, since the token's text fixes the rest of the derivation's input (its subject,
    /// generation or token id).
    fn token_secret(
        &self,
        subject: &Principal,
        persistence: Persistence,
        token_id: &str,
        kind: Option<&str>,
        known: Option<&KnownSecret>,
    ) -> Result<Secret> {
        match persistence {
            Persistence::Named => {
                let record = match self.store.named_token(token_id)? {
                    Some(record)
                        if record.subject == subject.id()
                            && record.subject_type == subject.kind()
                            && kind.is_none_or(|kind| record.kind == kind) =>
                    {
                        record
                    }
                    _ => return Err(Error::Token(TokenError::Invalid)),
                };
                let root = self.token_root_key(Some(record.key_id))?;
                let key =
                    known_or_derived(known, &root, || keys::named_token_secret(&root, &record.id))?;
                let parent = record.parent.as_deref().map(Parent::decode).transpose()?;
                let (lineage_revoked, depth) = self.lineage(subject, parent.as_ref())?;
                Ok(Secret {
                    key,
                    root_id: root.id,
                    root_material: root.material,
                    max_ttl: None,
                    revoked: record.revoked || lineage_revoked,
                    depth,
                    as_parent: Parent::Named(record.id),
                })
            }
            Persistence::Temporary { generation } => {
                let Some(current) = self.store.temporary_generation(subject.id())? else {
                    return Err(Error::Token(TokenError::Invalid));
                };
                let (key_id, named) = keys::parse_temporary_token_id(token_id)
                    .ok_or(Error::Token(TokenError::Invalid))?;
                let root = self.token_root_key(Some(key_id))?;
                let key = known_or_derived(known, &root, || {
                    keys::temporary_secret_of(&root, subject.kind(), subject.id(), generation)
                })?;
                let named = named.map(str::to_owned);
                let parent = named.clone().map(Parent::Named);
                let (lineage_revoked, depth) = self.lineage(subject, parent.as_ref())?;
                Ok(Secret {
                    key,
                    root_id: root.id,
                    root_material: root.material,
                    max_ttl: Some(self.settings.temporary_max_ttl),
                    revoked: generation != current.generation || lineage_revoked,
                    depth,
                    as_parent: Parent::Temporary {
                        generation,
                        key_id,
                        named,
                    },
                })
            }
        }
    }

    /// Walks a token's lineage: whether a token above it is revoked, retired or gone, and how
    /// many stand above it. A lineage deeper than [`MAX_LINEAGE`] is invalid (this service
    /// never mints one).
    fn lineage(&self, subject: &Principal, parent: Option<&Parent>) -> Result<(bool, usize)> {
        let mut next = parent.cloned();
        let mut depth = 0;
        while let Some(parent) = next.take() {
            depth += 1;
            if depth > MAX_LINEAGE {
                return Err(Error::Token(TokenError::Invalid));
            }
            match parent {
                Parent::Temporary {
                    generation,
                    key_id,
                    named,
                } => {
                    let current = self.store.temporary_generation(subject.id())?;
                    if current.is_none_or(|c| c.generation != generation)
                        || !self.root_key_active(key_id)?
                    {
                        return Ok((true, depth));
                    }
                    next = named.map(Parent::Named);
                }
                Parent::Named(id) => {
                    let record = match self.store.named_token(&id)? {
                        Some(record)
                            if record.subject == subject.id()
                                && record.subject_type == subject.kind()
                                && record.kind == "act" =>
                        {
                            record
                        }
                        _ => return Ok((true, depth)),
                    };
                    if record.revoked || !self.root_key_active(record.key_id)? {
                        return Ok((true, depth));
                    }
                    next = record.parent.as_deref().map(Parent::decode).transpose()?;
                }
            }
        }
        Ok((false, depth))
    }

    /// Whether root key `key_id` exists and is not retired. A store failure is an error, not a
    /// retired key: an unreachable database answers 503, not `tokenRevoked`.
    fn root_key_active(&self, key_id: i64) -> Result<bool> {
        match self.token_root_key(Some(key_id)) {
            Ok(_) => Ok(true),
            Err(Error::Token(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The root key a token names (by its record, or in its temporary id): `tokenInvalid`
    /// when it names none, or an unknown or retired key, which verify nothing.
    pub(crate) fn token_root_key(&self, key_id: Option<i64>) -> Result<RootKeyRecord> {
        match key_id.map(|id| self.store.root_key(id)).transpose()? {
            Some(Some(key)) if key.retired.is_none() => Ok(key),
            _ => Err(Error::Token(TokenError::Invalid)),
        }
    }

    /// Verifies the signature and every caveat.
    fn check_signature_and_caveats(
        &self,
        token: &OnedataToken,
        secret: &Secret,
        request: &Request,
    ) -> Result<()> {
        let context = AuthContext::new()
            .with_ip(request.client_ip)
            .with_interface(Interface::Rest)
            .with_api(ApiCall {
                service: ServiceKind::OnezoneWorker,
                operation: request.operation,
                entity_type: request.entity_type.to_owned(),
                id: request.entity_id.clone(),
                aspect: request.aspect.to_owned(),
                scope: "private".to_owned(),
            });
        let verifier = Verifier::new()
            .with_context(&context)
            .with_supported_caveats(&ACCESS_CAVEATS, "access")
            .with_clock(clock(self.now(), secret.max_ttl));
        verifier
            .verify(&secret.key, token.macaroon(), &[])
            .map(drop)
            .map_err(|e| Error::Token(macaroon_error(&e)))
    }

    /// The secret of an invite token found by its identifier (for `verify_invite_token`):
    /// with the current generation (temporary) and whether it is revoked.
    pub(crate) fn invite_secret(
        &self,
        token: &OnedataToken,
    ) -> Result<(Arc<RootKey>, Option<u64>, bool)> {
        let (id, principal) = self.token_principal(token)?;
        let kind = id.invite_kind().map(|k| k.code().to_owned());
        let secret =
            self.token_secret(&principal, id.persistence(), id.id(), kind.as_deref(), None)?;
        let current_generation = match id.persistence() {
            Persistence::Named => None,
            Persistence::Temporary { generation } => Some(generation),
        };
        // The library checks the generation itself; the claimed one is handed over so that
        // only `secret.revoked` speaks of revocation, after the signature.
        Ok((secret.key, current_generation, secret.revoked))
    }
}

/// `notAnAccessToken` for a token of another type, settled from the text alone, before any
/// lookup or signature check (so a token of the wrong type learns nothing); a legacy token
/// passes here and is refused later as invalid.
fn check_access_type(token: &OnedataToken) -> Result<()> {
    match token
        .identifier()
        .as_v2()
        .map(OnedataIdentifier::token_type)
    {
        Some(other) if !matches!(other, TokenType::Access { .. }) => {
            Err(Error::Token(TokenError::NotAnAccessToken {
                received: other.clone(),
            }))
        }
        _ => Ok(()),
    }
}

/// The secret remembered for a token's text when its root key's material is the one it was
/// derived from (compared in constant time), else a fresh derivation.
fn known_or_derived(
    known: Option<&KnownSecret>,
    root: &RootKeyRecord,
    derive: impl FnOnce() -> std::result::Result<RootKey, crate::store::StoreError>,
) -> Result<Arc<RootKey>> {
    match known {
        Some(known)
            if bool::from(
                known
                    .root_material
                    .as_slice()
                    .ct_eq(root.material.as_slice()),
            ) =>
        {
            Ok(Arc::clone(&known.key))
        }
        _ => Ok(Arc::new(derive()?)),
    }
}

/// The caveats of a token that verified for access, typed.
fn typed_caveats(token: &OnedataToken) -> Result<Vec<TypedCaveat>> {
    token
        .macaroon()
        .caveats()
        .iter()
        .map(|c| TypedCaveat::parse(c.id()).map_err(|_| Error::Token(TokenError::Invalid)))
        .collect()
}

/// Parses a token's text within Onedata's size limit.
pub(crate) fn parse_token(text: &str) -> Result<OnedataToken> {
    if text.len() > MAX_TOKEN_SIZE {
        return Err(Error::Token(TokenError::TooLarge {
            limit: MAX_TOKEN_SIZE,
        }));
    }
    let limits = Limits {
        max_token_bytes: MAX_TOKEN_SIZE,
        ..Limits::DEFAULT
    };
    OnedataToken::parse_with_limits(text, &limits).map_err(|_| Error::Token(TokenError::Malformed))
}

/// Onezone's error for a token that fails verification.
pub(crate) fn macaroon_error(e: &MacaroonError) -> TokenError {
    let printable = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match e {
        MacaroonError::Verify(VerifyError::CaveatNotSatisfied { caveat, .. })
        | MacaroonError::Verify(VerifyError::Expired { caveat, .. }) => {
            TokenError::CaveatUnverified {
                caveat: printable(caveat),
            }
        }
        MacaroonError::Verify(
            VerifyError::UnknownCaveat { caveat, .. } | VerifyError::MalformedCaveat { caveat, .. },
        ) => TokenError::CaveatUnknown {
            caveat: printable(caveat),
        },
        MacaroonError::Verify(
            VerifyError::NoExpiry { max_ttl } | VerifyError::LifetimeTooLong { max_ttl, .. },
        ) => TokenError::TimeCaveatRequired { max_ttl: *max_ttl },
        // The rest by the library's classification (the one the CLI's exit codes follow).
        other => match other.class() {
            ErrorClass::Malformed => TokenError::Malformed,
            _ => TokenError::Invalid,
        },
    }
}

/// Onezone's error for an invite token that fails [`OnedataToken::verify_invite`].
pub(crate) fn onedata_error(e: &OnedataError) -> Option<TokenError> {
    match e {
        OnedataError::Revoked { .. } => Some(TokenError::Revoked),
        OnedataError::Macaroon(inner) => Some(macaroon_error(inner)),
        _ => None,
    }
}

/// The verifier's clock: now, with the secret's lifetime cap (temporary tokens) if it has one.
fn clock(now: u64, max_ttl: Option<u64>) -> Clock {
    let clock = Clock::at(now);
    match max_ttl {
        Some(max_ttl) => clock.with_max_ttl(max_ttl),
        None => clock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(material: u8) -> RootKeyRecord {
        RootKeyRecord {
            id: 1,
            material: Zeroizing::new(vec![material; 32]),
            created: 0,
            retired: None,
        }
    }

    /// A remembered secret is taken only for the root key material it was derived from.
    #[test]
    fn a_known_secret_is_taken_only_for_the_same_root_material() {
        let known = KnownSecret {
            root_material: Arc::new(Zeroizing::new(vec![1; 32])),
            key: Arc::new(RootKey::new("remembered")),
        };
        let derive = |root: &RootKeyRecord| keys::named_token_secret(root, "t1");
        let same = root(1);
        let taken = known_or_derived(Some(&known), &same, || derive(&same)).unwrap();
        assert!(Arc::ptr_eq(&taken, &known.key));

        let rotated = root(2);
        let derived = known_or_derived(Some(&known), &rotated, || derive(&rotated)).unwrap();
        assert!(!Arc::ptr_eq(&derived, &known.key));
        let signature = |key: &RootKey| {
            macaroon_mint::Macaroon::mint(key, "", "i")
                .unwrap()
                .signature()
                .to_vec()
        };
        assert_eq!(signature(&derived), signature(&derive(&rotated).unwrap()));
        assert_ne!(signature(&derived), signature(&known.key));

        let fresh = known_or_derived(None, &same, || derive(&same)).unwrap();
        assert_eq!(signature(&fresh), signature(&derive(&same).unwrap()));
    }
}
