//! The subcommands: the token commands here, the others in their modules.

#[cfg(feature = "server")]
pub(crate) mod config_file;
#[cfg(feature = "server")]
pub(crate) mod keys;
#[cfg(feature = "server")]
pub(crate) mod logging;
pub(crate) mod onedata;
#[cfg(feature = "server")]
pub(crate) mod serve;

use clap::CommandFactory;
use macaroon_mint::{Macaroon, Verifier};

use crate::args::{Cli, Command};
#[cfg(feature = "server")]
use crate::cmd::keys::run_keys;
use crate::cmd::onedata::run_onedata;
#[cfg(feature = "server")]
use crate::cmd::serve::serve;
use crate::input::{decode_hex, parse_token, stdin_at_most_once, system_now, token_input};
use crate::inspect::inspect;
use crate::report::{input_error, Failure};

pub(crate) fn run(cli: &Cli) -> Result<String, Failure> {
    match &cli.command {
        Command::Mint {
            key,
            location,
            identifier,
            identifier_hex,
            caveats,
            format,
        } => {
            let identifier = match (identifier, identifier_hex) {
                (_, Some(h)) => decode_hex("--identifier-hex", h)?,
                (Some(i), None) => i.as_bytes().to_vec(),
                (None, None) => return Err(input_error("--identifier is required")),
            };
            let mut m = Macaroon::mint(&key.root_key()?, location, identifier)?;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(*format)?)
        }
        Command::Inspect { onedata, token } => inspect(&token_input(token)?, cli.json, *onedata),
        Command::Verify {
            key,
            now,
            exact,
            client,
            request,
            discharges,
            ignore_unused_discharges,
            token,
        } => {
            stdin_at_most_once(
                discharges
                    .iter()
                    .map(String::as_str)
                    .chain([token.as_str()]),
            )?;
            let root = parse_token(token)?.macaroon;
            let discharges = discharges
                .iter()
                .map(|d| parse_token(d).map(|p| p.macaroon))
                .collect::<Result<Vec<_>, _>>()?;
            let ctx = request.apply(client.context()?)?;
            let mut verifier = Verifier::new()
                .at_time(now.unwrap_or_else(system_now))
                .with_context(&ctx);
            for e in exact {
                verifier = verifier.satisfy_exact(e);
            }
            if *ignore_unused_discharges {
                verifier = verifier.ignore_unused_discharges();
            }
            verifier.verify(&key.root_key()?, &root, &discharges)?;
            Ok("valid".into())
        }
        Command::Attenuate { caveats, token } => {
            let parsed = parse_token(token)?;
            let mut m = parsed.macaroon;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(parsed.encoding.output_format())?)
        }
        Command::ThirdParty {
            keys,
            location,
            caveat_id,
            nonce_hex,
            token,
        } => {
            let parsed = parse_token(token)?;
            let key = keys.caveat_key(&parsed.macaroon)?;
            let m = match nonce_hex {
                Some(h) => {
                    let nonce: [u8; 24] = decode_hex("--nonce-hex", h)?
                        .try_into()
                        .map_err(|_| input_error("--nonce-hex must be 24 bytes (48 hex digits)"))?;
                    parsed
                        .macaroon
                        .with_third_party_nonce(location, &key, caveat_id, nonce)?
                }
                None => parsed
                    .macaroon
                    .with_third_party(location, &key, caveat_id)?,
            };
            Ok(m.serialize(parsed.encoding.output_format())?)
        }
        Command::Discharge {
            caveat_key,
            caveat_id,
            location,
            caveats,
            format,
        } => {
            let mut m = Macaroon::mint(&caveat_key.root_key()?, location, caveat_id)?;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(*format)?)
        }
        Command::Bind { root, discharge } => {
            stdin_at_most_once([root.as_str(), discharge.as_str()])?;
            let root = parse_token(root)?.macaroon;
            let discharge = parse_token(discharge)?;
            Ok(discharge
                .macaroon
                .bind_to(&root)
                .serialize(discharge.encoding.output_format())?)
        }
        Command::Convert { format, token } => {
            Ok(parse_token(token)?.macaroon.serialize(*format)?)
        }
        Command::Completions { shell } => completions(*shell),
        Command::Man => man_page(),
        Command::Onedata { command } => run_onedata(command),
        #[cfg(feature = "server")]
        Command::Serve(args) => serve(args),
        #[cfg(feature = "server")]
        Command::Keys { command } => run_keys(command),
    }
}

/// The completion script for `shell`, from the command line's own definitions.
fn completions(shell: clap_complete::Shell) -> Result<String, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "macaroon-mint", &mut script);
    utf8_output(script, "the completion script")
}

/// The man page (roff), from the command line's own definitions.
fn man_page() -> Result<String, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Failure::Io(format!("rendering the man page: {e}")))?;
    utf8_output(page, "the man page")
}

fn utf8_output(bytes: Vec<u8>, what: &str) -> Result<String, Failure> {
    let mut text =
        String::from_utf8(bytes).map_err(|e| Failure::Io(format!("{what} is not UTF-8: {e}")))?;
    // `write_stdout` adds the final line feed.
    while text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}
