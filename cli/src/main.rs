//! `macaroon-mint`: mint, inspect, attenuate, discharge, bind, convert and verify macaroons.
//!
//! Exit codes: 0 success (or "valid"), 1 the token does not verify, 2 usage or input error.
//! Errors are one line on stderr (a JSON object with `--json`).
//!
//! `macaroon-mint onedata …` mints and verifies Onedata invite tokens (SPEC §10):
//! `provider-registration-token`, `space-support-token` and `verify-invite`.

mod args;
mod cmd;
mod input;
mod inspect;
mod report;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use crate::args::Cli;
use crate::report::{report, report_usage, write_stdout};

/// The service allocates per request (parsed tokens, records, answers); mimalloc's thread-local
/// free lists cost less than glibc's malloc there (`scripts/load`, README's Load section).
#[cfg(feature = "server")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return report_usage(&e),
    };
    #[cfg(feature = "server")]
    let configured = cmd::config_file::apply(&mut cli, &matches);
    #[cfg(not(feature = "server"))]
    let configured: Result<(), report::Failure> = {
        let _ = (&mut cli, &matches);
        Ok(())
    };
    match configured
        .and_then(|()| cmd::run(&cli))
        .and_then(|out| write_stdout(&out))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, cli.json),
    }
}
