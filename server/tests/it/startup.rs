//! The `wayfarer` binary: bad configuration ends it with one actionable line, and signals stop
//! it cleanly.

use std::{
    net::TcpListener,
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

use crate::support::{Backend, TestDatabase, free_port, wait_until_healthy};

const BINARY: &str = env!("CARGO_BIN_EXE_wayfarer");

backend_tests!(sigterm_stops_the_server_gracefully);

#[test]
fn port_in_use_is_one_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let folder = tempfile::tempdir().expect("temp dir");
    let address = taken.local_addr().expect("address").to_string();

    let output = run_to_exit(
        wayfarer()
            .args(["--listen", &address])
            .arg("--database-url")
            .arg(sqlite_url_in(folder.path())),
    );

    let line = single_error_line(&output);
    assert!(line.contains(&address), "{line}");
    assert!(line.contains("address already in use"), "{line}");
    assert!(line.contains("--listen"), "{line}");
}

#[test]
fn a_split_role_on_sqlite_is_one_clear_line() {
    let folder = tempfile::tempdir().expect("temp dir");
    let output = run_to_exit(
        wayfarer()
            .args(["--listen", "127.0.0.1:0", "--role", "worker"])
            .arg("--database-url")
            .arg(sqlite_url_in(folder.path())),
    );
    let line = single_error_line(&output);
    assert!(line.contains("--role worker"), "{line}");
    assert!(line.contains("PostgreSQL"), "{line}");
}

#[test]
fn sqlite_file_in_a_missing_folder_is_one_clear_line() {
    let folder = tempfile::tempdir().expect("temp dir");
    let missing = folder.path().join("no-such-folder");

    let output = run_to_exit(
        wayfarer()
            .args(["--listen", "127.0.0.1:0"])
            .arg("--database-url")
            .arg(sqlite_url_in(&missing)),
    );

    let line = single_error_line(&output);
    assert!(line.contains("cannot open database"), "{line}");
    assert!(line.contains("no-such-folder"), "{line}");
    assert!(line.contains("folder exists"), "{line}");
}

#[test]
fn unreachable_postgres_is_one_clear_line_without_the_password() {
    let closed_port = free_port();
    let url = format!("postgres://wayfarer:hunter2@127.0.0.1:{closed_port}/wayfarer");

    let output = run_to_exit(wayfarer().args(["--listen", "127.0.0.1:0", "--database-url", &url]));

    let line = single_error_line(&output);
    assert!(line.contains("connection refused"), "{line}");
    assert!(line.contains("PostgreSQL is running"), "{line}");
    assert!(
        !line.contains("hunter2"),
        "the password is not printed: {line}"
    );
}

#[test]
fn unsupported_database_scheme_is_one_clear_line() {
    let output = run_to_exit(wayfarer().args([
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "mysql://root@127.0.0.1/wayfarer",
    ]));

    let line = single_error_line(&output);
    assert!(line.contains("unsupported scheme `mysql`"), "{line}");
    assert!(line.contains("sqlite://"), "{line}");
}

async fn sigterm_stops_the_server_gracefully(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let mut child = wayfarer()
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database.url()])
        .arg("--secret-key-file")
        .arg(database.secret_key_file())
        .args(["--log", "info,server=debug"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wayfarer");
    // Read stderr as it comes: a full pipe would block the server's logging, and a hang is
    // diagnosed by what it said last.
    let stderr = child.stderr.take().expect("piped stderr");
    let said = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());

    wait_until_healthy(port).await;

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    let stderr = said.join().expect("stderr reader");
    let Some(status) = status else {
        panic!("wayfarer did not exit within 10 s of SIGTERM; it said:\n{stderr}");
    };

    assert!(status.success(), "exit status {status}: {stderr}");
    assert!(stderr.contains("shutdown requested"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

fn wayfarer() -> Command {
    let mut command = Command::new(BINARY);
    // Only what the test passes configures the binary.
    for (name, _) in std::env::vars() {
        if name.starts_with("WAYFARER_") || name.starts_with("LEPTOS_") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

fn sqlite_url_in(folder: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", folder.join("wayfarer.db").display())
}

fn run_to_exit(command: &mut Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wayfarer");
    wait_with_deadline(&mut child, Duration::from_secs(30));
    child.wait_with_output().expect("collect output")
}

/// Waits for the child to exit, killing it (and failing) if it outlives `limit`.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> ExitStatus {
    wait_for_exit(child, limit).unwrap_or_else(|| panic!("wayfarer did not exit within {limit:?}"))
}

/// The child's exit status, or `None` (and the child killed) if it outlives `limit`.
fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_target_network_is_refused_with_the_reason() {
    let output = run_to_exit(wayfarer().args([
        "--listen",
        "127.0.0.1:0",
        "--allow-target-network",
        "10.0.0.0/8,10.0.0.0/33",
    ]));

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap's usage error: {stderr}"
    );
    assert!(
        stderr.contains("\"10.0.0.0/33\" is not a network: the prefix length must be 0 to 32"),
        "{stderr}"
    );
}

/// The process failed and said why in exactly one line, without a panic.
fn single_error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("wayfarer: "), "{stderr}");
    lines[0].to_owned()
}

/// The SQLite file holds contacts' data and webhook secrets: only its owner may read it.
#[tokio::test]
async fn a_new_sqlite_file_is_readable_by_its_owner_alone() {
    use std::os::unix::fs::PermissionsExt;

    let folder = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url_in(folder.path());
    let store = server::store::Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    for name in ["wayfarer.db", "wayfarer.db-wal", "wayfarer.db-shm"] {
        let path = folder.path().join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
    store.close().await;
}
