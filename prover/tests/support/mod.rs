//! What the prover fleet's tests (and the fleet bench) share: a throwaway PostgreSQL cluster started by the
//! project's script (`scripts/pg-cluster`), a database of its own for each test, and a
//! small city.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A PostgreSQL cluster of its own, stopped and deleted when dropped.
pub struct Cluster {
    dir: PathBuf,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-cluster")
}

impl Cluster {
    /// Starts one (a second or two). Fails the test, saying what to install, where the
    /// machine has no PostgreSQL server.
    pub fn start() -> Cluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        // Short: the server's socket lives in it (at most 107 bytes).
        let dir = std::env::temp_dir().join(format!(
            "city-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .output()
            .expect("bash runs scripts/pg-cluster");
        assert!(
            out.status.success(),
            "the prover fleet's tests and bench need a PostgreSQL server, started by scripts/pg-cluster; \
             it failed:\n{}\n(on Debian: apt-get install postgresql)",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Cluster { dir, url }
    }

    /// Runs `sql` as the superuser, connected to the `postgres` database.
    pub fn sql(&self, sql: &str) {
        let out = Command::new("psql")
            .arg(&self.url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("psql runs (it comes with the PostgreSQL server)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server, keeping its data: an outage.
    pub fn pause(&self) {
        self.script("pause");
    }

    /// Starts the server again after [`Cluster::pause`].
    pub fn resume(&self) {
        self.script("resume");
    }

    fn script(&self, command: &str) {
        let out = Command::new("bash")
            .arg(script())
            .arg(command)
            .arg(&self.dir)
            .output()
            .expect("bash runs scripts/pg-cluster");
        assert!(
            out.status.success(),
            "scripts/pg-cluster {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of database `name` in the cluster, made empty now.
    pub fn database(&self, name: &str) -> String {
        self.sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        self.sql(&format!("CREATE DATABASE \"{name}\""));
        self.url.replace("/postgres?", &format!("/{name}?"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// Parameters shared by the prover's tests.
pub fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("city-params")
}

/// A scratch directory of its own for `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("prover-fleet-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
