//! The CLI's integration tests in one binary (one link of the CLI's dependencies instead of
//! four): each module runs the built `macaroon-mint` binary.
//!
//! - `commands`: every token subcommand, exit codes, the one-line error contract, the SPEC
//!   vectors and the damaged Onedata examples;
//! - `onedata`: `macaroon-mint onedata …` and the Onedata reading of `inspect`;
//! - `typed_verify`: `verify` with the typed checkers and the request's context flags;
//! - `serve` (feature `server`): `serve` and `keys` end to end over HTTP.

mod common;

mod commands;
mod onedata;
#[cfg(feature = "server")]
mod serve;
mod typed_verify;
