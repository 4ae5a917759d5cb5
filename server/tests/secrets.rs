//! Secrets never leave the service: not in `Debug`, not in start-up settings, not in a 500,
//! not in the logs.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use macaroon_mint_server::store::{KeyProtection, NamedToken, RootKeyRecord, User};
use macaroon_mint_server::{Config, Server, SqliteStore, Store, StoreError};
use serde_json::json;

const LEAK: &str =
    "connecting to \"postgres://mint:hunter2@db/x?sslmode=off\": password=hunter2 refused";

/// A store whose token writes fail with an error text full of secrets.
struct Failing(SqliteStore);

/// One method of [`Store`] for [`Failing`] (of `for_each_store_method!`): the SQLite store's,
/// but for the failing ones, written out below. The feed's are left to the trait's defaults (no
/// feed, so no cache), as is the default over `update_named_token`.
macro_rules! passed {
    (feed $($_signature:tt)*) => {};
    (provided $($_signature:tt)*) => {};
    (write fn insert_named_token $($_signature:tt)*) => {};
    (read fn ping $($_signature:tt)*) => {};
    ($kind:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.0.$name($($arg),*)
        }
    };
}

impl Store for Failing {
    fn insert_named_token(&self, _: &NamedToken, _: Option<u64>) -> Result<(), StoreError> {
        Err(StoreError::Backend(LEAK.to_owned()))
    }
    fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Backend(LEAK.to_owned()))
    }

    macaroon_mint_server::for_each_store_method!(passed);
}

#[test]
fn a_storage_failure_is_a_bare_500() {
    common::logs::capture();
    let dir = std::env::temp_dir().join(format!("macaroon-mint-secrets-{}", std::process::id()));
    let store: Arc<dyn Store> = Arc::new(Failing(
        SqliteStore::open(&dir, KeyProtection::Plain).unwrap(),
    ));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        admin: Some(("admin".into(), "pw".into())),
        ..Config::new()
    };
    let server = runtime
        .block_on(Server::bind_with_store(
            "127.0.0.1:0".parse().unwrap(),
            config,
            store,
        ))
        .unwrap();
    let addr = server.local_addr().unwrap();
    runtime.spawn(server.run());
    let url = format!("http://{addr}/api/v3/onezone/user/tokens/named");
    let response = ureq::post(&url)
        .set("Authorization", "Basic YWRtaW46cHc=") // admin:pw
        .send_json(json!({ "name": "token n" }));
    let Err(ureq::Error::Status(500, response)) = response else {
        panic!("expected a 500, got {response:?}");
    };
    let body: serde_json::Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "error": {
            "id": "internalServerError",
            "description": "The server has encountered an error while processing this request.",
        }})
    );
    // Readiness reports the failing store as unavailable, and says nothing of why.
    let response = ureq::get(&format!("http://{addr}/ready")).call();
    let Err(ureq::Error::Status(503, response)) = response else {
        panic!("expected a 503, got {response:?}");
    };
    let body = response.into_string().unwrap();
    assert!(
        !body.contains("hunter2") && !body.contains("connecting"),
        "{body}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["id"], "serviceUnavailable", "{body}");
    // Liveness does not consult the store.
    let response = ureq::get(&format!("http://{addr}/health")).call().unwrap();
    assert_eq!(response.status(), 200);
    runtime.shutdown_background();

    // The operator's log has the causes, with the URL's password redacted; the 500 is an
    // error-level request line naming no cause.
    let lines = common::logs::lines();
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().all(|line| !line.contains("hunter2")),
        "{text:#?}"
    );
    let failed_write = lines.iter().find(|l| {
        l["message"] == "store operation failed" && l["operation"] == "insert_named_token"
    });
    assert!(
        failed_write.is_some_and(|l| l["level"] == "ERROR"
            && l["error"] == "connecting to \"postgres://mint:***@db/x\": password=*** refused"),
        "{text:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "not ready: the store does not answer"
                && l["level"] == "WARN"
                && l["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains("mint:***@db"))),
        "{text:#?}"
    );
    let request = lines
        .iter()
        .find(|l| l["message"] == "request" && l["route"] == "/api/v3/onezone/user/tokens/named");
    assert!(
        request.is_some_and(|l| l["level"] == "ERROR"
            && l["status"] == 500
            && l["error"] == "internalServerError"
            && l.get("cause").is_none()),
        "{text:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_and_settings_redact_secrets() {
    let key = RootKeyRecord {
        id: 3,
        material: zeroize::Zeroizing::new(vec![0xab; 32]),
        created: 1,
        retired: None,
    };
    let shown = format!("{key:?}");
    assert!(
        shown.contains("<redacted>") && !shown.contains("ab, ") && !shown.contains("171"),
        "{shown}"
    );
    let user = User {
        id: "0".repeat(32),
        username: "alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$secret-hash".into(),
        oz_privileges: BTreeSet::new(),
        created: 1,
        full_name: String::new(),
    };
    let shown = format!("{user:?}");
    assert!(
        shown.contains("<redacted>") && shown.contains("alice") && !shown.contains("secret-hash"),
        "{shown}"
    );

    let config = Config {
        admin: Some(("admin".into(), "admin-password".into())),
        database_url: Some("postgres://mint:hunter2@127.0.0.1:5432/oz?password=hunter2".into()),
        ..Config::new()
    };
    for text in [format!("{config:?}"), config.storage_description()] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("admin-password"), "{text}");
    }
    assert_eq!(
        config.storage_description(),
        "PostgreSQL postgres://mint:***@127.0.0.1:5432/oz"
    );
}
