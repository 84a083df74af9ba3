//! A throwaway PostgreSQL cluster from Debian's server binaries: created in a temporary folder,
//! listening on a free loopback port, stopped and deleted on drop.

use std::{os::unix::fs::MetadataExt, path::PathBuf, process::Command};

use tempfile::TempDir;

use super::free_port;

pub struct PostgresCluster {
    folder: TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl PostgresCluster {
    pub fn start() -> Self {
        let cluster = Self::initialised();
        cluster.resume();
        cluster
    }

    /// A cluster that also accepts TLS, with a server certificate for `127.0.0.1` and
    /// `localhost` signed by a test CA; returns the CA certificate's path too.
    pub fn start_with_tls() -> (Self, PathBuf) {
        let cluster = Self::initialised();
        let data = cluster.data_dir();
        let ca = cluster.folder.path().join("ca.crt");
        let extensions = cluster.folder.path().join("server.ext");
        std::fs::write(
            &extensions,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write the certificate's extensions");
        let openssl = |arguments: &[&str]| {
            run(Command::new("openssl")
                .args(arguments)
                .current_dir(cluster.folder.path()))
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=wayfarer-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "data/server.key",
            "-out",
            "server.csr",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "data/server.crt",
        ]);
        if cluster.as_root {
            run(Command::new("chown")
                .arg("postgres:")
                .arg(data.join("server.key"))
                .arg(data.join("server.crt")));
        }
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")));
        let mut settings = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        std::io::Write::write_all(
            &mut settings,
            b"ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        )
        .expect("turn TLS on");
        cluster.resume();
        (cluster, ca)
    }

    fn initialised() -> Self {
        let bin = server_binaries().expect(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install Debian's \
             `postgresql` package (.ci/install-tools does) or set WAYFARER_TEST_POSTGRES_URL",
        );
        let folder = tempfile::Builder::new()
            .prefix("wayfarer-pg-")
            .tempdir()
            .expect("create a folder for the cluster");
        // PostgreSQL refuses to run as root, so as root the cluster belongs to `postgres`.
        let as_root = std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0);
        let cluster = Self {
            folder,
            bin,
            port: free_port(),
            as_root,
        };
        if as_root {
            run(Command::new("chown")
                .arg("postgres:")
                .arg(cluster.folder.path()));
        }
        run(cluster
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .arg("--pgdata")
            .arg(cluster.data_dir()));
        cluster
    }

    /// Starts the server of a cluster that [`PostgresCluster::stop`] stopped.
    pub fn resume(&self) {
        let server_options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.folder.path().display()
        );
        run(self
            .command("pg_ctl")
            .arg("start")
            .arg("--wait")
            .arg("--pgdata")
            .arg(self.data_dir())
            .arg("--log")
            .arg(self.folder.path().join("server.log"))
            .arg("-o")
            .arg(server_options));
    }

    /// The URL of `database` on this cluster, as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server at once (as a crash would) while keeping its files.
    pub fn stop(&self) {
        run(&mut self.pg_ctl_stop());
    }

    fn data_dir(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn pg_ctl_stop(&self) -> Command {
        let mut command = self.command("pg_ctl");
        command
            .args(["stop", "--mode=immediate", "--pgdata"])
            .arg(self.data_dir());
        command
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        // Already stopped is fine; the folder goes with `TempDir`.
        let _ = self.pg_ctl_stop().output();
    }
}

fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
