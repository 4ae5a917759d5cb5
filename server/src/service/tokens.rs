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

use std::net::IpAddr;

use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, InviteOptions, InvitePolicy, InviteType,
    MintedToken, OnedataError, OnedataIdentifier, ParsedIdentifier, Persistence, Subject,
    TokenType, INVITE_CAVEATS,
};
use macaroon_mint::{AuthContext, Format, Macaroon, RootKey, TypedCaveat};

use super::auth::{onedata_error, parse_token};
use super::privileges::{invite_type_name, OzPrivilege, SpacePrivilege};
use super::{
    check_name, keys, Caller, Error, Invalid, RegistrationPolicy, Result, Service, TokenError,
};
use crate::store::{ensure_root_key, random_hex, NamedToken, StoreError};

/// The longest lineage of tokens minted with tokens (a password login is depth 0).
pub const MAX_LINEAGE: usize = 8;

/// The most caveats a minted token may carry, its own and inherited ones together.
pub const MAX_TOKEN_CAVEATS: usize = 128;

/// The token a token was minted with, as its record (or id) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    /// A named access token, by id.
    Named(String),
    /// The subject's temporary tokens of this generation.
    Temporary {
        /// The generation.
        generation: u64,
    },
}

impl Parent {
    /// The stored form: `named:<id>` or `temporary:<generation>`.
    ///
    /// ```
    /// use macaroon_mint_server::service::tokens::Parent;
    /// let parent = Parent::Temporary { generation: 4 };
    /// assert_eq!(parent.encode(), "temporary:4");
    /// assert_eq!(Parent::decode("temporary:4").unwrap(), parent);
    /// assert_eq!(Parent::decode("named:ab").unwrap(), Parent::Named("ab".into()));
    /// assert!(Parent::decode("other").is_err());
    /// ```
    pub fn encode(&self) -> String {
        match self {
            Parent::Named(id) => format!("named:{id}"),
            Parent::Temporary { generation } => format!("temporary:{generation}"),
        }
    }

    /// Reads the stored form.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for a corrupt record.
    pub fn decode(text: &str) -> Result<Parent> {
        let corrupt = || Error::Internal(format!("corrupt parent reference {text:?}"));
        match text.split_once(':') {
            Some(("named", id)) if !id.is_empty() => Ok(Parent::Named(id.to_owned())),
            Some(("temporary", generation)) => generation
                .parse()
                .map(|generation| Parent::Temporary { generation })
                .map_err(|_| corrupt()),
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

/// Proof that a caller may change a named token's revoked flag.
#[derive(Debug)]
pub struct NamedTokenUpdate {
    record: NamedToken,
    manager: bool,
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
        caller: &Caller,
        requested: Vec<TypedCaveat>,
    ) -> Result<Vec<TypedCaveat>> {
        let Some(token) = &caller.token else {
            return Ok(requested);
        };
        if token.depth >= MAX_LINEAGE {
            return Err(Error::forbidden_because(format!(
                "tokens minted with tokens may be at most {MAX_LINEAGE} deep; log in with a password"
            )));
        }
        let mut caveats = requested;
        for caveat in &token.caveats {
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

    /// `POST /user/tokens/temporary`: a temporary access token of the caller, with `caveats`
    /// (and the inherited ones), which must include `time < N` at most the temporary maximum
    /// TTL ahead.
    ///
    /// # Errors
    ///
    /// [`TokenError::TimeCaveatRequired`] (400) without such an expiry.
    pub fn create_temporary_token(
        &self,
        caller: &Caller,
        caveats: Vec<TypedCaveat>,
    ) -> Result<String> {
        let Some(generation) = self.store.temporary_generation(&caller.user.id)? else {
            return Err(Error::NotFound);
        };
        let caveats = self.inherited_caveats(caller, caveats)?;
        let now = self.now();
        let max_ttl = self.settings.temporary_max_ttl;
        match TypedCaveat::earliest_expiry(&caveats) {
            Some(n) if n <= now.saturating_add(max_ttl) => {}
            _ => return Err(Error::Token(TokenError::TimeCaveatRequired { max_ttl })),
        }
        let root = ensure_root_key(&*self.store, now)?;
        let secret = keys::temporary_secret(&root, &caller.user.id, generation.generation)?;
        let parent = match caller.token.as_ref().map(|t| &t.parent) {
            Some(Parent::Named(id)) => Some(id.as_str()),
            // A temporary parent is the same generation: bumping it revokes both.
            Some(Parent::Temporary { .. }) | None => None,
        };
        let token_id = keys::temporary_token_id(root.id, &random_hex(16)?, parent);
        let persistence = Persistence::Temporary {
            generation: generation.generation,
        };
        self.mint_access(caller, persistence, &token_id, &secret, &caveats)
    }

    /// `POST /user/tokens/named`: a named access token of the caller.
    ///
    /// # Errors
    ///
    /// [`Invalid::Name`] for a bad name, [`Error::AlreadyExists`] when the caller has a token
    /// of that name, 403 when the named-token quota is exhausted.
    pub fn create_named_token(
        &self,
        caller: &Caller,
        name: &str,
        caveats: Vec<TypedCaveat>,
    ) -> Result<NewNamedToken> {
        check_name("name", name)?;
        let caveats = self.inherited_caveats(caller, caveats)?;
        let root = ensure_root_key(&*self.store, self.now())?;
        let token_id = random_hex(16)?;
        let secret = keys::named_token_secret(&root, &token_id)?;
        let token = self.mint_access(caller, Persistence::Named, &token_id, &secret, &caveats)?;
        let record = NamedToken {
            id: token_id.clone(),
            name: name.to_owned(),
            kind: "act".to_owned(),
            subject: caller.user.id.clone(),
            target: String::new(),
            key_id: root.id,
            revoked: false,
            created: self.now(),
            caveats: caveats.iter().map(ToString::to_string).collect(),
            parent: caller.token.as_ref().map(|t| t.parent.encode()),
        };
        self.insert_named(&record)?;
        Ok(NewNamedToken {
            id: token_id,
            token,
        })
    }

    fn insert_named(&self, record: &NamedToken) -> Result<()> {
        let quota = self.settings.quotas.named_tokens_per_user;
        match self.store.insert_named_token(record, quota) {
            Ok(()) => Ok(()),
            Err(StoreError::TokenNameTaken) => Err(Error::AlreadyExists),
            Err(StoreError::QuotaExceeded) => Err(Error::forbidden_because(format!(
                "the quota of {} named tokens per user is exhausted; revoke and delete unused ones",
                quota.unwrap_or_default()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /user/tokens/named`: the caller's named tokens (access and invite), oldest first.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn named_tokens_of_caller(&self, caller: &Caller) -> Result<Vec<NamedToken>> {
        Ok(self.store.named_tokens_of(&caller.user.id)?)
    }

    /// `GET /user/tokens/named/name/{name}`: the caller's named token of that name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none.
    pub fn named_token_of_caller_by_name(&self, caller: &Caller, name: &str) -> Result<NamedToken> {
        self.store
            .named_tokens_of(&caller.user.id)?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or(Error::NotFound)
    }

    /// `GET /tokens/named/{id}`: a named token's record; its subject or a token manager.
    ///
    /// # Errors
    ///
    /// 404 for an unknown token, 403 for anyone else.
    pub fn named_token(&self, caller: &Caller, id: &str) -> Result<NamedToken> {
        let record = self.store.named_token(id)?.ok_or(Error::NotFound)?;
        if record.subject != caller.user.id && !caller.has(OzPrivilege::TokensManage) {
            return Err(Error::forbidden());
        }
        Ok(record)
    }

    /// The first step of `PATCH /tokens/named/{id}`: the token exists (404) and the caller is
    /// its subject or a token manager (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_named_token_update(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<NamedTokenUpdate> {
        let record = self.named_token(caller, id)?;
        Ok(NamedTokenUpdate {
            record,
            manager: caller.has(OzPrivilege::TokensManage),
        })
    }

    /// Sets the revoked flag. Only a token manager may un-revoke: revocation is for stolen
    /// tokens, and whoever stole the owner's password or another of their tokens must not
    /// undo it.
    ///
    /// # Errors
    ///
    /// 403 for an un-revocation by a non-manager.
    pub fn set_named_token_revoked(&self, update: NamedTokenUpdate, revoked: bool) -> Result<()> {
        if !revoked && update.record.revoked && !update.manager {
            return Err(Error::forbidden_because(
                "only a holder of oz_tokens_manage may un-revoke a token",
            ));
        }
        if !self
            .store
            .set_named_token_revoked(&update.record.id, revoked)?
        {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// `DELETE /user/tokens/temporary` and `DELETE /users/{id}/tokens/temporary`: revokes all
    /// of user `user_id`'s temporary tokens (the user themself, or a token manager).
    ///
    /// # Errors
    ///
    /// 404 for an unknown user, 403 for anyone else.
    pub fn revoke_temporary_tokens(&self, caller: &Caller, user_id: &str) -> Result<()> {
        if self.store.user_by_id(user_id)?.is_none() {
            return Err(Error::NotFound);
        }
        if caller.user.id != user_id && !caller.has(OzPrivilege::TokensManage) {
            return Err(Error::forbidden());
        }
        let key = ensure_root_key(&*self.store, self.now())?;
        match self.store.bump_temporary_generation(user_id, key.id)? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound),
        }
    }

    /// `POST /users/{id}/clusters/provider_registration_token`: a named `rop` invite whose
    /// future cluster admin is `user_id`. With the open policy any user may ask for themself;
    /// otherwise `oz_providers_invite` is needed.
    ///
    /// # Errors
    ///
    /// 404, 403 as said; 403 when the caller's token has caveats an invite cannot carry.
    pub fn provider_registration_token(&self, caller: &Caller, user_id: &str) -> Result<String> {
        if self.store.user_by_id(user_id)?.is_none() {
            return Err(Error::NotFound);
        }
        let for_self = self.settings.registration_policy == RegistrationPolicy::Open
            && caller.user.id == user_id;
        if !for_self && !caller.has(OzPrivilege::ProvidersInvite) {
            return Err(Error::forbidden());
        }
        let label = "Provider registration token";
        self.mint_named_invite(caller, user_id, label, |key, domain, options| {
            provider_registration_token(key, domain, &caller.user.id, user_id, options)
        })
    }

    /// `POST /spaces/{id}/providers/token`: a named `ssp` invite for the space;
    /// `space_add_support` in it, or `oz_spaces_add_relationships`.
    ///
    /// # Errors
    ///
    /// 404, 403 as said; 403 when the caller's token has caveats an invite cannot carry.
    pub fn space_support_token(&self, caller: &Caller, space_id: &str) -> Result<String> {
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
        let label = "Space support token";
        self.mint_named_invite(caller, space_id, label, |key, domain, options| {
            let issuer = Subject::User(caller.user.id.clone());
            space_support_token(key, domain, issuer, space_id, options)
        })
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
        let caveats = self.inherited_caveats(caller, Vec::new())?;
        if let Some(other) = caveats.iter().find(|c| !INVITE_CAVEATS.contains(&c.form())) {
            return Err(Error::forbidden_because(format!(
                "the authenticating token has a {} caveat, which an invite token cannot carry \
                 (it would be broader than the token); use a token without {} caveats or a password",
                other.form(),
                other.form()
            )));
        }
        let root = ensure_root_key(&*self.store, self.now())?;
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
            target: target.to_owned(),
            key_id: root.id,
            revoked: false,
            created: self.now(),
            caveats: caveats.iter().map(ToString::to_string).collect(),
            parent: caller.token.as_ref().map(|t| t.parent.encode()),
        })?;
        Ok(minted.token)
    }

    /// Mints an access token (`act`) for the caller.
    fn mint_access(
        &self,
        caller: &Caller,
        persistence: Persistence,
        token_id: &str,
        key: &RootKey,
        caveats: &[TypedCaveat],
    ) -> Result<String> {
        let fail = |e: &dyn std::fmt::Display| Error::internal("minting an access token", e);
        let identifier = OnedataIdentifier::new(
            persistence,
            Subject::User(caller.user.id.clone()),
            TokenType::Access { session: None },
            token_id,
        )
        .map_err(|e| fail(&e))?;
        let mut macaroon = Macaroon::mint(key, &self.settings.domain, identifier.to_string())
            .map_err(|e| fail(&e))?;
        for caveat in caveats {
            macaroon = macaroon
                .with_first_party(caveat.to_bytes())
                .map_err(|e| fail(&e))?;
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
        peer_ip: IpAddr,
    ) -> Result<InviteClaims> {
        let token = parse_token(text)?;
        let not_invite = |expected: &str| {
            Error::Token(TokenError::NotAnInviteToken {
                expected: expected.to_owned(),
            })
        };
        let expected = match (expected, token.identifier()) {
            (Some(expected), _) => expected,
            (None, ParsedIdentifier::V2(id)) => match id.token_type() {
                TokenType::Invite { invite, .. } => invite.clone(),
                _ => return Err(not_invite("")),
            },
            (None, _) => return Err(not_invite("")),
        };
        let expected_name = invite_type_name(&expected);
        if let ParsedIdentifier::V2(id) = token.identifier() {
            if !matches!(id.token_type(), TokenType::Invite { .. }) {
                return Err(not_invite(&expected_name));
            }
        }
        let (secret, claimed_generation, revoked) = self.invite_secret(&token)?;
        let policy = InvitePolicy {
            current_generation: claimed_generation,
            temporary_max_ttl: self.settings.temporary_max_ttl,
            ..InvitePolicy::default()
        };
        let context = AuthContext::new(self.now()).with_ip(peer_ip);
        let verified = token.verify_invite(&secret, expected, &context, &policy);
        let refusal = |e: &OnedataError| match e {
            OnedataError::WrongInviteType { .. }
            | OnedataError::WrongTokenType { .. }
            | OnedataError::LegacyToken { .. }
            | OnedataError::UnknownInviteType { .. } => TokenError::NotAnInviteToken {
                expected: expected_name.clone(),
            },
            other => onedata_error(other).unwrap_or(TokenError::Invalid),
        };
        // The revocation is told only to who holds a genuine token.
        match verified.map_err(|e| refusal(&e)) {
            Err(TokenError::Invalid) => Err(Error::Token(TokenError::Invalid)),
            _ if revoked => Err(Error::Token(TokenError::Revoked)),
            Err(e) => Err(Error::Token(e)),
            Ok(claims) => Ok(claims),
        }
    }
}

impl Caller {
    /// Whether the caller holds this admin privilege.
    pub fn has(&self, privilege: OzPrivilege) -> bool {
        privilege.held_in(&self.user.oz_privileges)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{service, user};
    use super::super::{AuthToken, Request};
    use super::*;
    use macaroon_mint::caveat::Operation;

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

    /// Authenticates `token` as the request `POST /user/tokens/named` would.
    fn as_token(service: &Service, token: &str) -> Result<Caller> {
        service.authenticate_token(token, &request(Operation::Create, "token", "instance"))
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
        assert_eq!(record.parent.as_deref(), Some("temporary:1"));
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
        let service = service();
        let alice = user(&service, "alice", &[]);
        let expiry = format!("time < {}", service.now() + 600);
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

    #[test]
    fn an_api_restricted_token_cannot_mint_a_broader_one() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let expiry = format!("time < {}", service.now() + 600);
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
            .verify_invite_token(&invite, None, "127.0.0.1".parse().unwrap())
            .unwrap();
        assert_eq!(claims.expiry, Some(service.now() + 600));
        assert!(matches!(
            service.verify_invite_token(&invite, None, "10.0.0.1".parse().unwrap()),
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
                caveats: Vec::new(),
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
            Err(Error::AlreadyExists) | Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn a_forged_temporary_token_is_invalid_whatever_its_generation() {
        let service = service();
        let alice = user(&service, "alice", &[]);
        let expiry = format!("time < {}", service.now() + 600);
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
