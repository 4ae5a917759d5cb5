//! Users: accounts, admin privileges.

use std::collections::BTreeSet;

use super::privileges::OzPrivilege;
use super::{hash_password, Caller, Error, Invalid, Result, Service};
use crate::store::{StoreError, User};

/// Proof that a caller may create users (`oz_users_create`).
#[derive(Debug)]
pub struct UserCreation(());

/// Proof that a caller may set user `user_id`'s admin privileges (`oz_set_privileges`).
#[derive(Debug)]
pub struct OzPrivilegesUpdate {
    user_id: String,
}

/// Checks a username as Onezone does: 2 to 32 ASCII letters, digits, `.`, `_` and `-`, starting
/// and ending with a letter or digit (so it never holds the `:` that splits basic credentials).
///
/// ```
/// use macaroon_mint_server::service::check_username;
/// assert!(check_username("alice.b-c_d").is_ok());
/// for bad in ["a", "-alice", "alice-", "al:ice", "ąlice", &"a".repeat(33)] {
///     assert!(check_username(bad).is_err(), "{bad}");
/// }
/// ```
///
/// # Errors
///
/// [`Invalid::Username`].
pub fn check_username(username: &str) -> Result<(), Invalid> {
    let bytes = username.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    let middle = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let valid = (2..=32).contains(&bytes.len())
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(middle);
    if valid {
        Ok(())
    } else {
        Err(Invalid::Username)
    }
}

/// Checks a full name as Onezone does: 2 to 128 characters of letters, digits, spaces and
/// `'`, `,`, `.`, `-`, starting with a letter or digit and ending with one or a `.`.
///
/// ```
/// use macaroon_mint_server::service::check_full_name;
/// assert!(check_full_name("Rudolf Lingens").is_ok());
/// assert!(check_full_name("J. R. R. Tolkien Jr.").is_ok());
/// for bad in ["R", " Rudolf", "Rudolf-", "Ru;dolf", &"a".repeat(129)] {
///     assert!(check_full_name(bad).is_err(), "{bad}");
/// }
/// ```
///
/// # Errors
///
/// [`Invalid::Name`] for `fullName`.
pub fn check_full_name(full_name: &str) -> Result<(), Invalid> {
    let first = |c: &char| c.is_alphanumeric();
    let last = |c: &char| c.is_alphanumeric() || *c == '.';
    let middle = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '\'' | ',' | '.' | '-');
    let count = full_name.chars().count();
    let valid = (2..=super::MAX_NAME_CHARS).contains(&count)
        && full_name.chars().next().as_ref().is_some_and(first)
        && full_name.chars().last().as_ref().is_some_and(last)
        && full_name.chars().all(middle);
    if valid {
        Ok(())
    } else {
        Err(Invalid::Name { key: "fullName" })
    }
}

impl Service {
    /// The first step of `POST /users`: the caller holds `oz_users_create` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_user_creation(&self, caller: &Caller) -> Result<UserCreation> {
        if caller.has(OzPrivilege::UsersCreate) {
            Ok(UserCreation(()))
        } else {
            Err(Error::forbidden())
        }
    }

    /// Creates a user with no admin privileges; without a password the account has no password
    /// login (`basicAuthEnabled: false`).
    ///
    /// # Errors
    ///
    /// [`Invalid::Username`], [`Invalid::Name`] for a bad full name, or [`Invalid::Occupied`]
    /// when the username is taken.
    pub fn create_user(
        &self,
        _: UserCreation,
        username: &str,
        password: Option<&str>,
        full_name: Option<&str>,
    ) -> Result<User> {
        check_username(username)?;
        if let Some(full_name) = full_name {
            check_full_name(full_name)?;
        }
        // Without a password the account cannot log in with one (an empty hash matches nothing).
        let hash = match password {
            Some(password) => hash_password(password)?,
            None => String::new(),
        };
        let key = self.current_key(self.now())?;
        match self.store.create_user(
            username,
            &hash,
            &BTreeSet::new(),
            key.id,
            self.now(),
            full_name.unwrap_or(""),
        ) {
            Ok(user) => Ok(user),
            Err(StoreError::UsernameTaken) => Err(Invalid::Occupied { key: "username" }.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The first step of `PATCH /users/{id}/privileges`: the user exists (404) and the caller
    /// holds `oz_set_privileges` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_oz_privileges_update(
        &self,
        caller: &Caller,
        user_id: &str,
    ) -> Result<OzPrivilegesUpdate> {
        if self.store.user_by_id(user_id)?.is_none() {
            return Err(Error::NotFound);
        }
        if !caller.has(OzPrivilege::SetPrivileges) {
            return Err(Error::forbidden());
        }
        Ok(OzPrivilegesUpdate {
            user_id: user_id.to_owned(),
        })
    }

    /// Grants, then revokes, admin privileges.
    ///
    /// # Errors
    ///
    /// 404 when the user went away meanwhile.
    pub fn update_oz_privileges(
        &self,
        update: OzPrivilegesUpdate,
        grant: &[OzPrivilege],
        revoke: &[OzPrivilege],
    ) -> Result<()> {
        let grant = OzPrivilege::names(grant.iter().copied());
        let revoke = OzPrivilege::names(revoke.iter().copied());
        match self
            .store
            .update_oz_privileges(&update.user_id, &grant, &revoke)?
        {
            Some(_) => Ok(()),
            None => Err(Error::NotFound),
        }
    }
}

/// What happened to the `--admin` account at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStatus {
    /// No admin was asked for.
    NotRequested,
    /// It was created with every `oz_*` privilege.
    Created,
    /// A user of that name already existed and was left unchanged.
    Existing,
}

/// Creates the admin (every `oz_*` privilege) unless a user of that name exists.
///
/// # Errors
///
/// Store or hashing failures.
pub fn bootstrap_admin(
    store: &dyn crate::store::Store,
    username: &str,
    password: &str,
    key_id: i64,
    now: u64,
) -> Result<AdminStatus> {
    if store.user_by_username(username)?.is_some() {
        return Ok(AdminStatus::Existing);
    }
    let hash = hash_password(password)?;
    let privileges = OzPrivilege::names(OzPrivilege::ALL.iter().copied());
    match store.create_user(username, &hash, &privileges, key_id, now, "") {
        Ok(_) => Ok(AdminStatus::Created),
        Err(StoreError::UsernameTaken) => Ok(AdminStatus::Existing),
        Err(e) => Err(e.into()),
    }
}
