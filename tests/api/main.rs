//! The library's integration tests in one binary (one link of the library instead of eight),
//! one module per component, as rustls lays its tests out: the formats (one module each), the
//! signature chain, discharges, limits, caveats, the Onedata profile, secrets and the serde
//! feature. Error cases particular to one decoder are unit tests beside that decoder
//! (`src/format/*.rs`).
//!
//! `properties.rs`, `allocations.rs` (its own global allocator) and the `macaroon` crate interop
//! stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;
mod counting_alloc;
mod support;

mod caveats;
mod discharge;
mod formats;
mod limits;
#[cfg(feature = "onedata")]
mod onedata;
mod secrets;
mod serde_feature;
mod signature;
