//! Oneproviders: registration with a provider registration token (which it consumes), the
//! provider's own view and settings, space support with a space support token (consumed too),
//! and who may see which provider.
//!
//! A provider authenticates with its root token, a named access token whose subject is the
//! provider, minted at registration; it mints and revokes its own tokens like a user does.

use std::net::IpAddr;

use macaroon_mint::onedata::{InviteType, OnedataIdentifier, Persistence, Subject, TokenType};
use macaroon_mint::{Format, Macaroon, TypedCaveat};

use super::auth::Bearer;
use super::privileges::{OzPrivilege, SpacePrivilege};
use super::tokens::TokenOwner;
use super::{keys, Caller, Error, Principal, ProviderCaller, Result, Service, TokenError};
use crate::store::{
    random_hex, NamedToken, Provider, ProviderChange, Space, StoreError, SubjectKind,
};

/// `POST /providers`: Onezone's `ProviderRegistrationRequest`, checked (subdomain delegation is
/// not offered: this service runs no DNS). `Debug` redacts the token.
#[derive(Clone, PartialEq)]
pub struct ProviderRegistration {
    /// The provider registration token.
    pub token: String,
    /// The provider's name.
    pub name: String,
    /// Its admin's e-mail address.
    pub admin_email: String,
    /// Its domain or IP address.
    pub domain: String,
    /// Its latitude (0 when not given).
    pub latitude: f64,
    /// Its longitude (0 when not given).
    pub longitude: f64,
}

impl std::fmt::Debug for ProviderRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRegistration")
            .field("token", &"<redacted>")
            .field("name", &self.name)
            .field("admin_email", &self.admin_email)
            .field("domain", &self.domain)
            .field("latitude", &self.latitude)
            .field("longitude", &self.longitude)
            .finish()
    }
}

/// A registered provider: Onezone's `ProviderRegistrationResponse`.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredProvider {
    /// The new provider's id.
    pub provider_id: String,
    /// Its root token (a bearer credential: the provider's full authority).
    pub root_token: String,
    /// The user linked to its cluster as admin.
    pub admin_user_id: String,
}

impl std::fmt::Debug for RegisteredProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredProvider")
            .field("provider_id", &self.provider_id)
            .field("root_token", &"<redacted>")
            .field("admin_user_id", &self.admin_user_id)
            .finish()
    }
}

/// What an access token gives access to (Onezone's `InferAccessTokenScopeResponse`).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessScope {
    /// The token's expiry, if it has one.
    pub valid_until: Option<u64>,
    /// The data it reaches; `None` for a provider's token (as Onezone answers).
    pub data: Option<DataScope>,
}

/// The spaces a token reaches and where their data lives.
#[derive(Debug, Clone, PartialEq)]
pub struct DataScope {
    /// Whether the token allows reading only (a `data.readonly` caveat).
    pub readonly: bool,
    /// Each space the token reaches, with the providers supporting it.
    pub spaces: Vec<(Space, Vec<Provider>)>,
}

/// The answer for an invite that could not be consumed after it verified: it was used up,
/// revoked or deleted meanwhile (or what it invites to is gone).
fn consumption_error(e: StoreError) -> Error {
    match e {
        StoreError::InviteUsedUp => Error::UsageLimitReached,
        StoreError::InviteRevoked => Error::Token(TokenError::Revoked),
        StoreError::Missing => Error::Token(TokenError::Invalid),
        other => other.into(),
    }
}

/// The name of a provider's root token.
pub const ROOT_TOKEN_NAME: &str = "Provider root token";

impl Service {
    /// Verifies an invite token of type `expected` for consumption by a client at `peer_ip`:
    /// the token holds, its issuer may still issue it, and its target exists. Returns the
    /// target and the named token to count a use of (`None` for a temporary invite).
    fn invite_to_consume(
        &self,
        text: &str,
        expected: InviteType,
        peer_ip: IpAddr,
    ) -> Result<(String, Option<String>)> {
        let claims = self.verify_invite_token(text, Some(expected.clone()), Some(peer_ip))?;
        let issuer = match &claims.subject {
            Subject::User(id) => self.store.user_by_id(id)?.map(Principal::User),
            Subject::Provider(id) => self.store.provider(id)?.map(Principal::Provider),
            _ => None,
        }
        .ok_or(Error::InviteIssuerNotAuthorized)?;
        // Onezone checks the issuer's authority again at consumption: privileges may have
        // been taken away since the invite was minted.
        match self.authorize_invite(&issuer, &expected, &claims.target) {
            Ok(()) => {}
            Err(Error::Forbidden(_)) => return Err(Error::InviteIssuerNotAuthorized),
            Err(e) => return Err(e),
        }
        let named = matches!(claims.persistence, Persistence::Named).then_some(claims.token_id);
        Ok((claims.target, named))
    }

    /// `POST /providers`: registers a Oneprovider with a provider registration token (public,
    /// as in Onezone). The token's target user becomes the admin of the new provider's
    /// cluster; a named token's use is counted against its usage limit in the same transaction
    /// that stores the provider.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] for a token that does not verify as a `registerOneprovider` invite;
    /// [`Error::InviteIssuerNotAuthorized`]; [`Error::UsageLimitReached`].
    pub fn register_provider(
        &self,
        registration: ProviderRegistration,
        peer_ip: IpAddr,
    ) -> Result<RegisteredProvider> {
        super::check_name("name", &registration.name)?;
        let (admin, invite) = self.invite_to_consume(
            &registration.token,
            InviteType::RegisterOneprovider,
            peer_ip,
        )?;
        let now = self.now();
        let provider = Provider {
            id: random_hex(16)?,
            name: registration.name,
            domain: registration.domain,
            admin_email: registration.admin_email,
            latitude: registration.latitude,
            longitude: registration.longitude,
            admin: admin.clone(),
            created: now,
        };
        let root = self.current_key(now)?;
        let token_id = random_hex(16)?;
        let secret = keys::named_token_secret(&root, &token_id)?;
        let fail = |e: &dyn std::fmt::Display| Error::internal("minting a provider root token", e);
        let identifier = OnedataIdentifier::new(
            Persistence::Named,
            Subject::Provider(provider.id.clone()),
            TokenType::Access { session: None },
            &token_id,
        )
        .map_err(|e| fail(&e))?;
        let root_token = Macaroon::mint(&secret, &self.settings.domain, identifier.to_string())
            .and_then(|m| m.serialize(Format::Onedata))
            .map_err(|e| fail(&e))?;
        let record = NamedToken {
            id: token_id,
            name: ROOT_TOKEN_NAME.to_owned(),
            kind: "act".to_owned(),
            subject: provider.id.clone(),
            subject_type: SubjectKind::Provider,
            target: String::new(),
            key_id: root.id,
            revoked: false,
            created: now,
            caveats: Vec::new(),
            parent: None,
            custom_metadata: "{}".to_owned(),
            usage_limit: None,
            usage_count: 0,
            privileges: None,
        };
        let quota = self.settings.quotas.providers_per_user;
        match self
            .store
            .register_provider(&provider, invite.as_deref(), root.id, &record, quota)
        {
            Ok(()) => Ok(RegisteredProvider {
                provider_id: provider.id,
                root_token,
                admin_user_id: admin,
            }),
            Err(StoreError::QuotaExceeded) => Err(Error::forbidden_because(format!(
                "the quota of {} providers per cluster admin is exhausted; unregister unused ones",
                quota.unwrap_or_default()
            ))),
            Err(e) => Err(consumption_error(e)),
        }
    }

    /// `PATCH /provider`: the calling provider's name or location.
    ///
    /// # Errors
    ///
    /// [`Invalid::Name`](super::Invalid::Name) for a bad name; 404 when the provider is gone.
    pub fn update_provider(&self, caller: &ProviderCaller, change: &ProviderChange) -> Result<()> {
        if let Some(name) = &change.name {
            super::check_name("name", name)?;
        }
        if self.store.update_provider(&caller.provider.id, change)? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `DELETE /provider`, `DELETE /providers/{id}`: unregisters a provider, with its
    /// supports and tokens.
    ///
    /// # Errors
    ///
    /// 404 when it is gone.
    pub fn delete_provider(&self, provider_id: &str) -> Result<()> {
        if self.store.delete_provider(provider_id)? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The first step of `DELETE /providers/{id}`: the provider exists (404) and the caller
    /// holds `oz_providers_delete` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_provider_removal(&self, caller: &Caller, provider_id: &str) -> Result<()> {
        if self.store.provider(provider_id)?.is_none() {
            return Err(Error::NotFound);
        }
        if !caller.has(OzPrivilege::ProvidersDelete) {
            return Err(Error::forbidden());
        }
        Ok(())
    }

    /// `POST /tokens/infer_access_token_scope`: verifies an access token as its bearer at
    /// `peer_ip` would use it — `service`, `interface` and `api` caveats left aside, as Onezone
    /// does — and says which spaces it reaches: the subject's spaces, narrowed by `data.path`
    /// caveats (a space whose id no path of a caveat starts with is out). Object ids of
    /// `data.objectid` caveats are not decoded here, so a token with one reaches no space
    /// (the answer errs towards less).
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with Onezone's reason.
    pub fn infer_access_token_scope(&self, text: &str, bearer: &Bearer) -> Result<AccessScope> {
        let bearer = Bearer {
            allow_data_access_caveats: true,
            ignore_service_and_interface: true,
            ..bearer.clone()
        };
        let verified = self.verify_access_token_for(text, &bearer)?;
        let user = match verified.principal {
            Principal::User(user) => user,
            Principal::Provider(_) => {
                return Ok(AccessScope {
                    valid_until: verified.expiry,
                    data: None,
                })
            }
        };
        let readonly = verified
            .caveats
            .iter()
            .any(|c| matches!(c, TypedCaveat::DataReadonly));
        let reaches = |space: &Space| {
            verified.caveats.iter().all(|caveat| match caveat {
                TypedCaveat::DataPath(paths) => paths.iter().any(|path| {
                    path.as_str()
                        .strip_prefix('/')
                        .and_then(|rest| rest.split('/').next())
                        == Some(space.id.as_str())
                }),
                TypedCaveat::DataObjectId(_) => false,
                _ => true,
            })
        };
        let mut spaces = Vec::new();
        for space in self.store.spaces_of_user(&user.id)? {
            if !reaches(&space) {
                continue;
            }
            let mut providers = Vec::new();
            for (provider_id, _) in self.store.supporters_of(&space.id)? {
                if let Some(provider) = self.store.provider(&provider_id)? {
                    providers.push(provider);
                }
            }
            spaces.push((space, providers));
        }
        Ok(AccessScope {
            valid_until: verified.expiry,
            data: Some(DataScope { readonly, spaces }),
        })
    }

    /// The first step of the `/providers/{id}/tokens/…` routes: the provider exists (404) and
    /// the caller is its cluster's admin or holds `oz_tokens_manage` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_tokens_of_provider(
        &self,
        caller: &Caller,
        provider_id: &str,
    ) -> Result<TokenOwner> {
        let provider = self.store.provider(provider_id)?.ok_or(Error::NotFound)?;
        if provider.admin != caller.user.id && !caller.has(OzPrivilege::TokensManage) {
            return Err(Error::forbidden());
        }
        Ok(TokenOwner::of(Principal::Provider(provider)))
    }

    /// Whether the entity a path names exists (`user`, `space`, `token` — a named token —,
    /// `provider`): what Onezone looks up before it answers a request without credentials.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn entity_exists(&self, entity_type: &str, id: &str) -> Result<bool> {
        Ok(match entity_type {
            "user" => self.store.user_by_id(id)?.is_some(),
            "space" => self.store.space_by_id(id)?.is_some(),
            "token" => self.store.named_token(id)?.is_some(),
            "provider" => self.store.provider(id)?.is_some(),
            _ => true,
        })
    }

    /// `GET /providers`: every provider's id; `oz_providers_list`.
    ///
    /// # Errors
    ///
    /// 403 for anyone else.
    pub fn provider_ids(&self, caller: &Caller) -> Result<Vec<String>> {
        if !caller.has(OzPrivilege::ProvidersList) {
            return Err(Error::forbidden());
        }
        Ok(self.store.provider_ids()?)
    }

    /// `GET /providers/{id}`: a provider's details, for a holder of `oz_providers_view`, its
    /// cluster's admin, or a member of a space it supports.
    ///
    /// # Errors
    ///
    /// 404 for an unknown provider, 403 for anyone else.
    pub fn provider_for_user(&self, caller: &Caller, provider_id: &str) -> Result<Provider> {
        let provider = self.store.provider(provider_id)?.ok_or(Error::NotFound)?;
        if caller.has(OzPrivilege::ProvidersView) || provider.admin == caller.user.id {
            return Ok(provider);
        }
        for (space, _) in self.store.spaces_supported_by(provider_id)? {
            if self
                .store
                .space_privileges(&space, &caller.user.id)?
                .is_some()
            {
                return Ok(provider);
            }
        }
        Err(Error::forbidden())
    }

    /// `POST /provider/spaces/support` (Onezone 19.02's route, kept as an extension): the
    /// calling provider supports the space a space support token invites to, with `size`
    /// bytes; a named token's use is counted in the same transaction.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] for a token that does not verify as a `supportSpace` invite;
    /// [`Error::InviteIssuerNotAuthorized`]; [`Error::UsageLimitReached`];
    /// [`Error::AlreadyExists`] when the provider supports the space already.
    pub fn support_space(
        &self,
        caller: &ProviderCaller,
        token: &str,
        size: u64,
        peer_ip: IpAddr,
    ) -> Result<String> {
        let (space, invite) = self.invite_to_consume(token, InviteType::SupportSpace, peer_ip)?;
        match self.store.support_space(
            &space,
            &caller.provider.id,
            size,
            invite.as_deref(),
            self.now(),
        ) {
            Ok(()) => Ok(space),
            Err(StoreError::RelationExists) => Err(Error::AlreadyExists),
            Err(e) => Err(consumption_error(e)),
        }
    }

    /// `GET /provider/spaces`: the spaces the calling provider supports.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn spaces_of_provider(&self, caller: &ProviderCaller) -> Result<Vec<String>> {
        Ok(self
            .store
            .spaces_supported_by(&caller.provider.id)?
            .into_iter()
            .map(|(space, _)| space)
            .collect())
    }

    /// `DELETE /provider/spaces/{sid}`: the calling provider stops supporting a space.
    ///
    /// # Errors
    ///
    /// 404 when it does not support it.
    pub fn cease_own_support(&self, caller: &ProviderCaller, space_id: &str) -> Result<()> {
        if self.store.remove_support(space_id, &caller.provider.id)? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `GET /spaces/{id}/providers`: the providers supporting a space, for a member with
    /// `space_view` or a holder of `oz_spaces_list_relationships`.
    ///
    /// # Errors
    ///
    /// 404 for an unknown space, 403 for anyone else.
    pub fn space_providers(&self, caller: &Caller, space_id: &str) -> Result<Vec<(String, u64)>> {
        self.authorize_space_view(caller, space_id, OzPrivilege::SpacesListRelationships)?;
        Ok(self.store.supporters_of(space_id)?)
    }

    /// `GET /spaces/{id}/providers/{pid}`: a provider supporting the space, for a member with
    /// `space_view` or a holder of `oz_providers_view`.
    ///
    /// # Errors
    ///
    /// 404 for an unknown space or a provider not supporting it, 403 for anyone else.
    pub fn space_provider(
        &self,
        caller: &Caller,
        space_id: &str,
        provider_id: &str,
    ) -> Result<Provider> {
        self.authorize_space_view(caller, space_id, OzPrivilege::ProvidersView)?;
        let supports = self.store.supporters_of(space_id)?;
        if !supports.iter().any(|(id, _)| id == provider_id) {
            return Err(Error::NotFound);
        }
        self.store.provider(provider_id)?.ok_or(Error::NotFound)
    }

    /// `DELETE /spaces/{id}/providers/{pid}`: ends a provider's support of a space, for a
    /// member with `space_remove_support` or a holder of `oz_spaces_remove_relationships`.
    ///
    /// # Errors
    ///
    /// 404 for an unknown space or support, 403 for anyone else.
    pub fn cease_support(&self, caller: &Caller, space_id: &str, provider_id: &str) -> Result<()> {
        if self.store.space_by_id(space_id)?.is_none() {
            return Err(Error::NotFound);
        }
        let held = self
            .store
            .space_privileges(space_id, &caller.user.id)?
            .unwrap_or_default();
        if !SpacePrivilege::RemoveSupport.held_in(&held)
            && !caller.has(OzPrivilege::SpacesRemoveRelationships)
        {
            return Err(Error::forbidden());
        }
        if self.store.remove_support(space_id, provider_id)? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    fn authorize_space_view(
        &self,
        caller: &Caller,
        space_id: &str,
        admin: OzPrivilege,
    ) -> Result<()> {
        if self.store.space_by_id(space_id)?.is_none() {
            return Err(Error::NotFound);
        }
        let held = self
            .store
            .space_privileges(space_id, &caller.user.id)?
            .unwrap_or_default();
        if SpacePrivilege::View.held_in(&held) || caller.has(admin) {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{service, user};
    use crate::service::tokens::{NewTokenType, TokenOwner, TokenSpec};

    #[test]
    fn a_cluster_admin_has_a_provider_quota() {
        let mut svc = service();
        svc.service.settings.quotas.providers_per_user = Some(1);
        let alice = user(&svc, "alice", &[OzPrivilege::ProvidersInvite]);
        let spec = TokenSpec::access(Vec::new()).of_type(NewTokenType::Invite {
            invite: InviteType::RegisterOneprovider,
            target: alice.user.id.clone(),
        });
        let invite = svc
            .create_named(
                (&alice).into(),
                &TokenOwner::caller(&alice),
                "register",
                spec,
            )
            .unwrap();
        let registration = |name: &str| ProviderRegistration {
            token: invite.token.clone(),
            name: name.into(),
            admin_email: "admin@example.com".into(),
            domain: "provider.example.com".into(),
            latitude: 0.0,
            longitude: 0.0,
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = svc.register_provider(registration("one"), ip).unwrap();
        assert!(!format!("{first:?}").contains(&first.root_token));
        match svc.register_provider(registration("two"), ip) {
            Err(Error::Forbidden(Some(hint))) => {
                assert!(hint.contains("quota of 1 providers"), "{hint}");
            }
            other => panic!("{other:?}"),
        }
        // The refused registration counted no use of the invite.
        let record = svc.store.named_token(&invite.id).unwrap().unwrap();
        assert_eq!(record.usage_count, 1);
        // A registration's Debug never shows its token.
        assert!(!format!("{:?}", registration("x")).contains(&invite.token));
    }
}
