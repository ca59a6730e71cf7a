//! Caddy in front of replicas, as deployed: `caddy run` with the project's own
//! `deploy/Caddyfile`, its upstreams and port given through the environment the file reads.
//! Caddy is installed by `scripts/install-test-deps.sh cluster` when it is missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Installs Caddy (and PostgreSQL) with the project's script when `caddy` is not on the PATH.
pub fn ensure_caddy() {
    let present = Command::new("caddy")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return;
    }
    let status = Command::new("bash")
        .arg(root().join("scripts/install-test-deps.sh"))
        .arg("cluster")
        .status()
        .expect("bash runs the install script");
    assert!(
        status.success(),
        "scripts/install-test-deps.sh cluster failed"
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// A free port on 127.0.0.1 (free when asked; nothing holds it afterwards).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running Caddy; killed when dropped.
pub struct Caddy {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _home: tempfile::TempDir,
}

impl Caddy {
    /// Starts Caddy on 127.0.0.1:`port` in front of `upstreams` (host:port each), with
    /// `caddyfile`; returns once it serves its configuration.
    pub fn start_with(caddyfile: &Path, port: u16, upstreams: &[String]) -> Self {
        ensure_caddy();
        let home = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(caddyfile)
            .env("GLOSSA_UPSTREAMS", upstreams.join(" "))
            .env("GLOSSA_PROXY_PORT", port.to_string())
            .env("GLOSSA_PROXY_BIND", "127.0.0.1")
            .env("GLOSSA_CADDY_ADMIN", "off")
            // Caddy keeps its state under these; not in the home of whoever runs the tests.
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("caddy starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains("serving initial configuration") => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("Caddy did not start:\n{}", seen.join("\n"));
                }
            }
        }
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _home: home,
        }
    }

    /// Starts Caddy with the project's `deploy/Caddyfile`.
    pub fn start(port: u16, upstreams: &[String]) -> Self {
        Self::start_with(&root().join("deploy/Caddyfile"), port, upstreams)
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
