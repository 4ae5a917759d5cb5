//! Privilege names and invite-type names as Onezone's REST API spells them.

use macaroon_mint::onedata::InviteType;

/// The Onezone admin (`oz_*`) privileges this service knows; `--admin` grants all of them.
pub const OZ_PRIVILEGES: &[&str] = &[
    "oz_view_privileges",
    "oz_set_privileges",
    "oz_users_list",
    "oz_users_view",
    "oz_users_create",
    "oz_users_update",
    "oz_users_delete",
    "oz_users_manage_passwords",
    "oz_spaces_list",
    "oz_spaces_view",
    "oz_spaces_create",
    "oz_spaces_update",
    "oz_spaces_delete",
    "oz_spaces_view_privileges",
    "oz_spaces_set_privileges",
    "oz_spaces_add_relationships",
    "oz_spaces_remove_relationships",
    "oz_providers_list",
    "oz_providers_view",
    "oz_providers_invite",
    "oz_providers_delete",
    "oz_tokens_manage",
];

/// The space privileges this service knows; a space's creator holds all of them.
pub const SPACE_PRIVILEGES: &[&str] = &[
    "space_view",
    "space_update",
    "space_delete",
    "space_view_privileges",
    "space_set_privileges",
    "space_add_user",
    "space_remove_user",
    "space_add_support",
    "space_remove_support",
];

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
