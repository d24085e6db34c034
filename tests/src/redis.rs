//! A throwaway `redis-server` on loopback for the fleet tests, stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` on 127.0.0.1.
pub struct RedisServer {
    child: Child,
    port: u16,
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
        let child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
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
