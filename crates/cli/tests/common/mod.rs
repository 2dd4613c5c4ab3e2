//! Runs the real `custodia` binary for the integration tests.

#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::process::{Command, Output};

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics (this is a test) unless the run exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success, stderr: {}",
            self.stderr
        );
        self
    }

    /// Panics unless the run failed with exit code `code` and an `error: ` line on stderr.
    pub fn fails_with(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "stderr: {}", self.stderr);
        assert!(
            self.stderr.starts_with("error: "),
            "stderr: {}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("backtrace"),
            "stderr: {}",
            self.stderr
        );
        self
    }

    /// Panics unless stderr contains every one of `parts`.
    pub fn says(self, parts: &[&str]) -> Self {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "stderr lacks {part:?}: {}",
                self.stderr
            );
        }
        self
    }
}

/// A TCP port free on 127.0.0.1 right now, outside the kernel's ephemeral range.
pub fn free_port() -> u16 {
    custodia_node::ports::unused_port().expect("a free port")
}

/// Runs `custodia ARGS` in `cwd`.
pub fn custodia(cwd: &Path, args: &[&str]) -> Run {
    custodia_env(cwd, args, &[])
}

/// Runs `custodia ARGS` in `cwd` with the environment variables `env` set.
pub fn custodia_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_custodia"))
        .current_dir(cwd)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the custodia binary runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `custodia init --name NAME --role ROLE --p2p 127.0.0.1:(7000+port) --dir NAME` in `cwd`.
pub fn init_org(cwd: &Path, name: &str, role: &str, port: u16) {
    let p2p = format!("127.0.0.1:{}", 7000 + port);
    let api = format!("127.0.0.1:{}", 8000 + port);
    custodia(
        cwd,
        &[
            "init", "--name", name, "--role", role, "--p2p", &p2p, "--api", &api, "--dir", name,
        ],
    )
    .ok();
}
