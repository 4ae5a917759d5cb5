//! Privileges and invite-type names as Onezone's REST API spells them.
//!
//! Privilege checks use the [`OzPrivilege`] and [`SpacePrivilege`] enums, never string
//! literals; the store keeps the names ([`OzPrivilege::name`]), so a set read back from it is
//! parsed with [`OzPrivilege::from_name`] and unknown names are ignored.

use std::collections::BTreeSet;
use std::fmt;

use macaroon_mint::onedata::InviteType;

/// Declares a privilege enum with its Onezone names, in order, and the name table.
macro_rules! privileges {
    ($(#[$meta:meta])* $name:ident, $table:ident, { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $text, "`")] $variant,)*
        }

        /// Every name, in declaration order.
        pub const $table: &[&str] = &[$($text,)*];

        impl $name {
            /// Every privilege, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// Onezone's name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The privilege of this name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The set of names of `privileges`, as the store keeps it.
            pub fn names(privileges: impl IntoIterator<Item = $name>) -> BTreeSet<String> {
                privileges.into_iter().map(|p| p.name().to_owned()).collect()
            }

            /// Whether the stored `names` hold this privilege.
            pub fn held_in(self, names: &BTreeSet<String>) -> bool {
                names.contains(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_name(&name).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&name, $table)
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

privileges!(
    /// A Onezone admin privilege (`oz_*`); `--admin` grants all of them.
    ///
    /// ```
    /// use macaroon_mint_server::privileges::{OzPrivilege, OZ_PRIVILEGES};
    /// assert_eq!(OzPrivilege::from_name("oz_users_create"), Some(OzPrivilege::UsersCreate));
    /// assert_eq!(OzPrivilege::TokensManage.name(), "oz_tokens_manage");
    /// assert_eq!(OZ_PRIVILEGES.len(), OzPrivilege::ALL.len());
    /// ```
    OzPrivilege, OZ_PRIVILEGES, {
        ViewPrivileges = "oz_view_privileges",
        SetPrivileges = "oz_set_privileges",
        UsersList = "oz_users_list",
        UsersView = "oz_users_view",
        UsersCreate = "oz_users_create",
        UsersUpdate = "oz_users_update",
        UsersDelete = "oz_users_delete",
        UsersManagePasswords = "oz_users_manage_passwords",
        SpacesList = "oz_spaces_list",
        SpacesView = "oz_spaces_view",
        SpacesCreate = "oz_spaces_create",
        SpacesUpdate = "oz_spaces_update",
        SpacesDelete = "oz_spaces_delete",
        SpacesViewPrivileges = "oz_spaces_view_privileges",
        SpacesSetPrivileges = "oz_spaces_set_privileges",
        SpacesAddRelationships = "oz_spaces_add_relationships",
        SpacesRemoveRelationships = "oz_spaces_remove_relationships",
        ProvidersList = "oz_providers_list",
        ProvidersView = "oz_providers_view",
        ProvidersInvite = "oz_providers_invite",
        ProvidersDelete = "oz_providers_delete",
        TokensManage = "oz_tokens_manage",
    }
);

privileges!(
    /// A privilege in a space; a space's creator holds all of them.
    ///
    /// ```
    /// use macaroon_mint_server::privileges::SpacePrivilege;
    /// assert_eq!(SpacePrivilege::AddSupport.name(), "space_add_support");
    /// assert_eq!(SpacePrivilege::from_name("oz_users_create"), None);
    /// ```
    SpacePrivilege, SPACE_PRIVILEGES, {
        View = "space_view",
        Update = "space_update",
        Delete = "space_delete",
        ViewPrivileges = "space_view_privileges",
        SetPrivileges = "space_set_privileges",
        AddUser = "space_add_user",
        RemoveUser = "space_remove_user",
        AddSupport = "space_add_support",
        RemoveSupport = "space_remove_support",
    }
);

/// Invite types by their Onezone names (`expectedInviteType`).
pub const INVITE_TYPE_NAMES: &[(&str, InviteType)] = &[
    ("userJoinGroup", InviteType::UserJoinGroup),
    ("groupJoinGroup", InviteType::GroupJoinGroup),
    ("userJoinSpace", InviteType::UserJoinSpace),
    ("groupJoinSpace", InviteType::GroupJoinSpace),
    ("supportSpace", InviteType::SupportSpace),
    ("harvesterJoinSpace", InviteType::HarvesterJoinSpace),
    ("registerOneprovider", InviteType::RegisterOneprovider),
    ("userJoinCluster", InviteType::UserJoinCluster),
    ("groupJoinCluster", InviteType::GroupJoinCluster),
    ("userJoinHarvester", InviteType::UserJoinHarvester),
    ("groupJoinHarvester", InviteType::GroupJoinHarvester),
    ("spaceJoinHarvester", InviteType::SpaceJoinHarvester),
    ("userJoinAtmInventory", InviteType::UserJoinAtmInventory),
    ("groupJoinAtmInventory", InviteType::GroupJoinAtmInventory),
];

/// The Onezone name of an invite type (its code for an unknown one).
pub fn invite_type_name(invite: &InviteType) -> String {
    INVITE_TYPE_NAMES
        .iter()
        .find(|(_, t)| t == invite)
        .map_or_else(|| invite.code().to_owned(), |(name, _)| (*name).to_owned())
}

/// The invite type with this Onezone name.
pub fn invite_type_by_name(name: &str) -> Option<InviteType> {
    INVITE_TYPE_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in OzPrivilege::ALL {
            assert_eq!(OzPrivilege::from_name(p.name()), Some(*p));
        }
        for p in SpacePrivilege::ALL {
            assert_eq!(SpacePrivilege::from_name(p.name()), Some(*p));
        }
        let set = SpacePrivilege::names([SpacePrivilege::View]);
        assert!(SpacePrivilege::View.held_in(&set));
        assert!(!SpacePrivilege::Update.held_in(&set));
    }
}
