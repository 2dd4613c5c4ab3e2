//! The API on a network (DESIGN §7.12), on a real node process: an `api_listen` beyond loopback
//! is refused without TLS files (by `custodia init` and by `custodia node`, saying what to set),
//! served over HTTPS with them (the CLI trusts the node's certificate through `--org-dir` or
//! `--ca-cert`), and served in plain HTTP only when the config says `api_insecure_plaintext`.

mod common;

use common::{Run, custodia, custodia_env, free_port};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A self-signed certificate for 127.0.0.1 and its key (mode 0600), made with openssl.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=custodia-test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success(), "openssl made no certificate");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

/// A node process, stopped when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_node(config: &Path) -> Node {
    Node(
        Command::new(env!("CARGO_BIN_EXE_custodia"))
            .arg("node")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("custodia node starts"),
    )
}

/// `custodia ARGS status --json` until it succeeds (at most 60 s).
fn status_when_up(cwd: &Path, args: &[&str]) -> Run {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut all = args.to_vec();
        all.extend(["status", "--json"]);
        let run = custodia(cwd, &all);
        if run.code == Some(0) || Instant::now() > deadline {
            return run;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn an_api_beyond_loopback_is_served_over_tls_or_refused_unless_plaintext_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (cert, key) = certificate(cwd);
    let api_port = free_port();
    let api = format!("0.0.0.0:{api_port}");
    let p2p = format!("127.0.0.1:{}", free_port());
    let init = |extra: &[&str]| {
        let mut args = vec!["init", "--name", "supervisor", "--role", "supervisor"];
        args.extend(["--p2p", &p2p, "--api", &api, "--dir", "supervisor"]);
        args.extend_from_slice(extra);
        custodia(cwd, &args)
    };

    // Without TLS files, init refuses and writes nothing.
    init(&[])
        .fails_with(1)
        .says(&["0.0.0.0", "--api-tls-cert", "--api-insecure-plaintext"]);
    assert!(!cwd.join("supervisor").exists());

    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    init(&["--api-tls-cert", cert_arg, "--api-tls-key", key_arg]).ok();
    custodia(
        cwd,
        &[
            "genesis",
            "--chain-id",
            "custodia-tls",
            "--org",
            "supervisor/org.pub.toml",
            "--out",
            "supervisor/genesis.toml",
        ],
    )
    .ok();
    let dir = cwd.join("supervisor");
    let config = dir.join("config.toml");
    let with_tls = std::fs::read_to_string(&config).unwrap();
    assert!(with_tls.contains("api_tls_cert"), "{with_tls}");
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    let token = token.trim();

    let node = start_node(&config);
    let org_dir = dir.to_str().unwrap();
    let status = status_when_up(cwd, &["--org-dir", org_dir]).ok();
    assert!(
        status.stdout.contains("\"supervisor\""),
        "{}",
        status.stdout
    );
    let https = format!("https://127.0.0.1:{api_port}");
    let token_env = [("CUSTODIA_TOKEN", token)];
    custodia_env(
        cwd,
        &["--node", &https, "--ca-cert", cert_arg, "status"],
        &token_env,
    )
    .ok();
    // Without the certificate to trust, the CLI says what to give; plain HTTP gets no answer.
    custodia_env(cwd, &["--node", &https, "status"], &token_env)
        .fails_with(1)
        .says(&["--ca-cert"]);
    let http = format!("http://127.0.0.1:{api_port}");
    let plain = custodia_env(cwd, &["--node", &http, "status"], &token_env).fails_with(1);
    assert!(!plain.stderr.contains(token), "{}", plain.stderr);
    drop(node);

    // The same address without the TLS lines: the node refuses to start, naming what to set.
    let without: String = with_tls
        .lines()
        .filter(|line| !line.starts_with("api_tls_"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&config, &without).unwrap();
    let config_arg = config.to_str().unwrap();
    custodia(cwd, &["node", "--config", config_arg])
        .fails_with(1)
        .says(&["api_tls_cert", "api_tls_key", "api_insecure_plaintext"]);
    // Only one of the two files is a mistake too.
    let key_line = with_tls
        .lines()
        .find(|line| line.starts_with("api_tls_key"))
        .unwrap();
    let half = without.replacen("\napi_listen", &format!("\n{key_line}\napi_listen"), 1);
    std::fs::write(&config, half).unwrap();
    custodia(cwd, &["node", "--config", config_arg])
        .fails_with(1)
        .says(&["only one of api_tls_cert and api_tls_key"]);

    // Asked for explicitly, the node serves plain HTTP beyond loopback.
    let plaintext = without.replacen(
        "\napi_listen",
        "\napi_insecure_plaintext = true\napi_listen",
        1,
    );
    std::fs::write(&config, plaintext).unwrap();
    let _node = start_node(&config);
    status_when_up(cwd, &["--org-dir", org_dir]).ok();
    custodia_env(cwd, &["--node", &http, "status"], &token_env).ok();
}
