//! Spaces: creation and members' privileges.

use super::privileges::{OzPrivilege, SpacePrivilege};
use super::{check_name, Caller, Error, Result, Service};
use crate::store::{Space, StoreError};

/// Proof that a caller may set a member's privileges in a space.
#[derive(Debug)]
pub struct SpacePrivilegesUpdate {
    space_id: String,
    user_id: String,
}

impl Service {
    /// `POST /user/spaces`: a space whose creator (the caller) holds every space privilege.
    ///
    /// # Errors
    ///
    /// [`super::Invalid::Name`], or 403 when the caller's space quota is exhausted.
    pub fn create_space(&self, caller: &Caller, name: &str) -> Result<Space> {
        check_name("name", name)?;
        let all = SpacePrivilege::names(SpacePrivilege::ALL.iter().copied());
        let quota = self.settings.quotas.spaces_per_user;
        match self.store.create_space(name, &caller.user.id, &all, quota) {
            Ok(space) => Ok(space),
            Err(StoreError::QuotaExceeded) => Err(Error::forbidden_because(format!(
                "the quota of {} spaces per user is exhausted",
                quota.unwrap_or_default()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The first step of `PATCH /spaces/{id}/users/{uid}/privileges`: the space and the user
    /// exist (404), and the caller holds `space_set_privileges` in the space or
    /// `oz_spaces_set_privileges` (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn authorize_space_privileges_update(
        &self,
        caller: &Caller,
        space_id: &str,
        user_id: &str,
    ) -> Result<SpacePrivilegesUpdate> {
        if self.store.space_by_id(space_id)?.is_none() || self.store.user_by_id(user_id)?.is_none()
        {
            return Err(Error::NotFound);
        }
        let in_space = self
            .store
            .space_privileges(space_id, &caller.user.id)?
            .unwrap_or_default();
        if !SpacePrivilege::SetPrivileges.held_in(&in_space)
            && !caller.has(OzPrivilege::SpacesSetPrivileges)
        {
            return Err(Error::forbidden());
        }
        Ok(SpacePrivilegesUpdate {
            space_id: space_id.to_owned(),
            user_id: user_id.to_owned(),
        })
    }

    /// Grants, then revokes, a user's privileges in the space (making them a member if
    /// needed).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn update_space_privileges(
        &self,
        update: SpacePrivilegesUpdate,
        grant: &[SpacePrivilege],
        revoke: &[SpacePrivilege],
    ) -> Result<()> {
        self.store.update_space_privileges(
            &update.space_id,
            &update.user_id,
            &SpacePrivilege::names(grant.iter().copied()),
            &SpacePrivilege::names(revoke.iter().copied()),
        )?;
        Ok(())
    }
}
