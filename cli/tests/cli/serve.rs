//! `macaroon-mint serve` and `macaroon-mint keys` end to end: the real binary on 127.0.0.1, a
//! plain HTTP/1.1 client over a TCP socket, as a newcomer following the README would use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{fails, inspect_json, ok, run};
use base64::Engine as _;
use serde_json::{json, Value};

struct Service {
    child: Child,
    address: String,
    /// What the service writes to stdout after its start-up lines.
    stdout: std::io::Lines<BufReader<ChildStdout>>,
    /// Its standard error (the logs) so far, read by a thread.
    stderr: Arc<Mutex<String>>,
}

impl Service {
    /// The standard error written so far.
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits (at most 30 s) for a clean exit; the whole standard error.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success(), "kill -TERM {pid}");
        let exit = (0..300)
            .find_map(|_| {
                std::thread::sleep(Duration::from_millis(100));
                self.child.try_wait().unwrap()
            })
            .unwrap_or_else(|| panic!("serve did not exit within 30 s of SIGTERM"));
        assert!(exit.success(), "{exit:?}");
        // The reader thread sees the end of the pipe once the process is gone.
        for _ in 0..50 {
            if self.stderr().ends_with('\n') || self.stderr().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.stderr()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, extra: &[&str]) -> (Service, Vec<String>) {
    start_with_env(data_dir, extra, &[])
}

fn start_with_env(
    data_dir: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Service, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_macaroon-mint"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("macaroon-mint serve starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let filling = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            filling
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no start-up line; stderr: {}", stderr.lock().unwrap()))
        .unwrap();
    let address = first
        .strip_prefix("macaroon-mint serve: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    let mut settings = vec![first];
    // The settings end with where they came from.
    for line in lines.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("  configuration:");
        settings.push(line);
        if last {
            break;
        }
    }
    let service = Service {
        child,
        address,
        stdout: lines,
        stderr,
    };
    (service, settings)
}

/// One request on a fresh connection; the status and the JSON body (Null when empty).
fn request(address: &str, method: &str, path: &str, auth: Option<(&str, &str)>) -> (u16, Value) {
    request_with(address, method, path, auth, &[], "")
}

fn request_with(
    address: &str,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((user, password)) = auth {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        head.push_str(&format!("Authorization: Basic {encoded}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, json)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("macaroon-mint-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn serve_mints_a_provider_registration_token_over_http() {
    let dir = temp_dir("serve");
    let data = dir.join("data");
    let (service, settings) = start(&data, &["--admin", "admin:s3cret", "--domain", "oz.test"]);
    let settings = settings.join("\n");
    assert!(
        settings.contains("admin:               admin (created)"),
        "{settings}"
    );
    assert!(
        settings.contains("registration policy: restricted"),
        "{settings}"
    );
    assert!(settings.contains("macaroon-mint.sqlite3"), "{settings}");
    assert!(
        !settings.contains("s3cret"),
        "the password is never printed: {settings}"
    );

    let (status, me) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/user",
        Some(("admin", "s3cret")),
    );
    assert_eq!(status, 200, "{me}");
    let id = me["userId"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/onezone/users/{id}/clusters/provider_registration_token");
    let (status, body) = request(&service.address, "POST", &path, Some(("admin", "s3cret")));
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body, json!({ "token": token }));
    let inspected = inspect_json(&token);
    assert_eq!(inspected["format"], json!("onedata"));
    assert_eq!(inspected["macaroon"]["l"], json!("oz.test"));
    let identifier = &inspected["onedata"]["identifier"];
    assert_eq!(identifier["invite"], json!("rop"), "{inspected}");
    assert_eq!(identifier["persistence"], json!("nmd"));
    assert_eq!(identifier["subject"], json!(format!("usr-{id}")));
    assert_eq!(identifier["target"], json!(id));

    let (status, body) = request(&service.address, "POST", &path, Some(("admin", "wrong")));
    assert_eq!(status, 401);
    assert_eq!(body["error"]["id"], json!("unauthorized"));
    let (status, body) = request(
        &service.address,
        "POST",
        "/api/v3/onezone/spaces/nope/providers/token",
        Some(("admin", "s3cret")),
    );
    assert_eq!(
        (status, body["error"]["id"].clone()),
        (404, json!("notFound"))
    );
    drop(service);

    // A second start keeps the data and the admin.
    let (service, settings) = start(&data, &["--admin", "admin:other"]);
    assert!(settings
        .join("\n")
        .contains("admin (already exists, unchanged)"));
    let (status, _) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/user",
        Some(("admin", "s3cret")),
    );
    assert_eq!(status, 200);
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 12, finding 6: the admin's password need not appear in the process list.
#[test]
fn serve_reads_the_admin_from_a_file_or_the_environment() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("admin-file");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("admin");
    std::fs::write(&file, "fileadmin:file-pw\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file_arg = file.to_str().unwrap();
    let o = run(&["serve", "--admin-file", file_arg]);
    let stderr = fails(&o, 2);
    assert!(
        stderr.contains("is readable by group or others (mode 644)")
            && stderr.contains(&format!("chmod 600 {file_arg}")),
        "{stderr}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (service, settings) = start(&dir.join("data1"), &["--admin-file", file_arg]);
    assert!(
        settings
            .iter()
            .any(|l| l.contains("admin:               fileadmin (created)")),
        "{settings:?}"
    );
    assert_eq!(
        request(
            &service.address,
            "GET",
            "/api/v3/onezone/user",
            Some(("fileadmin", "file-pw"))
        )
        .0,
        200
    );
    drop(service);
    let (service, settings) = start_with_env(
        &dir.join("data2"),
        &[],
        &[("MACAROON_MINT_ADMIN", "envadmin:env-pw")],
    );
    assert!(
        settings.iter().any(|l| l.contains("envadmin (created)")),
        "{settings:?}"
    );
    assert_eq!(
        request(
            &service.address,
            "GET",
            "/api/v3/onezone/user",
            Some(("envadmin", "env-pw"))
        )
        .0,
        200
    );
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_bad_settings() {
    let o = run(&["serve", "--admin", "no-colon"]);
    assert!(fails(&o, 2).contains("--admin must be USER:PASSWORD"));
    // A valid --admin is accepted with a warning (here the next setting fails).
    let o = Command::new(env!("CARGO_BIN_EXE_macaroon-mint"))
        .args(["serve", "--admin", "a:b", "--max-connections", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("WARN")
            && stderr.contains("--admin shows the password to every local user")
            && stderr.contains("--max-connections and --max-connections-per-ip must be at least 1"),
        "{stderr}"
    );
    let o = run(&["serve", "--admin", "a:b", "--admin-file", "/nonexistent"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = run(&["serve", "--registration-policy", "sometimes"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("unknown registration policy"),
        "{}",
        o.stderr
    );
    let o = run(&["serve", "--temporary-max-ttl", "0"]);
    assert!(fails(&o, 2).contains("--temporary-max-ttl"));
    for window in ["0", "-1", "NaN", "inf", "3601"] {
        let o = run(&["serve", &format!("--cache-trust-window={window}")]);
        assert!(
            fails(&o, 2).contains("--cache-trust-window"),
            "{window}: {}",
            o.stderr
        );
    }
}

#[test]
fn keys_rotate_list_and_retire() {
    let dir = temp_dir("keys");
    let data = dir.join("data");
    let data_arg = data.to_str().unwrap();
    assert_eq!(
        ok(&["keys", "list", "--data-dir", data_arg]),
        "no root keys yet (the service creates the first on start)"
    );
    let (service, _) = start(&data, &["--admin", "admin:pw"]);
    let (status, body) = request_with(
        &service.address,
        "POST",
        "/api/v3/onezone/user/tokens/named",
        Some(("admin", "pw")),
        &[("Content-Type", "application/json")],
        r#"{"name": "ops"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let who = |address: &str| {
        request_with(
            address,
            "GET",
            "/api/v3/onezone/user",
            None,
            &[("X-Auth-Token", &token)],
            "",
        )
    };
    assert_eq!(who(&service.address).0, 200);
    drop(service);
    let listed = ok(&["keys", "list", "--data-dir", data_arg]);
    assert!(listed.starts_with("1\tcreated "), "{listed}");
    assert!(listed.ends_with("\tcurrent"), "{listed}");
    assert!(ok(&["keys", "rotate", "--data-dir", data_arg])
        .starts_with("root key 2 created and current"));
    let listed = ok(&["keys", "list", "--data-dir", data_arg]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].ends_with("active (verifies older tokens)"),
        "{listed}"
    );
    assert!(lines[1].ends_with("current"), "{listed}");
    // Key material is never shown: the lines hold an id, a time and a state.
    for line in &lines {
        assert_eq!(line.split('\t').count(), 3, "{line}");
    }

    // The token minted under key 1 still verifies after the rotation…
    let (service, _) = start(&data, &[]);
    assert_eq!(who(&service.address).0, 200);
    drop(service);
    assert!(ok(&["keys", "retire", "--data-dir", data_arg, "1"]).starts_with("root key 1 retired"));
    // …and no longer once key 1 is retired.
    let (service, _) = start(&data, &[]);
    let (status, body) = who(&service.address);
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["details"]["authError"]["id"],
        json!("tokenInvalid")
    );
    drop(service);
    let o = run(&["keys", "retire", "--data-dir", data_arg, "1"]);
    assert!(fails(&o, 2).contains("already retired"));
    let o = run(&["keys", "retire", "--data-dir", data_arg, "2"]);
    assert!(fails(&o, 2).contains("only active key"));
    let o = run(&["keys", "retire", "--data-dir", data_arg, "9"]);
    assert!(fails(&o, 2).contains("no root key 9"));
    let listed = ok(&["keys", "list", "--data-dir", data_arg]);
    assert!(
        listed.lines().next().unwrap().contains("retired at "),
        "{listed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve` and `keys` on PostgreSQL, when the test database is configured (as in `.ci/run`).
#[test]
fn serve_and_keys_on_postgres() {
    let url = match std::env::var("MACAROON_MINT_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var("MACAROON_MINT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "MACAROON_MINT_REQUIRE_POSTGRES=1 but MACAROON_MINT_TEST_DATABASE_URL is not set"
            );
            eprintln!(
                "serve_and_keys_on_postgres: skipped: MACAROON_MINT_TEST_DATABASE_URL not set"
            );
            return;
        }
    };
    let dir = temp_dir("pg");
    let (service, settings) = start(&dir, &["--database-url", &url, "--admin", "pgadmin:pw"]);
    let settings = settings.join("\n");
    assert!(
        settings.contains("storage:             PostgreSQL postgres://"),
        "{settings}"
    );
    assert!(
        settings.contains(":***@"),
        "the password is redacted: {settings}"
    );
    assert!(!dir.exists(), "no SQLite directory is made");
    let (status, me) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/user",
        Some(("pgadmin", "pw")),
    );
    assert_eq!(status, 200, "{me}");
    let id = me["userId"].as_str().unwrap();
    let path = format!("/api/v3/onezone/users/{id}/clusters/provider_registration_token");
    let (status, body) = request(&service.address, "POST", &path, Some(("pgadmin", "pw")));
    assert_eq!(status, 200, "{body}");
    drop(service);
    let listed = ok(&["keys", "list", "--database-url", &url]);
    assert!(listed.lines().any(|l| l.ends_with("\tcurrent")), "{listed}");
    assert!(!listed.contains(&url), "{listed}");
}

fn file_mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `keys generate-master-key`, then `serve` and `keys` with it: root keys are sealed in the
/// database, and a wrong or missing master key is a clear error.
#[test]
fn keys_sealed_under_a_master_key() {
    use macaroon_mint_server::store::{KeyProtection, MasterKey};
    use macaroon_mint_server::{SqliteStore, Store};

    let dir = temp_dir("sealed");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let data_arg = data.to_str().unwrap();
    let key_file = dir.join("master.key");
    let key_arg = key_file.to_str().unwrap();

    let written = ok(&["keys", "generate-master-key", "--out", key_arg]);
    assert!(written.contains("(mode 0600)"), "{written}");
    assert_eq!(file_mode(&key_file), 0o600);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(text.len(), 65, "64 hex characters and a newline");
    assert!(text.trim_end().bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!written.contains(text.trim_end()), "the key is not printed");
    // Never overwritten.
    let o = run(&["keys", "generate-master-key", "--out", key_arg]);
    assert!(fails(&o, 2).contains("not overwritten"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), text);

    let (service, _) = start(
        &data,
        &["--master-key-file", key_arg, "--admin", "admin:pw"],
    );
    let (status, body) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/user",
        Some(("admin", "pw")),
    );
    assert_eq!(status, 200, "{body}");
    drop(service);

    // No database file holds the root key's plaintext hex (the sealed text is there instead).
    let master = MasterKey::from_file(&key_file).unwrap();
    let store = SqliteStore::open(&data, KeyProtection::Sealed(master)).unwrap();
    let material = hex::encode(&*store.root_keys().unwrap()[0].material);
    drop(store);
    let mut seen_sealed = false;
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&material), "plaintext root key at rest");
        seen_sealed |= text.contains("v1:");
    }
    assert!(seen_sealed, "the sealed form is stored");

    // `keys` with the key file, or with the key in the environment.
    let listed = ok(&[
        "keys",
        "list",
        "--data-dir",
        data_arg,
        "--master-key-file",
        key_arg,
    ]);
    assert!(listed.ends_with("\tcurrent"), "{listed}");
    let mut c = crate::common::cmd();
    c.args(["keys", "rotate", "--data-dir", data_arg])
        .env("MACAROON_MINT_MASTER_KEY", text.trim_end());
    let rotated = crate::common::check_ok(crate::common::run_cmd(c), &["keys", "rotate"]);
    assert!(rotated.starts_with("root key 2 created"), "{rotated}");

    // Without the master key, or with another one: a clear error, for `keys` and `serve`.
    let o = run(&["keys", "list", "--data-dir", data_arg]);
    let message = fails(&o, 2);
    assert!(
        message.contains("root key 1 is sealed: wrong or missing master key"),
        "{message}"
    );
    let wrong = dir.join("wrong.key");
    ok(&[
        "keys",
        "generate-master-key",
        "--out",
        wrong.to_str().unwrap(),
    ]);
    let o = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_arg,
        "--master-key-file",
        wrong.to_str().unwrap(),
    ]);
    let message = fails(&o, 2);
    assert!(
        message.contains("root key 1 is sealed: wrong or missing master key"),
        "{message}"
    );
    assert!(!message.contains(&material), "{message}");
    // A bad key in the environment, a shared key file: refused before anything is opened.
    let mut c = crate::common::cmd();
    c.args(["keys", "list", "--data-dir", data_arg])
        .env("MACAROON_MINT_MASTER_KEY", "not hex");
    let o = crate::common::run_cmd(c);
    assert!(fails(&o, 2).contains("MACAROON_MINT_MASTER_KEY: a master key must be 64 hex"));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let o = run(&[
        "keys",
        "list",
        "--data-dir",
        data_arg,
        "--master-key-file",
        key_arg,
    ]);
    let message = fails(&o, 2);
    assert!(message.contains("chmod 600"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without a master key `serve` warns once that root keys are stored unencrypted; a data
/// directory other users can enter is refused, with the fix.
#[test]
fn serve_warns_without_a_master_key_and_refuses_a_shared_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = crate::common::cmd();
    c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env_remove("MACAROON_MINT_MASTER_KEY");
    let o = crate::common::run_cmd(c);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stderr);
    assert!(
        lines[0].contains("WARN") && lines[0].contains("root keys are stored unencrypted"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(&format!("chmod 700 {}", dir.display())),
        "{}",
        lines[1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM stops the service gracefully: new connections are refused at once, the request in
/// flight (its body still arriving when the signal comes) is answered in full, and the process
/// closes its store and exits 0 saying it stopped.
#[cfg(unix)]
#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_cleanly() {
    let dir = temp_dir("sigterm");
    let (mut service, _) = start(&dir.join("data"), &["--admin", "admin:s3cret"]);
    let address = service.address.clone();

    let body = r#"{"username":"late","password":"pw-late-1"}"#;
    let (sent, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let credentials = base64::engine::general_purpose::STANDARD.encode("admin:s3cret");
    let head = format!(
        "POST /api/v3/onezone/users HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Authorization: Basic {credentials}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{sent}",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The request is being handled (credentials are checked before the body is read).
    std::thread::sleep(Duration::from_millis(500));

    let pid = service.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -TERM {pid}");
    // The listener closes at once: a new connection is refused (bounded wait).
    let refused = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        TcpStream::connect(&address).is_err()
    });
    assert!(refused, "new connections are still accepted after SIGTERM");

    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight is answered: {response}"
    );

    let exit = (0..300)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            service.child.try_wait().unwrap()
        })
        .unwrap_or_else(|| panic!("serve did not exit within 30 s of SIGTERM"));
    assert!(exit.success(), "serve exits 0 after SIGTERM: {exit:?}");
    let rest_of_stdout: Vec<String> = service.stdout.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        rest_of_stdout.last().map(String::as_str),
        Some("macaroon-mint serve: stopped"),
        "{rest_of_stdout:?}"
    );
    drop(service);

    // The store was closed cleanly: the user created during the drain is there on restart.
    let (service, _) = start(&dir.join("data"), &[]);
    assert_eq!(
        request(
            &service.address,
            "GET",
            "/api/v3/onezone/user",
            Some(("late", "pw-late-1"))
        )
        .0,
        200
    );
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Liveness, readiness and the public configuration, as an operator's probes and a Oneprovider
/// read them.
#[test]
fn health_readiness_and_configuration_are_public() {
    let dir = temp_dir("probes");
    let (service, settings) = start(
        &dir.join("data"),
        &["--domain", "zone.example", "--zone-name", "Example zone"],
    );
    assert!(
        settings
            .join("\n")
            .contains("domain:              zone.example (zone name: Example zone)"),
        "{settings:?}"
    );
    assert_eq!(
        request(&service.address, "GET", "/health", None),
        (200, json!({ "status": "ok" }))
    );
    assert_eq!(
        request(&service.address, "GET", "/ready", None),
        (200, json!({ "status": "ready" }))
    );
    let (status, configuration) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/configuration",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(configuration["name"], "Example zone");
    assert_eq!(configuration["domain"], "zone.example");
    assert_eq!(configuration["version"], env!("CARGO_PKG_VERSION"));
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 17: the logs of a real run, as an operator reads them (`--log-format json`): start-up,
/// one line per request with its id, route template, status, caller and refusal, shutdown; no
/// password or token anywhere on standard error; `/metrics` counts the same requests.
#[test]
fn logs_follow_each_request_without_secrets() {
    let dir = temp_dir("logs");
    let (service, settings) = start_with_env(
        &dir.join("data"),
        &["--log-format", "json"],
        &[
            ("MACAROON_MINT_ADMIN", "admin:admin-pw-secret-1"),
            ("RUST_LOG", "debug"),
        ],
    );
    assert!(
        settings
            .join("\n")
            .contains("logs:                json lines on standard error, RUST_LOG=debug"),
        "{settings:?}"
    );
    let address = service.address.clone();
    let traced = |id: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        let mut all = vec![("X-Request-Id", id), ("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        request_with(&address, method, path, None, &all, body)
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:admin-pw-secret-1")
    );
    let (status, me) = traced(
        "me",
        "GET",
        "/api/v3/onezone/user",
        &[("Authorization", &basic)],
        "",
    );
    assert_eq!(status, 200, "{me}");
    let admin_id = me["userId"].as_str().unwrap().to_owned();
    let (status, minted) = traced(
        "mint",
        "POST",
        "/api/v3/onezone/user/tokens/named",
        &[("Authorization", &basic)],
        r#"{"name": "logged"}"#,
    );
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();
    let (status, _) = traced(
        "by-token",
        "GET",
        "/api/v3/onezone/user",
        &[("X-Auth-Token", &token)],
        "",
    );
    assert_eq!(status, 200);
    let (status, _) = traced(
        "bad-token",
        "GET",
        "/api/v3/onezone/user",
        &[("X-Auth-Token", "MDAxbroken")],
        "",
    );
    assert_eq!(status, 401);
    let metrics = {
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    };
    for expected in [
        r#"macaroon_mint_http_requests_total{method="GET",route="/api/v3/onezone/user",status="200"} 2"#,
        r#"macaroon_mint_tokens_minted_total{persistence="named",type="access"} 1"#,
        r#"macaroon_mint_token_refusals_total{reason="badToken"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == expected),
            "{expected} not in {metrics}"
        );
    }

    let stderr = service.terminate();
    for secret in [
        "admin-pw-secret-1",
        &token,
        basic.trim_start_matches("Basic "),
    ] {
        assert!(!stderr.contains(secret), "{secret} logged:\n{stderr}");
    }
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request = |id: &str| {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "request" && l["client_request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "{id}: {stderr}");
        found[0].clone()
    };
    let caller = format!("user:{admin_id}");
    for (id, route, status, who, auth_error) in [
        ("me", "/api/v3/onezone/user", 200, caller.as_str(), None),
        (
            "mint",
            "/api/v3/onezone/user/tokens/named",
            201,
            caller.as_str(),
            None,
        ),
        (
            "by-token",
            "/api/v3/onezone/user",
            200,
            caller.as_str(),
            None,
        ),
        (
            "bad-token",
            "/api/v3/onezone/user",
            401,
            "anonymous",
            Some("badToken"),
        ),
    ] {
        let line = request(id);
        assert_eq!(
            (
                &line["route"],
                &line["status"],
                &line["caller"],
                line["auth_error"].as_str()
            ),
            (&json!(route), &json!(status), &json!(who), auth_error),
            "{id}: {line}"
        );
        assert!(
            line["timestamp"].is_string() && line["latency_ms"].is_number(),
            "{line}"
        );
    }
    // Start-up, the first key, the admin, shutdown: in this order.
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    let position = |message: &str| {
        messages
            .iter()
            .position(|m| m.starts_with(message))
            .unwrap_or_else(|| panic!("no {message:?} in {messages:?}"))
    };
    assert!(position("created the first root key") < position("serving on http://"));
    assert!(position("created the admin account") < position("serving on http://"));
    assert!(position("serving on http://") < position("request"));
    assert!(position("shutdown requested") < position("stopped"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_private(path: &std::path::Path, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Issue 17: settings from `--config FILE` (TOML, the flags' names as keys), below flags and
/// environment variables, and where each came from printed at start-up; `keys` reads the same
/// file. A file that cannot be used is refused with the reason and place.
#[test]
fn a_config_file_sets_what_flags_and_environment_leave() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("config");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let file = dir.join("macaroon-mint.toml");
    std::fs::write(
        &file,
        format!(
            "# macaroon-mint serve settings\n\
             data-dir = {data:?}\n\
             domain = \"file.example\"\n\
             zone-name = \"From the file\"\n\
             registration-policy = \"open\"\n\
             max-connections = 77\n\
             cache-trust-window = 2\n"
        ),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    let (service, settings) = start_with_env(
        // --data-dir as the file says (start() always passes one).
        &data,
        &["--config", file_arg, "--zone-name", "From a flag"],
        &[("MACAROON_MINT_ADMIN", "admin:pw-config-1")],
    );
    let settings = settings.join("\n");
    for expected in [
        "domain:              file.example (zone name: From a flag)",
        "registration policy: open",
        "limits:              77 connections",
        "cache:               100000 entries, trusted 2 s past the change feed (read every 0.5 s)",
        &format!(
            "configuration:       flags: listen, data-dir, zone-name; environment: admin; \
             file {file_arg}: registration-policy, domain, max-connections, \
             cache-trust-window; the rest defaults (flags > environment > file > defaults)"
        ),
    ] {
        assert!(
            settings.contains(expected),
            "{expected:?} not in\n{settings}"
        );
    }
    assert!(!settings.contains("pw-config-1"), "{settings}");
    let (status, configuration) = request(
        &service.address,
        "GET",
        "/api/v3/onezone/configuration",
        None,
    );
    assert_eq!(
        (status, &configuration["domain"], &configuration["name"]),
        (200, &json!("file.example"), &json!("From a flag"))
    );
    drop(service);
    // `keys` finds the database through the same file.
    let listed = ok(&["keys", "list", "--config", file_arg]);
    assert!(listed.starts_with("1\tcreated "), "{listed}");

    // The store is one choice: a file naming PostgreSQL (unreachable here) does not override
    // `--data-dir` given as a flag, and the file's data directory does not override
    // MACAROON_MINT_DATABASE_URL.
    let elsewhere = write_private(
        &dir.join("elsewhere.toml"),
        "database-url = \"postgres://mint:pw-config-2@127.0.0.1:1/mint\"\n",
    );
    let mut c = crate::common::cmd();
    c.args(["keys", "list", "--config", &elsewhere, "--data-dir"])
        .arg(&data)
        .env_remove("MACAROON_MINT_DATABASE_URL");
    let listed = crate::common::check_ok(crate::common::run_cmd(c), &["keys", "list"]);
    assert!(listed.starts_with("1\tcreated "), "{listed}");
    let mut c = crate::common::cmd();
    c.args(["keys", "list", "--config", file_arg]).env(
        "MACAROON_MINT_DATABASE_URL",
        "postgres://mint@127.0.0.1:1/mint",
    );
    let o = crate::common::run_cmd(c);
    assert!(
        o.code != 0 && o.stderr.contains("127.0.0.1:1"),
        "the environment's database must be used: {} {}",
        o.code,
        o.stderr
    );

    // Files that cannot be used: each refused (exit 2) with what and where.
    let write = |name: &str, text: &str, mode: u32| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let rows = [
        ("typo", write("typo.toml", "domian = \"x\"\n", 0o600), "unknown field `domian`, expected one of"),
        ("type", write("type.toml", "domain = \"x\"\nmax-connections = \"many\"\n", 0o600), "line 2, column 19: invalid type: string \"many\", expected usize"),
        ("syntax", write("syntax.toml", "domain = \n", 0o600), "line 1, column"),
        ("policy", write("policy.toml", "registration-policy = \"anyone\"\n", 0o600), "registration-policy: unknown registration policy \"anyone\""),
        ("shared password", write("shared.toml", "database-url = \"postgres://u:hunter2@127.0.0.1:1/x\"\n", 0o644), "holds a database password and is readable by group or others (mode 644); run chmod 600"),
        ("missing", dir.join("absent.toml").to_str().unwrap().to_owned(), "absent.toml: No such file or directory"),
    ];
    for (row, path, message) in rows {
        let o = run(&["serve", "--listen", "127.0.0.1:0", "--config", &path]);
        let stderr = crate::common::row_fails(row, &o, 2);
        assert!(
            stderr.contains(&format!("--config {path}")) && stderr.contains(message),
            "{row}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{row}: {stderr}");
    }
    // A RUST_LOG that does not parse is refused, not ignored.
    let mut c = crate::common::cmd();
    c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("RUST_LOG", "info,=[");
    let o = crate::common::run_cmd(c);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("RUST_LOG=\"info,=[\""), "{}", o.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
