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
    /// A Onezone admin privilege (`oz_*`): every one of the swagger's `AdminPrivileges`, and
    /// `oz_tokens_manage`, which Onezone's token routes require but the swagger omits. Any may
    /// be granted and is stored; those with an endpoint here are enforced. `--admin` grants
    /// all of them.
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
        UsersManagePasswords = "oz_users_manage_passwords",
        UsersUpdate = "oz_users_update",
        UsersDelete = "oz_users_delete",
        UsersListRelationships = "oz_users_list_relationships",
        UsersAddRelationships = "oz_users_add_relationships",
        UsersRemoveRelationships = "oz_users_remove_relationships",
        GroupsList = "oz_groups_list",
        GroupsView = "oz_groups_view",
        GroupsCreate = "oz_groups_create",
        GroupsUpdate = "oz_groups_update",
        GroupsDelete = "oz_groups_delete",
        GroupsViewPrivileges = "oz_groups_view_privileges",
        GroupsSetPrivileges = "oz_groups_set_privileges",
        GroupsListRelationships = "oz_groups_list_relationships",
        GroupsAddRelationships = "oz_groups_add_relationships",
        GroupsRemoveRelationships = "oz_groups_remove_relationships",
        SpacesList = "oz_spaces_list",
        SpacesView = "oz_spaces_view",
        SpacesCreate = "oz_spaces_create",
        SpacesUpdate = "oz_spaces_update",
        SpacesDelete = "oz_spaces_delete",
        SpacesViewPrivileges = "oz_spaces_view_privileges",
        SpacesSetPrivileges = "oz_spaces_set_privileges",
        SpacesListRelationships = "oz_spaces_list_relationships",
        SpacesAddRelationships = "oz_spaces_add_relationships",
        SpacesRemoveRelationships = "oz_spaces_remove_relationships",
        SharesList = "oz_shares_list",
        SharesView = "oz_shares_view",
        SharesCreate = "oz_shares_create",
        SharesUpdate = "oz_shares_update",
        SharesDelete = "oz_shares_delete",
        ProvidersList = "oz_providers_list",
        ProvidersView = "oz_providers_view",
        ProvidersUpdate = "oz_providers_update",
        ProvidersDelete = "oz_providers_delete",
        ProvidersListRelationships = "oz_providers_list_relationships",
        ProvidersInvite = "oz_providers_invite",
        HandleServicesList = "oz_handle_services_list",
        HandleServicesView = "oz_handle_services_view",
        HandleServicesCreate = "oz_handle_services_create",
        HandleServicesUpdate = "oz_handle_services_update",
        HandleServicesDelete = "oz_handle_services_delete",
        HandleServicesViewPrivileges = "oz_handle_services_view_privileges",
        HandleServicesSetPrivileges = "oz_handle_services_set_privileges",
        HandleServicesListRelationships = "oz_handle_services_list_relationships",
        HandleServicesAddRelationships = "oz_handle_services_add_relationships",
        HandleServicesRemoveRelationships = "oz_handle_services_remove_relationships",
        HandlesList = "oz_handles_list",
        HandlesView = "oz_handles_view",
        HandlesCreate = "oz_handles_create",
        HandlesUpdate = "oz_handles_update",
        HandlesDelete = "oz_handles_delete",
        HandlesViewPrivileges = "oz_handles_view_privileges",
        HandlesSetPrivileges = "oz_handles_set_privileges",
        HandlesListRelationships = "oz_handles_list_relationships",
        HandlesAddRelationships = "oz_handles_add_relationships",
        HandlesRemoveRelationships = "oz_handles_remove_relationships",
        HarvestersList = "oz_harvesters_list",
        HarvestersView = "oz_harvesters_view",
        HarvestersCreate = "oz_harvesters_create",
        HarvestersUpdate = "oz_harvesters_update",
        HarvestersDelete = "oz_harvesters_delete",
        HarvestersViewPrivileges = "oz_harvesters_view_privileges",
        HarvestersSetPrivileges = "oz_harvesters_set_privileges",
        HarvestersListRelationships = "oz_harvesters_list_relationships",
        HarvestersAddRelationships = "oz_harvesters_add_relationships",
        HarvestersRemoveRelationships = "oz_harvesters_remove_relationships",
        ClustersList = "oz_clusters_list",
        ClustersView = "oz_clusters_view",
        ClustersUpdate = "oz_clusters_update",
        ClustersViewPrivileges = "oz_clusters_view_privileges",
        ClustersSetPrivileges = "oz_clusters_set_privileges",
        ClustersListRelationships = "oz_clusters_list_relationships",
        ClustersAddRelationships = "oz_clusters_add_relationships",
        ClustersRemoveRelationships = "oz_clusters_remove_relationships",
        TokensManage = "oz_tokens_manage",
    }
);

privileges!(
    /// A privilege in a space: every one of the swagger's `SpacePrivileges`. Any may be
    /// granted and is stored; those with an endpoint here are enforced. A space's creator
    /// holds all of them.
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
        ReadData = "space_read_data",
        WriteData = "space_write_data",
        RegisterFiles = "space_register_files",
        ManageShares = "space_manage_shares",
        ViewViews = "space_view_views",
        ManageViews = "space_manage_views",
        QueryViews = "space_query_views",
        ViewStatistics = "space_view_statistics",
        ViewChangesStream = "space_view_changes_stream",
        ViewTransfers = "space_view_transfers",
        ScheduleReplication = "space_schedule_replication",
        CancelReplication = "space_cancel_replication",
        ScheduleEviction = "space_schedule_eviction",
        CancelEviction = "space_cancel_eviction",
        ViewQos = "space_view_qos",
        ManageQos = "space_manage_qos",
        AddUser = "space_add_user",
        RemoveUser = "space_remove_user",
        AddGroup = "space_add_group",
        RemoveGroup = "space_remove_group",
        AddSupport = "space_add_support",
        RemoveSupport = "space_remove_support",
        AddHarvester = "space_add_harvester",
        RemoveHarvester = "space_remove_harvester",
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

/// The key Onezone's `InviteToken` JSON names an invite type's target with (`spaceId`,
/// `adminUserId`, …).
///
/// ```
/// use macaroon_mint::onedata::InviteType;
/// use macaroon_mint_server::service::privileges::invite_target_key;
/// assert_eq!(invite_target_key(&InviteType::SupportSpace), "spaceId");
/// assert_eq!(invite_target_key(&InviteType::RegisterOneprovider), "adminUserId");
/// ```
pub fn invite_target_key(invite: &InviteType) -> &'static str {
    match invite {
        InviteType::UserJoinGroup | InviteType::GroupJoinGroup => "groupId",
        InviteType::UserJoinSpace
        | InviteType::GroupJoinSpace
        | InviteType::SupportSpace
        | InviteType::HarvesterJoinSpace => "spaceId",
        InviteType::RegisterOneprovider => "adminUserId",
        InviteType::UserJoinCluster | InviteType::GroupJoinCluster => "clusterId",
        InviteType::UserJoinHarvester
        | InviteType::GroupJoinHarvester
        | InviteType::SpaceJoinHarvester => "harvesterId",
        InviteType::UserJoinAtmInventory | InviteType::GroupJoinAtmInventory => "atmInventoryId",
        _ => "targetId",
    }
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

    /// Every privilege of Onezone's swagger (`AdminPrivileges`, `SpacePrivileges`) is known.
    #[test]
    fn every_swagger_privilege_is_known() {
        let swagger: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/onezone-swagger-subset.json"))
                .unwrap();
        let names = |definition: &str| -> Vec<String> {
            swagger["definitions"][definition]["items"]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        };
        let admin = names("AdminPrivileges");
        assert!(admin.len() > 70);
        for name in &admin {
            assert!(OzPrivilege::from_name(name).is_some(), "{name}");
        }
        // Ours beyond the swagger: only oz_tokens_manage.
        let extra: Vec<&str> = OZ_PRIVILEGES
            .iter()
            .copied()
            .filter(|n| !admin.iter().any(|a| a == n))
            .collect();
        assert_eq!(extra, ["oz_tokens_manage"]);
        let space = names("SpacePrivileges");
        assert_eq!(
            SPACE_PRIVILEGES,
            space.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

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
