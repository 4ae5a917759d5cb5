//! Tokens: temporary and named access tokens, the two invite tokens, revocation, and the rule
//! that **no token mints or obtains a token stronger than itself**.
//!
//! A caller who authenticated with an access token (not a password) may mint tokens, but every
//! token so minted — temporary, named, provider registration or space support —
//!
//! - carries every caveat of the authenticating token after its own (so it expires no later,
//!   answers only from the same addresses, only the same API calls, …);
//! - names the authenticating token as its parent (a named token's record, a temporary token's
//!   id), and is refused as revoked once any token above it is revoked, its temporary
//!   generation bumped, or its root key retired;
//! - is at most [`MAX_LINEAGE`] tokens below a password login.
//!
//! An invite token can carry only the invite caveat forms (SPEC §10.4); an authenticating
//! token with any other form (`interface`, `api`, `service`, `data.*`) cannot mint invites:
//! the answer is 403 with a hint rather than an invite that is silently broader.
//! Onezone itself (oz-worker 21.02) lets such callers mint freely, with only the `api` caveat
//! checked; this service is stricter on purpose (see the README).

use std::collections::BTreeSet;
use std::net::IpAddr;

use macaroon_mint::caveat::Form;
use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, InviteOptions, InvitePolicy, InviteType,
    MintedToken, OnedataError, OnedataIdentifier, ParsedIdentifier, Persistence, Subject,
    TokenType, INVITE_CAVEATS,
};
use macaroon_mint::{AuthContext, Format, Macaroon, RootKey, TypedCaveat};

use super::auth::{onedata_error, parse_token, ACCESS_CAVEATS, IDENTITY_CAVEATS};
use super::privileges::{invite_type_name, OzPrivilege, SpacePrivilege};
use super::{
    check_name, keys, AuthToken, Caller, Error, Invalid, Minter, Principal, ProviderCaller,
    RegistrationPolicy, Result, Service, TokenError,
};
use crate::store::{random_hex, NamedToken, StoreError, SubjectKind};

/// The longest lineage of tokens minted with tokens (a password login is depth 0).
pub const MAX_LINEAGE: usize = 8;

/// The most caveats a minted token may carry, its own and inherited ones together.
pub const MAX_TOKEN_CAVEATS: usize = 128;

/// The token a token was minted with, as its record (or id) names it: what must still hold
/// for the child to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    /// A named access token, by id.
    Named(String),
    /// A temporary access token: the subject's temporary tokens of `generation` under root key
    /// `key_id`, and the named token (if any) that token was itself minted with.
    Temporary {
        /// The generation (still current, or the parent is revoked).
        generation: u64,
        /// The root key (still active, or the parent is invalid).
        key_id: i64,
        /// The nearest named token above (still valid, or the parent is revoked).
        named: Option<String>,
    },
}

impl Parent {
    /// The stored form: `named:<id>` or `temporary:<generation>:<key id>[:<named id>]`.
    ///
    /// ```
    /// use macaroon_mint_server::service::tokens::Parent;
    /// let parent = Parent::Temporary { generation: 4, key_id: 2, named: Some("ab".into()) };
    /// assert_eq!(parent.encode(), "temporary:4:2:ab");
    /// assert_eq!(Parent::decode("temporary:4:2:ab").unwrap(), parent);
    /// let plain = Parent::Temporary { generation: 4, key_id: 2, named: None };
    /// assert_eq!(Parent::decode(&plain.encode()).unwrap(), plain);
    /// assert_eq!(Parent::decode("named:ab").unwrap(), Parent::Named("ab".into()));
    /// for bad in ["other", "temporary:4", "temporary:x:2", "temporary:4:2:", "named:"] {
    ///     assert!(Parent::decode(bad).is_err(), "{bad}");
    /// }
    /// ```
    pub fn encode(&self) -> String {
        match self {
            Parent::Named(id) => format!("named:{id}"),
            Parent::Temporary {
                generation,
                key_id,
                named: None,
            } => format!("temporary:{generation}:{key_id}"),
            Parent::Temporary {
                generation,
                key_id,
                named: Some(named),
            } => format!("temporary:{generation}:{key_id}:{named}"),
        }
    }

    /// Reads the stored form.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for a corrupt record.
    pub fn decode(text: &str) -> Result<Parent> {
        let corrupt = || Error::Internal(format!("corrupt parent reference {text:?}"));
        let mut parts = text.split(':');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some("named"), Some(id), None, None, None) if !id.is_empty() => {
                Ok(Parent::Named(id.to_owned()))
            }
            (Some("temporary"), Some(generation), Some(key_id), named, None) => {
                if named.is_some_and(str::is_empty) {
                    return Err(corrupt());
                }
                Ok(Parent::Temporary {
                    generation: generation.parse().map_err(|_| corrupt())?,
                    key_id: key_id.parse().map_err(|_| corrupt())?,
                    named: named.map(str::to_owned),
                })
            }
            _ => Err(corrupt()),
        }
    }
}

/// A minted named token: its id and text.
#[derive(Clone, PartialEq, Eq)]
pub struct NewNamedToken {
    /// The token id.
    pub id: String,
    /// The token text (a bearer credential).
    pub token: String,
}

impl std::fmt::Debug for NewNamedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewNamedToken")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The type of a token to mint (Onezone's `TokenPropertyTokenType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewTokenType {
    /// `{"accessToken": {}}`: acts as its subject.
    Access,
    /// `{"identityToken": {}}`: proves who its subject is, grants nothing.
    Identity,
    /// `{"inviteToken": {"inviteType", "<target key>"}}`: invites to `target`.
    Invite {
        /// The kind of invitation.
        invite: InviteType,
        /// The entity invited to (a space, the future provider admin, …).
        target: String,
    },
}

impl NewTokenType {
    /// The caveat forms a token of this type may carry (SPEC §10.4).
    ///
    /// ```
    /// use macaroon_mint::caveat::Form;
    /// use macaroon_mint_server::service::tokens::NewTokenType;
    /// assert!(NewTokenType::Access.caveat_forms().contains(&Form::Api));
    /// assert!(NewTokenType::Identity.caveat_forms().contains(&Form::Interface));
    /// assert!(!NewTokenType::Identity.caveat_forms().contains(&Form::Api));
    /// ```
    pub fn caveat_forms(&self) -> &'static [Form] {
        match self {
            NewTokenType::Access => &ACCESS_CAVEATS,
            NewTokenType::Identity => &IDENTITY_CAVEATS,
            NewTokenType::Invite { .. } => &INVITE_CAVEATS,
        }
    }

    /// The type written into the identifier.
    pub fn token_type(&self) -> TokenType {
        match self {
            NewTokenType::Access => TokenType::Access { session: None },
            NewTokenType::Identity => TokenType::Identity,
            NewTokenType::Invite { invite, target } => TokenType::invite(invite.clone(), target),
        }
    }

    /// The kind a named token's record stores: `act`, `idn` or the invite code.
    pub fn kind(&self) -> String {
        match self {
            NewTokenType::Access => "act".to_owned(),
            NewTokenType::Identity => "idn".to_owned(),
            NewTokenType::Invite { invite, .. } => invite.code().to_owned(),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            NewTokenType::Access => "an access",
            NewTokenType::Identity => "an identity",
            NewTokenType::Invite { .. } => "an invite",
        }
    }
}

/// A token to mint, as a create request describes it (Onezone's `NamedTokenCreateRequest`
/// and `TemporaryTokenCreateRequest`, checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// The type.
    pub token_type: NewTokenType,
    /// The caveats asked for (the caller's token adds its own).
    pub caveats: Vec<TypedCaveat>,
    /// Named tokens: the owner's metadata, a JSON object as text.
    pub custom_metadata: String,
    /// Named tokens: created revoked.
    pub revoked: bool,
    /// Named invites: how many times it may be consumed (`None`: no limit).
    pub usage_limit: Option<u64>,
    /// Named invites to a space: the privileges granted on joining (`None`: the default
    /// member privileges).
    pub privileges: Option<BTreeSet<String>>,
}

impl TokenSpec {
    /// An access token with these caveats and nothing else.
    pub fn access(caveats: Vec<TypedCaveat>) -> TokenSpec {
        TokenSpec {
            token_type: NewTokenType::Access,
            caveats,
            custom_metadata: "{}".to_owned(),
            revoked: false,
            usage_limit: None,
            privileges: None,
        }
    }

    /// The same request for a token of another type.
    pub fn of_type(self, token_type: NewTokenType) -> TokenSpec {
        TokenSpec { token_type, ..self }
    }
}

/// Proof that a caller may mint, list and revoke the tokens of a user or provider: the user
/// or provider itself, or a holder of `oz_tokens_manage` (for a user's) logged in with a
/// password.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    principal: Principal,
}

impl TokenOwner {
    /// The caller's own tokens.
    pub fn caller(caller: &Caller) -> TokenOwner {
        TokenOwner::of(Principal::User(caller.user.clone()))
    }

    /// The calling provider's own tokens.
    pub fn provider(caller: &ProviderCaller) -> TokenOwner {
        TokenOwner::of(Principal::Provider(caller.provider.clone()))
    }

    pub(crate) fn of(principal: Principal) -> TokenOwner {
        TokenOwner { principal }
    }

    /// Whose tokens these are.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The owner's id.
    pub fn id(&self) -> &str {
        self.principal.id()
    }

    /// User or provider.
    pub fn kind(&self) -> SubjectKind {
        self.principal.kind()
    }
}

/// Proof that a caller may mint one of the two seed invites (SPEC §10.5).
#[derive(Debug)]
pub enum SeedInvite {
    /// A provider registration token whose future cluster admin is `admin`.
    ProviderRegistration {
        /// The user id.
        admin: String,
    },
    /// A space support token for `space`.
    SpaceSupport {
        /// The space id.
        space: String,
    },
}

/// What a verified invite token claims.
pub type InviteClaims = macaroon_mint::onedata::InviteClaims;

impl Service {
    /// The caveats of a token minted by `caller`: `requested`, then every caveat of the
    /// caller's authenticating token not already among them.
    ///
    /// # Errors
    ///
    /// 403 when the caller's lineage is already [`MAX_LINEAGE`] deep; 400 when the caveats
    /// would be more than [`MAX_TOKEN_CAVEATS`].
    pub fn inherited_caveats(
        &self,
        token: Option<&AuthToken>,
        requested: Vec<TypedCaveat>,
    ) -> Result<Vec<TypedCaveat>> {
        let Some(token) = token else {
            return Ok(requested);
        };
        if token.depth >= MAX_LINEAGE {
            return Err(Error::forbidden_because(format!(
                "tokens minted with tokens may be at most {MAX_LINEAGE} deep; log in with a password"
            )));
        }
        let mut caveats = requested;
        for caveat in token.caveats.iter() {
            if !caveats.contains(caveat) {
                caveats.push(caveat.clone());
            }
        }
        if caveats.len() > MAX_TOKEN_CAVEATS {
            return Err(Error::Invalid(Invalid::Caveat {
                index: 0,
                reason: format!(
                    "with the caveats inherited from the authenticating token there would be {}, \
                     more than {MAX_TOKEN_CAVEATS}",
                    caveats.len()
                ),
            }));
        }
        Ok(caveats)
    }

    /// `POST /user/tokens/temporary` for an access token with `caveats`: see
    /// [`Service::create_temporary`].
    ///
    /// # Errors
    ///
    /// As [`Service::create_temporary`].
    pub fn create_temporary_token(
        &self,
        caller: &Caller,
        caveats: Vec<TypedCaveat>,
    ) -> Result<String> {
        self.create_temporary(
            caller.into(),
            &TokenOwner::caller(caller),
            TokenSpec::access(caveats),
        )
    }

    /// `POST /user/tokens/temporary` and `/users/{id}/tokens/temporary`: a temporary token of
    /// `owner` as `spec` describes, with the caveats the caller's token passes on, which must
    /// include `time < N` at most the temporary maximum TTL ahead.
    ///
    /// # Errors
    ///
    /// [`TokenError::TimeCaveatRequired`] (400) without such an expiry; as
    /// [`Service::check_new_token`] for the type.
    pub fn create_temporary(
        &self,
        minter: Minter<'_>,
        owner: &TokenOwner,
        spec: TokenSpec,
    ) -> Result<String> {
        let Some(current) = self.store.temporary_generation(owner.id())? else {
            return Err(Error::NotFound);
        };
        let caveats = self.check_new_token(minter, owner.principal(), &spec)?;
        let now = self.now();
        let max_ttl = self.settings.temporary_max_ttl;
        match TypedCaveat::earliest_expiry(&caveats) {
            Some(n) if n <= now.saturating_add(max_ttl) => {}
            _ => return Err(Error::Token(TokenError::TimeCaveatRequired { max_ttl })),
        }
        // A temporary token minted with a temporary token is the same node of the lineage with
        // more caveats: same generation, same root key, same named ancestor, so whatever
        // revokes the parent revokes it. (The generation read when the caller authenticated:
        // if it was bumped since, the caller's token is revoked and mints nothing.)
        let (generation, root, named) = match minter.token.map(|t| &t.parent) {
            Some(Parent::Temporary {
                generation,
                key_id,
                named,
            }) => {
                if *generation != current.generation {
                    return Err(Error::Unauthenticated(Some(TokenError::Revoked)));
                }
                let root = self
                    .token_root_key(Some(*key_id))
                    .map_err(|_| Error::Unauthenticated(Some(TokenError::Invalid)))?;
                (*generation, root, named.as_deref())
            }
            Some(Parent::Named(id)) => (
                current.generation,
                self.current_key(now)?,
                Some(id.as_str()),
            ),
            None => (current.generation, self.current_key(now)?, None),
        };
        let secret = keys::temporary_secret_of(&root, owner.kind(), owner.id(), generation)?;
        let token_id = keys::temporary_token_id(root.id, &random_hex(16)?, named);
        let persistence = Persistence::Temporary { generation };
        self.mint(
            owner.principal(),
            persistence,
            &spec.token_type,
            &token_id,
            &secret,
            &caveats,
        )
    }

    /// `POST /user/tokens/named` for an access token with `caveats`: see
    /// [`Service::create_named`].
    ///
    /// # Errors
    ///
    /// As [`Service::create_named`].
    pub fn create_named_token(
        &self,
        caller: &Caller,
        name: &str,
        caveats: Vec<TypedCaveat>,
    ) -> Result<NewNamedToken> {
        let owner = TokenOwner::caller(caller);
        self.create_named(caller.into(), &owner, name, TokenSpec::access(caveats))
    }

    /// `POST /user/tokens/named` and `/users/{id}/tokens/named`: a named token of `owner` as
    /// `spec` describes, with the caveats the caller's token passes on.
    ///
    /// # Errors
    ///
    /// [`Invalid::Name`] for a bad name, [`Error::NameOccupied`] when the owner has a token
    /// of that name, 403 when the named-token quota is exhausted; as
    /// [`Service::check_new_token`] for the type.
    pub fn create_named(
        &self,
        minter: Minter<'_>,
        owner: &TokenOwner,
        name: &str,
        spec: TokenSpec,
    ) -> Result<NewNamedToken> {
        check_name("name", name)?;
        let caveats = self.check_new_token(minter, owner.principal(), &spec)?;
        let root = self.current_key(self.now())?;
        let token_id = random_hex(16)?;
        let secret = keys::named_token_secret(&root, &token_id)?;
        let persistence = Persistence::Named;
        let token = self.mint(
            owner.principal(),
            persistence,
            &spec.token_type,
            &token_id,
            &secret,
            &caveats,
        )?;
        let invite = matches!(spec.token_type, NewTokenType::Invite { .. });
        let record = NamedToken {
            id: token_id.clone(),
            name: name.to_owned(),
            kind: spec.token_type.kind(),
            subject: owner.id().to_owned(),
            subject_type: owner.kind(),
            target: match &spec.token_type {
                NewTokenType::Invite { target, .. } => target.clone(),
                _ => String::new(),
            },
            key_id: root.id,
            revoked: spec.revoked,
            created: self.now(),
            caveats: caveats.iter().map(ToString::to_string).collect(),
            parent: minter.token.map(|t| t.parent.encode()),
            custom_metadata: spec.custom_metadata,
            usage_limit: spec.usage_limit.filter(|_| invite),
            usage_count: 0,
            privileges: spec.privileges.filter(|_| invite),
        };
        self.insert_named(&record)?;
        Ok(NewNamedToken {
            id: token_id,
            token,
        })
    }

    /// Checks that `subject` may hold a token of `spec`'s type (for an invite: its target
    /// exists and the subject may invite to it) and returns its caveats: `spec`'s, then those
    /// the caller's token passes on.
    ///
    /// # Errors
    ///
    /// [`Invalid::InviteTarget`] for an invite to nothing this service has; 403 when the
    /// subject may not invite there, or when the caller's token has caveats a token of this
    /// type cannot carry (it would be broader than the caller's token).
    pub fn check_new_token(
        &self,
        minter: Minter<'_>,
        subject: &Principal,
        spec: &TokenSpec,
    ) -> Result<Vec<TypedCaveat>> {
        if minter.token.is_some() && (minter.id != subject.id() || minter.kind != subject.kind()) {
            // Its lineage would name the caller's token, which the lineage walk reads as the
            // subject's: a token mints only for its own subject.
            return Err(Error::forbidden_because(
                "a token mints tokens only for its own user; log in with a password to mint \
                 tokens for another user",
            ));
        }
        if let NewTokenType::Invite { invite, target } = &spec.token_type {
            self.authorize_invite(subject, invite, target)?;
            if spec.privileges.is_some() {
                self.authorize_granted_privileges(subject, target)?;
            }
        }
        let caveats = self.inherited_caveats(minter.token, spec.caveats.clone())?;
        let forms = spec.token_type.caveat_forms();
        if let Some(other) = caveats
            .iter()
            .find(|c| !c.form().is_some_and(|f| forms.contains(&f)))
        {
            return Err(Error::forbidden_because(format!(
                "the authenticating token has a {form} caveat, which {label} token cannot carry \
                 (it would be broader than the token); use a token without {form} caveats or a \
                 password",
                form = form_name(other),
                label = spec.token_type.label(),
            )));
        }
        Ok(caveats)
    }

    /// Whether `subject` may choose the privileges an invite into space `target` grants: as
    /// for setting them directly, `space_set_privileges` there or `oz_spaces_set_privileges`.
    fn authorize_granted_privileges(&self, subject: &Principal, target: &str) -> Result<()> {
        let Principal::User(user) = subject else {
            return Err(Error::forbidden());
        };
        let held = self
            .store
            .space_privileges(target, &user.id)?
            .unwrap_or_default();
        if SpacePrivilege::SetPrivileges.held_in(&held)
            || OzPrivilege::SpacesSetPrivileges.held_in(&user.oz_privileges)
        {
            Ok(())
        } else {
            Err(Error::forbidden_because(
                "an invite that grants privileges needs space_set_privileges in the space",
            ))
        }
    }

    /// Whether `subject` may issue an invite of this type to `target` (as Onezone's invite
    /// validation): the target must exist and the subject hold the privilege to add what the
    /// invite adds. Invites to entities this service does not keep (groups, harvesters,
    /// clusters, automation inventories) have no valid target.
    ///
    /// # Errors
    ///
    /// [`Invalid::InviteTarget`] or 403, as said.
    pub fn authorize_invite(
        &self,
        subject: &Principal,
        invite: &InviteType,
        target: &str,
    ) -> Result<()> {
        let invalid = || {
            Error::Invalid(Invalid::InviteTarget {
                id: target.to_owned(),
            })
        };
        let subject = match subject {
            Principal::User(user) => user,
            // A provider invites only into its own cluster (as Onezone lets providers).
            Principal::Provider(provider) => {
                return match invite {
                    InviteType::UserJoinCluster | InviteType::GroupJoinCluster
                        if target == provider.id =>
                    {
                        Ok(())
                    }
                    InviteType::UserJoinCluster | InviteType::GroupJoinCluster
                        if self.store.provider(target)?.is_none() =>
                    {
                        Err(invalid())
                    }
                    _ => Err(Error::forbidden()),
                };
            }
        };
        let holds = |privilege: OzPrivilege| privilege.held_in(&subject.oz_privileges);
        let in_space = |privilege: SpacePrivilege| -> Result<()> {
            if self.store.space_by_id(target)?.is_none() {
                return Err(invalid());
            }
            let held = self
                .store
                .space_privileges(target, &subject.id)?
                .unwrap_or_default();
            if privilege.held_in(&held) || holds(OzPrivilege::SpacesAddRelationships) {
                Ok(())
            } else {
                Err(Error::forbidden())
            }
        };
        match invite {
            InviteType::RegisterOneprovider => {
                if self.store.user_by_id(target)?.is_none() {
                    return Err(invalid());
                }
                let for_self = self.settings.registration_policy == RegistrationPolicy::Open
                    && subject.id == target;
                if for_self || holds(OzPrivilege::ProvidersInvite) {
                    Ok(())
                } else {
                    Err(Error::forbidden())
                }
            }
            InviteType::SupportSpace => in_space(SpacePrivilege::AddSupport),
            InviteType::UserJoinSpace => in_space(SpacePrivilege::AddUser),
            InviteType::GroupJoinSpace => in_space(SpacePrivilege::AddGroup),
            // A cluster is its provider's; its admin (the registering user) may invite.
            InviteType::UserJoinCluster | InviteType::GroupJoinCluster => {
                match self.store.provider(target)? {
                    None => Err(invalid()),
                    Some(provider)
                        if provider.admin == subject.id
                            || holds(OzPrivilege::ClustersAddRelationships) =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(Error::forbidden()),
                }
            }
            _ => Err(invalid()),
        }
    }

    fn insert_named(&self, record: &NamedToken) -> Result<()> {
        let quota = self.settings.quotas.named_tokens_per_user;
        match self.store.insert_named_token(record, quota) {
            Ok(()) => Ok(()),
            Err(StoreError::TokenNameTaken) => Err(Error::NameOccupied),
            Err(StoreError::QuotaExceeded) => Err(Error::forbidden_because(format!(
                "the quota of {} named tokens per user is exhausted; revoke and delete unused ones",
                quota.unwrap_or_default()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The first step of `POST /users/{id}/clusters/provider_registration_token`: user `id`
    /// exists (404) and the caller may invite a provider for them (403): with the open policy
    /// any user for themself, otherwise `oz_providers_invite`.
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_provider_registration(
        &self,
        caller: &Caller,
        user_id: &str,
    ) -> Result<SeedInvite> {
        if self.store.user_by_id(user_id)?.is_none() {
            return Err(Error::NotFound);
        }
        let for_self = self.settings.registration_policy == RegistrationPolicy::Open
            && caller.user.id == user_id;
        if !for_self && !caller.has(OzPrivilege::ProvidersInvite) {
            return Err(Error::forbidden());
        }
        Ok(SeedInvite::ProviderRegistration {
            admin: user_id.to_owned(),
        })
    }

    /// The first step of `POST /spaces/{id}/providers/token`: the space exists (404) and the
    /// caller holds `space_add_support` in it, or `oz_spaces_add_relationships` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_space_support(&self, caller: &Caller, space_id: &str) -> Result<SeedInvite> {
        if self.store.space_by_id(space_id)?.is_none() {
            return Err(Error::NotFound);
        }
        let in_space = self
            .store
            .space_privileges(space_id, &caller.user.id)?
            .unwrap_or_default();
        if !SpacePrivilege::AddSupport.held_in(&in_space)
            && !caller.has(OzPrivilege::SpacesAddRelationships)
        {
            return Err(Error::forbidden());
        }
        Ok(SeedInvite::SpaceSupport {
            space: space_id.to_owned(),
        })
    }

    /// Mints the named invite a [`SeedInvite`] allows (`rop:<admin>:` or `ssp:<space>:ge`),
    /// usable once, with the caveats the caller's token passes on.
    ///
    /// # Errors
    ///
    /// 403 when the caller's token has caveats an invite cannot carry.
    pub fn mint_seed_invite(&self, caller: &Caller, invite: SeedInvite) -> Result<String> {
        match invite {
            SeedInvite::ProviderRegistration { admin } => {
                let label = "Provider registration token";
                self.mint_named_invite(caller, &admin, label, |key, domain, options| {
                    provider_registration_token(key, domain, &caller.user.id, &admin, options)
                })
            }
            SeedInvite::SpaceSupport { space } => {
                let label = "Space support token";
                self.mint_named_invite(caller, &space, label, |key, domain, options| {
                    let issuer = Subject::User(caller.user.id.clone());
                    space_support_token(key, domain, issuer, &space, options)
                })
            }
        }
    }

    /// Both steps of `POST /users/{id}/clusters/provider_registration_token`.
    ///
    /// # Errors
    ///
    /// As [`Service::authorize_provider_registration`] and [`Service::mint_seed_invite`].
    pub fn provider_registration_token(&self, caller: &Caller, user_id: &str) -> Result<String> {
        let invite = self.authorize_provider_registration(caller, user_id)?;
        self.mint_seed_invite(caller, invite)
    }

    /// Both steps of `POST /spaces/{id}/providers/token`.
    ///
    /// # Errors
    ///
    /// As [`Service::authorize_space_support`] and [`Service::mint_seed_invite`].
    pub fn space_support_token(&self, caller: &Caller, space_id: &str) -> Result<String> {
        let invite = self.authorize_space_support(caller, space_id)?;
        self.mint_seed_invite(caller, invite)
    }

    /// Mints a named invite token under the current root key and stores its record, named as
    /// Onezone names them (`<label> <token id>`).
    fn mint_named_invite(
        &self,
        caller: &Caller,
        target: &str,
        label: &str,
        mint: impl FnOnce(&RootKey, &str, &InviteOptions) -> Result<MintedToken, OnedataError>,
    ) -> Result<String> {
        let caveats = self.inherited_caveats(caller.token.as_ref(), Vec::new())?;
        if let Some(other) = caveats
            .iter()
            .find(|c| !c.form().is_some_and(|f| INVITE_CAVEATS.contains(&f)))
        {
            return Err(Error::forbidden_because(format!(
                "the authenticating token has a {form} caveat, which an invite token cannot carry \
                 (it would be broader than the token); use a token without {form} caveats or a \
                 password",
                form = form_name(other),
            )));
        }
        let root = self.current_key(self.now())?;
        let token_id = random_hex(16)?;
        let secret = keys::named_token_secret(&root, &token_id)?;
        let options = InviteOptions {
            token_id: Some(token_id.clone()),
            caveats: caveats.clone(),
            ..InviteOptions::default()
        };
        let minted = mint(&secret, &self.settings.domain, &options)
            .map_err(|e| Error::internal("minting an invite token", &e))?;
        let kind = minted
            .identifier
            .invite_kind()
            .map_or("", InviteType::code)
            .to_owned();
        self.insert_named(&NamedToken {
            name: format!("{label} {token_id}"),
            id: token_id,
            kind,
            subject: caller.user.id.clone(),
            subject_type: SubjectKind::User,
            target: target.to_owned(),
            key_id: root.id,
            revoked: false,
            created: self.now(),
            caveats: caveats.iter().map(ToString::to_string).collect(),
            parent: caller.token.as_ref().map(|t| t.parent.encode()),
            custom_metadata: "{}".to_owned(),
            // As Onezone's seed endpoints: one use (SPEC §10.5).
            usage_limit: Some(1),
            usage_count: 0,
            privileges: None,
        })?;
        self.count_minted(Persistence::Named, minted.identifier.token_type());
        Ok(minted.token)
    }

    /// Mints a token of `subject` (an Onedata token text).
    fn mint(
        &self,
        subject: &Principal,
        persistence: Persistence,
        token_type: &NewTokenType,
        token_id: &str,
        key: &RootKey,
        caveats: &[TypedCaveat],
    ) -> Result<String> {
        let fail = |e: &dyn std::fmt::Display| Error::internal("minting a token", e);
        let identifier = OnedataIdentifier::new(
            persistence,
            subject.subject(),
            token_type.token_type(),
            token_id,
        )
        .map_err(|e| fail(&e))?;
        let mut macaroon = Macaroon::mint(key, &self.settings.domain, identifier.to_string())
            .map_err(|e| fail(&e))?;
        for caveat in caveats {
            macaroon = macaroon.with_first_party(caveat).map_err(|e| fail(&e))?;
        }
        let text = macaroon.serialize(Format::Onedata).map_err(|e| fail(&e))?;
        self.count_minted(persistence, &token_type.token_type());
        Ok(text)
    }

    fn count_minted(&self, persistence: Persistence, token_type: &TokenType) {
        let persistence = match persistence {
            Persistence::Named => "named",
            _ => "temporary",
        };
        let token_type = match token_type {
            TokenType::Access { .. } => "access",
            TokenType::Identity => "identity",
            _ => "invite",
        };
        self.metrics.minted(persistence, token_type);
    }

    /// `POST /tokens/confine`: the token with `caveats` added after its own — attenuation,
    /// which needs no key: anyone holding a token may confine it, nobody can widen it. Nothing
    /// is verified or looked up (as in Onezone).
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`] or [`TokenError::TooLarge`] for a token that does not decode;
    /// [`Invalid::Caveat`] when the result would carry more than [`MAX_TOKEN_CAVEATS`].
    pub fn confine(&self, text: &str, caveats: &[TypedCaveat]) -> Result<String> {
        let token = parse_token(text)?;
        let mut macaroon = token.macaroon().clone();
        let total = macaroon.caveats().len() + caveats.len();
        if total > MAX_TOKEN_CAVEATS {
            return Err(Error::Invalid(Invalid::Caveat {
                index: 0,
                reason: format!(
                    "the confined token would carry {total} caveats, more than {MAX_TOKEN_CAVEATS}"
                ),
            }));
        }
        let fail = |e: &dyn std::fmt::Display| Error::internal("confining a token", e);
        for caveat in caveats {
            macaroon = macaroon.with_first_party(caveat).map_err(|e| fail(&e))?;
        }
        macaroon.serialize(Format::Onedata).map_err(|e| fail(&e))
    }

    /// `POST /tokens/verify_invite_token`: verifies an invite token of type `expected` (or of
    /// its own type) for a consumer at `peer_ip`; no authentication, as in Onezone.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with Onezone's reason.
    pub fn verify_invite_token(
        &self,
        text: &str,
        expected: Option<InviteType>,
        peer_ip: Option<IpAddr>,
    ) -> Result<InviteClaims> {
        let token = parse_token(text)?;
        let received = token.identifier().as_v2().map(|id| id.token_type().clone());
        let not_invite = |expected: &str| {
            Error::Token(TokenError::NotAnInviteToken {
                expected: expected.to_owned(),
                received: received.clone(),
            })
        };
        // The type is settled from the text alone, before any lookup or signature check, so a
        // token of the wrong type learns nothing about users, generations or keys.
        let expected_name = expected.as_ref().map(invite_type_name).unwrap_or_default();
        let ParsedIdentifier::V2(id) = token.identifier() else {
            return Err(not_invite(&expected_name));
        };
        let TokenType::Invite { invite, .. } = id.token_type() else {
            return Err(not_invite(&expected_name));
        };
        if matches!(invite, InviteType::Other(_)) || expected.as_ref().is_some_and(|e| e != invite)
        {
            return Err(not_invite(&expected_name));
        }
        let expected = invite.clone();
        let (secret, claimed_generation, revoked) = self.invite_secret(&token)?;
        let policy = InvitePolicy {
            current_generation: claimed_generation,
            temporary_max_ttl: self.settings.temporary_max_ttl,
            ..InvitePolicy::default()
        };
        let mut context = AuthContext::new();
        if let Some(ip) = peer_ip {
            context = context.with_ip(ip);
        }
        match token.verify_invite(&secret, expected, self.now(), &context, &policy) {
            Ok(_) if revoked => Err(Error::Token(TokenError::Revoked)),
            Ok(claims) => Ok(claims),
            Err(e) => match onedata_error(&e).unwrap_or(TokenError::Invalid) {
                // Caveats are evaluated only once the signature has verified (the verifier's
                // contract), so only then may the token hear that it is revoked.
                TokenError::CaveatUnverified { .. }
                | TokenError::CaveatUnknown { .. }
                | TokenError::TimeCaveatRequired { .. }
                    if revoked =>
                {
                    Err(Error::Token(TokenError::Revoked))
                }
                // Anything else (a bad signature above all) never mentions revocation.
                TokenError::Revoked => Err(Error::Token(TokenError::Invalid)),
                other => Err(Error::Token(other)),
            },
        }
    }
}

impl Caller {
    /// Whether the caller holds this admin privilege.
    pub fn has(&self, privilege: OzPrivilege) -> bool {
        privilege.held_in(&self.user.oz_privileges)
    }
}

/// A caveat's form for messages: its name, or `unknown`.
fn form_name(caveat: &TypedCaveat) -> &'static str {
    caveat.form().map_or("unknown", Form::name)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{service, user};
    use super::super::{AuthToken, Request};
    use super::*;
    use crate::CacheSettings;
    use macaroon_mint::caveat::Operation;
    use macaroon_mint::onedata::OnedataToken;
    use std::sync::Arc;

    fn request(operation: Operation, entity_type: &'static str, aspect: &'static str) -> Request {
        Request {
            client_ip: "127.0.0.1".parse().unwrap(),
            operation,
            entity_type,
            entity_id: "undefined".into(),
            aspect,
        }
    }

    fn caveats(texts: &[&str]) -> Vec<TypedCaveat> {
        texts
            .iter()
            .map(|t| TypedCaveat::parse(t.as_bytes()).unwrap())
            .collect()
    }

    /// A service, its user alice (password caller) and a `time` caveat 600 s ahead.
    fn alice_with_expiry() -> (super::super::testing::TestService, Caller, String) {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let expiry = format!("time < {}", service.now() + 600);
        (service, alice, expiry)
    }

    /// Authenticates `token` as the request `POST /user/tokens/named` would.
    fn as_token(service: &Service, token: &str) -> Result<Caller> {
        service.authenticate_token(token, &request(Operation::Create, "token", "instance"))
    }

    /// `token` with its signature made under another key (it parses; it does not verify).
    fn forged(token: &str) -> String {
        let parsed = OnedataToken::parse(token).unwrap();
        let mut forged = Macaroon::mint(
            &RootKey::new("f".repeat(64)),
            "onezone.test",
            parsed.macaroon().identifier(),
        )
        .unwrap();
        for caveat in parsed.macaroon().caveats() {
            forged = forged.with_first_party(caveat.id()).unwrap();
        }
        forged.serialize(Format::Onedata).unwrap()
    }

    /// A token verified once is kept parsed; every later request still verifies it in full.
    #[test]
    fn a_remembered_token_is_checked_on_every_request() {
        let (service, alice, expiry) = alice_with_expiry();
        let token = service
            .create_temporary_token(
                &alice,
                caveats(&[&expiry, "ip = 127.0.0.1", "interface = rest"]),
            )
            .unwrap();
        // Refused tokens are not remembered: a forgery, and a token used from elsewhere.
        assert!(matches!(
            as_token(&service, &forged(&token)),
            Err(Error::Unauthenticated(Some(TokenError::Invalid)))
        ));
        let mut elsewhere = request(Operation::Create, "token", "instance");
        elsewhere.client_ip = "10.0.0.1".parse().unwrap();
        let ip_refusal = |refused: &Result<Caller>| {
            matches!(
                refused,
                Err(Error::Unauthenticated(Some(TokenError::CaveatUnverified { caveat })))
                    if caveat == "ip = 127.0.0.1"
            )
        };
        assert!(ip_refusal(&service.authenticate_token(&token, &elsewhere)));
        assert_eq!(service.parsed_tokens.size().0, 0);

        let first = as_token(&service, &token).unwrap();
        assert_eq!(service.parsed_tokens.size().0, 1);
        let again = as_token(&service, &token).unwrap();
        assert_eq!(first.token, again.token);
        assert_eq!(again.token.as_ref().unwrap().caveats.len(), 3);
        assert_eq!(service.parsed_tokens.size().0, 1);
        // The forgery of a remembered token is still a forgery.
        assert!(matches!(
            as_token(&service, &forged(&token)),
            Err(Error::Unauthenticated(Some(TokenError::Invalid)))
        ));

        // Remembered, and still refused from another address (and kept: the token is fine),
        // past its expiry, then revoked (and forgotten).
        assert!(ip_refusal(&service.authenticate_token(&token, &elsewhere)));
        assert_eq!(service.parsed_tokens.size().0, 1);
        service
            .clock
            .fetch_add(600, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            as_token(&service, &token),
            Err(Error::Unauthenticated(Some(TokenError::CaveatUnverified { caveat }))) if caveat == expiry
        ));
        service
            .clock
            .fetch_sub(600, std::sync::atomic::Ordering::SeqCst);
        assert!(as_token(&service, &token).is_ok());
        service
            .revoke_temporary_tokens(&alice, &alice.user.id)
            .unwrap();
        assert!(matches!(
            as_token(&service, &token),
            Err(Error::Unauthenticated(Some(TokenError::Revoked)))
        ));
        assert_eq!(service.parsed_tokens.size().0, 0);

        // A named token: revoked while remembered, then restored.
        let named = service
            .create_named_token(&alice, "remembered", Vec::new())
            .unwrap();
        assert!(as_token(&service, &named.token).is_ok());
        assert_eq!(service.parsed_tokens.size().0, 1);
        let update = |revoked| {
            let update = service
                .authorize_named_token_update(&alice, &named.id)
                .unwrap();
            service.set_named_token_revoked(update, revoked).unwrap();
        };
        update(true);
        assert!(matches!(
            as_token(&service, &named.token),
            Err(Error::Unauthenticated(Some(TokenError::Revoked)))
        ));
        update(false);
        assert!(as_token(&service, &named.token).is_ok());
        assert!(as_token(&service, &named.token).is_ok());
        assert_eq!(service.parsed_tokens.size().0, 1);

        // Its root key retired: every remembered token and secret is forgotten at once.
        let token = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        assert!(as_token(&service, &token).is_ok() && as_token(&service, &token).is_ok());
        assert_eq!(service.parsed_tokens.size().0, 2);
        let entry = service.parsed_tokens.get(&token).unwrap();
        let old = crate::store::ensure_root_key(service.store(), service.now()).unwrap();
        service
            .store()
            .insert_root_key(&[9; 32], service.now())
            .unwrap();
        assert_eq!(
            service
                .store()
                .retire_root_key(old.id, service.now())
                .unwrap(),
            crate::store::Retirement::Retired
        );
        assert_eq!(service.parsed_tokens.size(), (0, 0));
        assert_eq!(service.parsed_tokens.materials(), 0);
        // Had it been remembered anyway (a verification racing the retirement), the lookup of
        // its root key still refuses it, and it is forgotten.
        service.parsed_tokens.remember(
            &token,
            service.parsed_tokens.clearings(),
            super::super::memo::Verified {
                token: entry.token.clone(),
                caveats: Arc::clone(&entry.caveats),
                key: Arc::clone(&entry.secret.key),
                root_id: old.id,
                root_material: &old.material,
            },
        );
        assert_eq!(service.parsed_tokens.size().0, 1);
        assert!(matches!(
            as_token(&service, &token),
            Err(Error::Unauthenticated(Some(TokenError::Invalid)))
        ));
        assert_eq!(service.parsed_tokens.size().0, 0);
    }

    /// A root key retired by another process reaches this instance through the feed, which
    /// empties the parsed tokens.
    #[test]
    fn a_retirement_through_the_feed_forgets_the_parsed_tokens() {
        let (service, alice, expiry) = alice_with_expiry();
        let token = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        assert!(as_token(&service, &token).is_ok());
        assert_eq!(service.parsed_tokens.size().0, 1);
        let other = service.second_store();
        let old = crate::store::ensure_root_key(&*other, service.now()).unwrap();
        other.insert_root_key(&[9; 32], service.now()).unwrap();
        assert_eq!(
            other.retire_root_key(old.id, service.now()).unwrap(),
            crate::store::Retirement::Retired
        );
        let started = std::time::Instant::now();
        while service.parsed_tokens.size().0 != 0 {
            assert!(started.elapsed().as_secs() < 10, "the feed never came");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(matches!(
            as_token(&service, &token),
            Err(Error::Unauthenticated(Some(TokenError::Invalid)))
        ));
    }

    /// Without the cache, no token is kept parsed.
    #[test]
    fn no_parsed_tokens_without_the_cache() {
        let service = super::super::testing::service_with(CacheSettings::disabled());
        let alice = user(&service, "alice", &[]);
        let expiry = format!("time < {}", service.now() + 600);
        let token = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        assert!(as_token(&service, &token).is_ok() && as_token(&service, &token).is_ok());
        assert_eq!(service.parsed_tokens.size().0, 0);
        assert_eq!(service.cache_trusted(), None);
    }

    #[test]
    fn a_token_minted_with_a_token_inherits_its_caveats() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let now = service.now();
        let expiry = format!("time < {}", now + 600);
        let parent = service
            .create_temporary_token(&alice, caveats(&[&expiry, "ip = 127.0.0.1"]))
            .unwrap();
        let caller = as_token(&service, &parent).unwrap();
        let child = service
            .create_named_token(&caller, "child", Vec::new())
            .unwrap();
        let record = service.named_token(&alice, &child.id).unwrap();
        assert_eq!(record.caveats, [expiry.as_str(), "ip = 127.0.0.1"]);
        assert_eq!(record.parent.as_deref(), Some("temporary:1:1"));
        // The child authenticates, with the inherited caveats, until the parent's expiry.
        let child_caller = as_token(&service, &child.token).unwrap();
        assert_eq!(child_caller.token.as_ref().unwrap().depth, 2);
        service
            .clock
            .fetch_add(600, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            as_token(&service, &child.token),
            Err(Error::Unauthenticated(Some(
                TokenError::CaveatUnverified { .. }
            )))
        ));
    }

    #[test]
    fn revoking_the_parent_revokes_what_it_minted() {
        let (service, alice, expiry) = alice_with_expiry();
        // Temporary parent: bumping the generation kills its named child.
        let parent = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        let caller = as_token(&service, &parent).unwrap();
        let child = service
            .create_named_token(&caller, "child", Vec::new())
            .unwrap();
        service
            .revoke_temporary_tokens(&alice, &alice.user.id)
            .unwrap();
        assert!(matches!(
            as_token(&service, &child.token),
            Err(Error::Unauthenticated(Some(TokenError::Revoked)))
        ));
        // Named parent: revoking it kills its named and temporary children and grandchildren.
        let named = service
            .create_named_token(&alice, "parent", Vec::new())
            .unwrap();
        let caller = as_token(&service, &named.token).unwrap();
        let child = service
            .create_named_token(&caller, "child2", Vec::new())
            .unwrap();
        let child_caller = as_token(&service, &child.token).unwrap();
        let grandchild = service
            .create_temporary_token(&child_caller, caveats(&[&expiry]))
            .unwrap();
        assert!(as_token(&service, &grandchild).is_ok());
        let update = service
            .authorize_named_token_update(&alice, &named.id)
            .unwrap();
        service.set_named_token_revoked(update, true).unwrap();
        for token in [&named.token, &child.token, &grandchild] {
            assert!(
                matches!(
                    as_token(&service, token),
                    Err(Error::Unauthenticated(Some(TokenError::Revoked)))
                ),
                "{token}"
            );
        }
    }

    fn revoked(service: &Service, token: &str) -> bool {
        matches!(
            as_token(service, token),
            Err(Error::Unauthenticated(Some(
                TokenError::Revoked | TokenError::Invalid
            )))
        )
    }

    /// Review finding: a named token's revocation reached its temporary child but not what
    /// that child minted.
    #[test]
    fn revocation_reaches_through_temporary_tokens() {
        let (service, alice, expiry) = alice_with_expiry();
        let named = service
            .create_named_token(&alice, "root", Vec::new())
            .unwrap();
        let by_named = as_token(&service, &named.token).unwrap();
        let t1 = service
            .create_temporary_token(&by_named, caveats(&[&expiry]))
            .unwrap();
        let by_t1 = as_token(&service, &t1).unwrap();
        let t2 = service.create_temporary_token(&by_t1, Vec::new()).unwrap();
        let n2 = service
            .create_named_token(&by_t1, "grandchild", Vec::new())
            .unwrap();
        let by_n2 = as_token(&service, &n2.token).unwrap();
        let t3 = service.create_temporary_token(&by_n2, Vec::new()).unwrap();
        for token in [&t1, &t2, &n2.token, &t3] {
            assert!(as_token(&service, token).is_ok());
        }
        let update = service
            .authorize_named_token_update(&alice, &named.id)
            .unwrap();
        service.set_named_token_revoked(update, true).unwrap();
        for token in [&named.token, &t1, &t2, &n2.token, &t3] {
            assert!(revoked(&service, token), "{token}");
        }
    }

    /// Review finding: retiring the root key of a temporary parent must end its children.
    #[test]
    fn retiring_a_parents_key_ends_its_children() {
        let (service, alice, expiry) = alice_with_expiry();
        let t1 = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        let old_key = crate::store::current_root_key(service.store())
            .unwrap()
            .unwrap();
        service
            .store()
            .insert_root_key(&[7u8; 32], service.now())
            .unwrap();
        let by_t1 = as_token(&service, &t1).unwrap();
        let t2 = service.create_temporary_token(&by_t1, Vec::new()).unwrap();
        let n2 = service
            .create_named_token(&by_t1, "child", Vec::new())
            .unwrap();
        assert!(as_token(&service, &t2).is_ok() && as_token(&service, &n2.token).is_ok());
        assert_eq!(
            service
                .store()
                .retire_root_key(old_key.id, service.now())
                .unwrap(),
            crate::store::Retirement::Retired
        );
        for token in [&t1, &t2, &n2.token] {
            assert!(revoked(&service, token), "{token}");
        }
    }

    /// Review finding: alternating named and temporary tokens must not reset the depth.
    #[test]
    fn alternating_kinds_do_not_reset_the_depth() {
        let (service, alice, expiry) = alice_with_expiry();
        let mut caller = alice.clone();
        let mut refused = false;
        for level in 0..2 * MAX_LINEAGE {
            let minted = if level % 2 == 0 {
                service
                    .create_named_token(&caller, &format!("level {level}"), Vec::new())
                    .map(|t| t.token)
            } else {
                service.create_temporary_token(&caller, caveats(&[&expiry]))
            };
            match minted {
                Ok(token) => caller = as_token(&service, &token).unwrap(),
                Err(Error::Forbidden(Some(_))) => {
                    refused = true;
                    break;
                }
                Err(e) => panic!("level {level}: {e}"),
            }
        }
        assert!(refused, "the lineage grew without bound");
        assert!(caller.token.unwrap().depth <= MAX_LINEAGE);
    }

    /// Review finding: a temporary token whose generation was bumped after it authenticated
    /// must not mint under the new generation.
    #[test]
    fn a_revoked_generation_mints_nothing() {
        let (service, alice, expiry) = alice_with_expiry();
        let t1 = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        let by_t1 = as_token(&service, &t1).unwrap();
        service
            .revoke_temporary_tokens(&alice, &alice.user.id)
            .unwrap();
        assert!(matches!(
            service.create_temporary_token(&by_t1, Vec::new()),
            Err(Error::Unauthenticated(Some(TokenError::Revoked)))
        ));
    }

    /// Review finding: a thief's un-revocation read before the owner's revocation must not
    /// undo it.
    #[test]
    fn a_stale_unrevocation_does_not_undo_a_revocation() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let named = service
            .create_named_token(&alice, "stolen", Vec::new())
            .unwrap();
        let thief = as_token(&service, &named.token).unwrap();
        let stale = service
            .authorize_named_token_update(&thief, &named.id)
            .unwrap();
        let owner = service
            .authorize_named_token_update(&alice, &named.id)
            .unwrap();
        service.set_named_token_revoked(owner, true).unwrap();
        service.set_named_token_revoked(stale, false).unwrap();
        assert!(revoked(&service, &named.token));
    }

    /// Review finding: `verify_invite_token` must not tell a forgery that it is revoked.
    #[test]
    fn forged_invites_never_hear_revoked() {
        let service = service();
        let alice = user(&service, "alice", &[OzPrivilege::ProvidersInvite]);
        service
            .revoke_temporary_tokens(&alice, &alice.user.id)
            .unwrap(); // generation 2
        let genuine = service
            .provider_registration_token(&alice, &alice.user.id)
            .unwrap();
        let genuine_id = macaroon_mint::onedata::OnedataToken::parse(&genuine)
            .unwrap()
            .token_id()
            .to_owned();
        let update = service
            .authorize_named_token_update(&alice, &genuine_id)
            .unwrap();
        service.set_named_token_revoked(update, true).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let forge = |persistence, token_id: &str| {
            let identifier = OnedataIdentifier::new(
                persistence,
                Subject::User(alice.user.id.clone()),
                TokenType::invite(InviteType::RegisterOneprovider, alice.user.id.clone()),
                token_id,
            )
            .unwrap();
            Macaroon::mint(
                &RootKey::new("f".repeat(64)),
                "onezone.test",
                identifier.to_string(),
            )
            .unwrap()
            .serialize(Format::Onedata)
            .unwrap()
        };
        let mut forged: Vec<String> = (1..=3)
            .map(|generation| forge(Persistence::Temporary { generation }, "k1-aa"))
            .collect();
        forged.push(forge(Persistence::Named, &genuine_id));
        for token in &forged {
            assert!(matches!(
                service.verify_invite_token(token, None, Some(ip)),
                Err(Error::Token(TokenError::Invalid))
            ));
            assert!(matches!(
                service.verify_invite_token(token, Some(InviteType::SupportSpace), Some(ip)),
                Err(Error::Token(TokenError::NotAnInviteToken { expected, .. })) if expected == "supportSpace"
            ));
        }
        // The genuine revoked invite is told so.
        assert!(matches!(
            service.verify_invite_token(&genuine, None, Some(ip)),
            Err(Error::Token(TokenError::Revoked))
        ));
    }

    #[test]
    fn an_api_restricted_token_cannot_mint_a_broader_one() {
        let (service, alice, expiry) = alice_with_expiry();
        let parent = service
            .create_temporary_token(&alice, caveats(&[&expiry, "api = ozw/create/token.*.*"]))
            .unwrap();
        let caller = as_token(&service, &parent).unwrap();
        let child = service
            .create_named_token(&caller, "child", Vec::new())
            .unwrap();
        let create_space = request(Operation::Create, "space", "instance");
        assert!(matches!(
            service.authenticate_token(&child.token, &create_space),
            Err(Error::Unauthenticated(Some(TokenError::CaveatUnverified { caveat })))
                if caveat == "api = ozw/create/token.*.*"
        ));
    }

    #[test]
    fn invites_refuse_caveats_they_cannot_carry() {
        let service = service();
        let admin = user(&service, "admin", &[OzPrivilege::ProvidersInvite]);
        let expiry = format!("time < {}", service.now() + 600);
        let restricted = service
            .create_temporary_token(&admin, caveats(&[&expiry, "interface = rest"]))
            .unwrap();
        let caller = as_token(&service, &restricted).unwrap();
        let e = service
            .provider_registration_token(&caller, &admin.user.id)
            .unwrap_err();
        assert!(
            matches!(&e, Error::Forbidden(Some(hint)) if hint.contains("interface")),
            "{e}"
        );
        // With invite-compatible caveats the invite carries them.
        let plain = service
            .create_temporary_token(&admin, caveats(&[&expiry, "ip = 127.0.0.1"]))
            .unwrap();
        let caller = as_token(&service, &plain).unwrap();
        let invite = service
            .provider_registration_token(&caller, &admin.user.id)
            .unwrap();
        let parsed = macaroon_mint::onedata::OnedataToken::parse(&invite).unwrap();
        let texts: Vec<String> = parsed
            .macaroon()
            .caveats()
            .iter()
            .map(|c| String::from_utf8_lossy(c.id()).into_owned())
            .collect();
        assert_eq!(texts, [expiry.as_str(), "ip = 127.0.0.1"]);
        let claims = service
            .verify_invite_token(&invite, None, Some("127.0.0.1".parse().unwrap()))
            .unwrap();
        assert_eq!(claims.expiry, Some(service.now() + 600));
        assert!(matches!(
            service.verify_invite_token(&invite, None, Some("10.0.0.1".parse().unwrap())),
            Err(Error::Token(TokenError::CaveatUnverified { .. }))
        ));
    }

    #[test]
    fn lineage_depth_is_bounded() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let mut caller = alice.clone();
        for depth in 0..MAX_LINEAGE {
            let token = service
                .create_named_token(&caller, &format!("t{depth}"), Vec::new())
                .unwrap();
            caller = as_token(&service, &token.token).unwrap();
            assert_eq!(caller.token.as_ref().unwrap().depth, depth + 1);
        }
        assert!(matches!(
            service.create_named_token(&caller, "too-deep", Vec::new()),
            Err(Error::Forbidden(Some(_)))
        ));
    }

    #[test]
    fn a_password_caller_mints_exactly_what_it_asks_for() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let token = service
            .create_named_token(&alice, "plain", Vec::new())
            .unwrap();
        let record = service.named_token(&alice, &token.id).unwrap();
        assert!(record.caveats.is_empty() && record.parent.is_none());
        let caller = as_token(&service, &token.token).unwrap();
        assert_eq!(
            caller.token,
            Some(AuthToken {
                caveats: Vec::new().into(),
                parent: Parent::Named(token.id.clone()),
                depth: 1
            })
        );
    }

    #[test]
    fn quotas_are_enforced() {
        let mut service = service();
        service.service.settings.quotas.named_tokens_per_user = Some(2);
        let alice = user(&service, "alice", &[]);
        service
            .create_named_token(&alice, "a1", Vec::new())
            .unwrap();
        service
            .create_named_token(&alice, "a2", Vec::new())
            .unwrap();
        assert!(matches!(
            service.create_named_token(&alice, "a3", Vec::new()),
            Err(Error::Forbidden(Some(hint))) if hint.contains("quota")
        ));
        assert!(matches!(
            service.create_named_token(&alice, "a1", Vec::new()),
            Err(Error::NameOccupied) | Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn a_forged_temporary_token_is_invalid_whatever_its_generation() {
        let (service, alice, expiry) = alice_with_expiry();
        let genuine = service
            .create_temporary_token(&alice, caveats(&[&expiry]))
            .unwrap();
        service
            .revoke_temporary_tokens(&alice, &alice.user.id)
            .unwrap();
        // The genuine old-generation token is revoked...
        assert!(matches!(
            as_token(&service, &genuine),
            Err(Error::Unauthenticated(Some(TokenError::Revoked)))
        ));
        // ...a forgery (same identifier, wrong key) is invalid, for the old and the current
        // generation alike: the answer does not reveal the generation.
        let parsed = macaroon_mint::onedata::OnedataToken::parse(&genuine).unwrap();
        let ParsedIdentifier::V2(id) = parsed.identifier() else {
            panic!()
        };
        for generation in [1, 2, 3] {
            let forged_id = OnedataIdentifier::new(
                Persistence::Temporary { generation },
                id.subject().clone(),
                id.token_type().clone(),
                id.id(),
            )
            .unwrap();
            let wrong = RootKey::new("f".repeat(64));
            let forged = Macaroon::mint(&wrong, "onezone.test", forged_id.to_string())
                .unwrap()
                .with_first_party(expiry.as_bytes())
                .unwrap()
                .serialize(Format::Onedata)
                .unwrap();
            assert!(
                matches!(
                    as_token(&service, &forged),
                    Err(Error::Unauthenticated(Some(TokenError::Invalid)))
                ),
                "generation {generation}"
            );
        }
    }
}
