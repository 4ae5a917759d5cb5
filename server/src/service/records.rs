//! Named-token records and temporary generations: listing, reading, renaming, revoking and
//! deleting, for the owner or a token manager (`oz_tokens_manage`).
//!
//! A record never contains the token: records are readable with a restricted token, which
//! must not obtain an unrestricted one.

use super::privileges::OzPrivilege;
use super::tokens::TokenOwner;
use super::{check_name, AnyCaller, Caller, Error, Principal, Result, Service};
use crate::store::{NamedToken, NamedTokenChange, StoreError, SubjectKind};

/// Proof that a caller may change or delete a named token.
#[derive(Debug)]
pub struct NamedTokenUpdate {
    record: NamedToken,
    /// A token manager, or the owner logged in with a password (not with a token, which could
    /// otherwise bring back a revoked token stronger than itself).
    may_unrevoke: bool,
}

impl Service {
    /// The first step of every `/users/{id}/tokens/…` route: user `id` exists (404) and the
    /// caller is that user or holds `oz_tokens_manage` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_tokens_of(&self, caller: &Caller, user_id: &str) -> Result<TokenOwner> {
        if caller.user.id == user_id {
            return Ok(TokenOwner::caller(caller));
        }
        let Some(user) = self.store.user_by_id(user_id)? else {
            return Err(Error::NotFound);
        };
        if !caller.has(OzPrivilege::TokensManage) {
            return Err(Error::forbidden());
        }
        Ok(TokenOwner::of(Principal::User(user)))
    }

    /// `GET /user/tokens/named`, `/users/{id}/tokens/named`: the owner's named tokens (every
    /// type), oldest first.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn named_tokens_of(&self, owner: &TokenOwner) -> Result<Vec<NamedToken>> {
        let mut tokens = self.store.named_tokens_of(owner.id())?;
        tokens.retain(|t| t.subject_type == owner.kind());
        Ok(tokens)
    }

    /// `GET …/tokens/named/name/{name}`: the owner's named token of that name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none.
    pub fn named_token_by_name(&self, owner: &TokenOwner, name: &str) -> Result<NamedToken> {
        self.named_tokens_of(owner)?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or(Error::NotFound)
    }

    /// `DELETE /user/tokens/named`, `/users/{id}/tokens/named`: deletes every named token of
    /// the owner (they verify nothing afterwards, nor does anything minted with them).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn delete_named_tokens_of(&self, owner: &TokenOwner) -> Result<()> {
        for token in self.named_tokens_of(owner)? {
            self.store.delete_named_token(&token.id)?;
        }
        Ok(())
    }

    /// `GET /tokens/named`: every named token; `oz_tokens_manage` only.
    ///
    /// # Errors
    ///
    /// 403 for anyone else.
    pub fn all_named_tokens(&self, caller: &Caller) -> Result<Vec<NamedToken>> {
        if !caller.has(OzPrivilege::TokensManage) {
            return Err(Error::forbidden());
        }
        Ok(self.store.all_named_tokens()?)
    }

    /// `GET /tokens/named/{id}` (and its `/status`): a named token's record; its subject or a
    /// token manager.
    ///
    /// # Errors
    ///
    /// 404 for an unknown token, 403 for anyone else.
    pub fn named_token(&self, caller: &Caller, id: &str) -> Result<NamedToken> {
        self.named_token_as(&AnyCaller::User(caller.clone()), id)
    }

    /// `GET /tokens/named/{id}` by a user or a provider: a user's token for that user or a
    /// token manager; a provider's token for the provider itself, its cluster's admin or a
    /// token manager (as Onezone lets them).
    ///
    /// # Errors
    ///
    /// 404 for an unknown token, 403 for anyone else.
    pub fn named_token_as(&self, caller: &AnyCaller, id: &str) -> Result<NamedToken> {
        let record = self.store.named_token(id)?.ok_or(Error::NotFound)?;
        let allowed = match (caller, record.subject_type) {
            (AnyCaller::User(user), _) if user.has(OzPrivilege::TokensManage) => true,
            (AnyCaller::User(user), SubjectKind::User) => record.subject == user.user.id,
            (AnyCaller::User(user), SubjectKind::Provider) => self
                .store
                .provider(&record.subject)?
                .is_some_and(|provider| provider.admin == user.user.id),
            (AnyCaller::Provider(provider), SubjectKind::Provider) => {
                record.subject == provider.provider.id
            }
            (AnyCaller::Provider(_), SubjectKind::User) => false,
        };
        if !allowed {
            return Err(Error::forbidden());
        }
        Ok(record)
    }

    /// The first step of `PATCH` and `DELETE /tokens/named/{id}`: the token exists (404) and
    /// the caller is its subject or a token manager (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_named_token_update(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<NamedTokenUpdate> {
        self.authorize_named_token_update_as(&AnyCaller::User(caller.clone()), id)
    }

    /// As [`Service::authorize_named_token_update`], for a user or a provider (see
    /// [`Service::named_token_as`]); only a user logged in with a password may un-revoke.
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_named_token_update_as(
        &self,
        caller: &AnyCaller,
        id: &str,
    ) -> Result<NamedTokenUpdate> {
        let record = self.named_token_as(caller, id)?;
        Ok(NamedTokenUpdate {
            record,
            may_unrevoke: matches!(caller, AnyCaller::User(user) if user.token.is_none()),
        })
    }

    /// `PATCH /tokens/named/{id}`: renames the token, replaces its custom metadata, sets its
    /// revoked flag — each when given. Un-revoking is for the owner or a token manager logged
    /// in with a password (as Onezone lets owners do); a caller authenticated with a token may
    /// not — a token manager's neither —, since it could bring back a revoked token stronger
    /// than itself.
    ///
    /// # Errors
    ///
    /// [`super::Invalid::Name`] for a bad name, [`Error::NameOccupied`] when the owner has
    /// another token of that name, 403 for an un-revocation by a caller authenticated with a
    /// token.
    pub fn update_named_token(
        &self,
        update: NamedTokenUpdate,
        mut change: NamedTokenChange,
    ) -> Result<()> {
        if let Some(name) = &change.name {
            check_name("name", name)?;
        }
        if change.revoked == Some(false) && !update.may_unrevoke {
            if update.record.revoked {
                return Err(Error::forbidden_because(
                    "a token cannot un-revoke a token; log in with a password",
                ));
            }
            // Not revoked when read: nothing to write. Writing `false` could undo a revocation
            // made meanwhile by the owner, against whoever holds this caller's token.
            change.revoked = None;
        }
        match self.store.update_named_token(&update.record.id, &change) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound),
            Err(StoreError::TokenNameTaken) => Err(Error::NameOccupied),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets only the revoked flag (as [`Service::update_named_token`]).
    ///
    /// # Errors
    ///
    /// As [`Service::update_named_token`].
    pub fn set_named_token_revoked(&self, update: NamedTokenUpdate, revoked: bool) -> Result<()> {
        let change = NamedTokenChange {
            revoked: Some(revoked),
            ..NamedTokenChange::default()
        };
        self.update_named_token(update, change)
    }

    /// `DELETE /tokens/named/{id}`: deletes the record; the token (and whatever was minted
    /// with it) verifies nothing afterwards.
    ///
    /// # Errors
    ///
    /// 404 when it is already gone.
    pub fn delete_named_token(&self, update: NamedTokenUpdate) -> Result<()> {
        if self.store.delete_named_token(&update.record.id)? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `GET /user/tokens/temporary`, `/users/{id}/tokens/temporary`: the owner's current
    /// temporary-token generation.
    ///
    /// # Errors
    ///
    /// 404 when the user has none (removed meanwhile).
    pub fn temporary_generation(&self, owner: &TokenOwner) -> Result<u64> {
        match self.store.temporary_generation(owner.id())? {
            Some(current) => Ok(current.generation),
            None => Err(Error::NotFound),
        }
    }

    /// `DELETE /user/tokens/temporary`, `/users/{id}/tokens/temporary`: revokes all of the
    /// owner's temporary tokens (and whatever was minted with them).
    ///
    /// # Errors
    ///
    /// 404 when the user is gone.
    pub fn revoke_temporary(&self, owner: &TokenOwner) -> Result<()> {
        let key = self.current_key(self.now())?;
        match self.store.bump_temporary_generation(owner.id(), key.id)? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound),
        }
    }

    /// Both steps of `DELETE /users/{id}/tokens/temporary`.
    ///
    /// # Errors
    ///
    /// As [`Service::authorize_tokens_of`] and [`Service::revoke_temporary`].
    pub fn revoke_temporary_tokens(&self, caller: &Caller, user_id: &str) -> Result<()> {
        let owner = self.authorize_tokens_of(caller, user_id)?;
        self.revoke_temporary(&owner)
    }
}
