//! The library's integration tests in one binary (one link of the library instead of eight),
//! one module per area: formats and vectors, typed caveats, error paths, hostile input, the
//! Onedata profile (identifiers, invites, Onedata's own tokens) and the serde feature.
//!
//! `properties.rs`, `allocations.rs` (its own global allocator) and the `macaroon` crate interop
//! stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod caveats;
mod errors;
mod hostile;
mod onedata_ctool_compat;
mod onedata_identifier;
mod onedata_profile;
mod serde_feature;
mod vectors;
