//! `keys …`: the service's root keys.

use std::io::Write;

use clap::Subcommand;
use macaroon_mint_server::store::{MasterKey, Retirement};

use crate::cmd::serve::{store_message, StorageArgs};
use crate::input::system_now;
use crate::report::{input_error, Failure};

/// Writes a fresh master key to `out` (64 hex characters and a newline, mode 0600), refusing
/// to overwrite an existing file.
pub(crate) fn generate_master_key(out: &std::path::Path) -> Result<String, Failure> {
    let key = MasterKey::generate()
        .map_err(|e| Failure::Io(format!("keys generate-master-key: {}", store_message(&e))))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let shown = out.display();
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            input_error(format!(
                "keys generate-master-key: {shown} exists; it is not overwritten"
            ))
        } else {
            Failure::Io(format!("keys generate-master-key: creating {shown}: {e}"))
        }
    })?;
    let mut text = key.to_hex();
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Io(format!("keys generate-master-key: writing {shown}: {e}")))?;
    Ok(format!(
        "master key written to {shown} (mode 0600): pass it as --master-key-file to `serve` and \
         `keys`; keep a copy, root keys sealed under it cannot be read without it"
    ))
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List the root keys (id, created, retired; never the material).
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Create a new root key; new tokens are minted under it, old ones keep verifying.
    Rotate {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Retire a root key: every token minted under it stops verifying.
    Retire {
        #[command(flatten)]
        storage: StorageArgs,
        /// The key id (see `keys list`).
        id: i64,
    },
    /// Write a new random master key (64 hex characters, mode 0600) for --master-key-file.
    GenerateMasterKey {
        /// The file to create (an existing file is not overwritten).
        #[arg(long, value_name = "PATH")]
        out: std::path::PathBuf,
    },
}

pub(crate) fn run_keys(command: &KeysCommand) -> Result<String, Failure> {
    let storage = match command {
        KeysCommand::List { storage }
        | KeysCommand::Rotate { storage }
        | KeysCommand::Retire { storage, .. } => storage,
        KeysCommand::GenerateMasterKey { out } => return generate_master_key(out),
    };
    let store = storage
        .config()?
        .open_store()
        .map_err(|e| Failure::Io(format!("keys: {e}")))?;
    let failed = |e: macaroon_mint_server::StoreError| Failure::Io(format!("keys: {e}"));
    let now = system_now();
    match command {
        KeysCommand::List { .. } => {
            let keys = store.root_keys().map_err(failed)?;
            let current = macaroon_mint_server::store::current_root_key(&*store)
                .map_err(failed)?
                .map(|k| k.id);
            if keys.is_empty() {
                return Ok("no root keys yet (the service creates the first on start)".to_owned());
            }
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let state = match (k.retired, Some(k.id) == current) {
                        (Some(at), _) => format!("retired at {at}"),
                        (None, true) => "current".to_owned(),
                        (None, false) => "active (verifies older tokens)".to_owned(),
                    };
                    format!("{}\tcreated {}\t{state}", k.id, k.created)
                })
                .collect();
            Ok(lines.join("\n"))
        }
        KeysCommand::Rotate { .. } => {
            let material = macaroon_mint_server::store::random_bytes(32).map_err(failed)?;
            let key = store.insert_root_key(&material, now).map_err(failed)?;
            Ok(format!(
                "root key {} created and current; older keys keep verifying their tokens until retired",
                key.id
            ))
        }
        // Handled above, before opening a store.
        KeysCommand::GenerateMasterKey { out } => generate_master_key(out),
        KeysCommand::Retire { id, .. } => match store.retire_root_key(*id, now).map_err(failed)? {
            // The store decides, atomically: no second check here that could race with it.
            Retirement::Retired => Ok(format!(
                "root key {id} retired: tokens minted under it no longer verify"
            )),
            Retirement::Unknown => Err(input_error(format!("keys retire: no root key {id}"))),
            Retirement::AlreadyRetired => Err(input_error(format!(
                "keys retire: root key {id} is already retired"
            ))),
            Retirement::LastActive => Err(input_error(format!(
                "keys retire: root key {id} is the only active key; run `keys rotate` first"
            ))),
        },
    }
}
