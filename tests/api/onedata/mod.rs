//! The Onedata profile (SPEC §10): token identifiers, the invite tokens Onezone mints and how it
//! verifies them, and the 18 tokens Onedata serialized itself.

mod ctool_compat;
mod identifier;
mod invites;
