//! A throwaway `redis-server` on loopback for the fleet tests, stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` on 127.0.0.1.
pub struct RedisServer {
    child: Child,
    port: u16,
    binary: String,
    dir: Option<std::path::PathBuf>,
}

fn spawn(binary: &str, port: u16, dir: Option<&std::path::Path>) -> Child {
    let mut command = Command::new(binary);
    command.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]);
    match dir {
        Some(dir) => command
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir),
        None => command.args(["--appendonly", "no"]),
    };
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
}

fn find_binary() -> Option<String> {
    if let Ok(path) = std::env::var("REDIS_SERVER") {
        return Some(path);
    }
    let paths = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain([
            "/usr/bin".into(),
            "/usr/sbin".into(),
            "/usr/local/bin".into(),
        ])
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

impl RedisServer {
    /// Starts one on a free port; `None` (with a loud message) when no `redis-server` binary
    /// exists on this machine. `.ci/run` installs one, so CI never skips.
    pub fn start() -> Option<RedisServer> {
        Self::start_in(None)
    }

    /// Starts one that keeps its data in `dir` (an append-only file synced on every write), so
    /// that [`stop`](Self::stop) then [`restart`](Self::restart) keep what it acknowledged, as
    /// a production Redis restarting does.
    pub fn start_persistent(dir: &std::path::Path) -> Option<RedisServer> {
        Self::start_in(Some(dir.to_path_buf()))
    }

    fn start_in(dir: Option<std::path::PathBuf>) -> Option<RedisServer> {
        let Some(binary) = find_binary() else {
            if std::env::var_os("MINIAPP_REQUIRE_REDIS").is_some() {
                panic!("MINIAPP_REQUIRE_REDIS is set but no redis-server was found");
            }
            eprintln!("\n!!! SKIPPING REDIS TEST: no redis-server found (install the Debian package redis-server, or set REDIS_SERVER) !!!\n");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = spawn(&binary, port, dir.as_deref());
        let server = RedisServer {
            child,
            port,
            binary,
            dir,
        };
        server.wait_up();
        Some(server)
    }

    fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL): connections fail until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port (and, when persistent, the same data).
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, self.port, self.dir.as_deref());
        self.wait_up();
    }

    /// Whether `key` exists (a raw `EXISTS`, so tests can watch locks without a client).
    pub fn exists(&self, key: &str) -> bool {
        use std::io::{Read, Write};
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        let cmd = format!("*2\r\n$6\r\nEXISTS\r\n${}\r\n{key}\r\n", key.len());
        conn.write_all(cmd.as_bytes()).expect("write");
        let mut answer = [0u8; 4];
        conn.read_exact(&mut answer).expect("read");
        &answer == b":1\r\n"
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
