//! `custodia init`: writes an organisation's keys, and refuses what it must not do.

mod common;

use common::custodia;
use custodia_protocol::{OrgKeys, OrgPublic, Role};
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_writes_a_private_key_and_a_public_file_that_match() {
    let tmp = tempfile::tempdir().unwrap();
    let run = custodia(
        tmp.path(),
        &[
            "init",
            "--name",
            "member-a",
            "--role",
            "member",
            "--dir",
            "orgs/member-a",
        ],
    )
    .ok();
    assert_eq!(run.stdout, "", "init prints nothing on stdout");
    let dir = tmp.path().join("orgs/member-a");
    assert!(run.stderr.contains("org.key") && run.stderr.contains("org.pub.toml"));

    let key_path = dir.join("org.key");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "org.key mode is {mode:o}");
    let keys = OrgKeys::from_toml(&std::fs::read_to_string(&key_path).unwrap()).unwrap();

    let public: OrgPublic =
        toml::from_str(&std::fs::read_to_string(dir.join("org.pub.toml")).unwrap()).unwrap();
    assert_eq!(public.name, "member-a");
    assert_eq!(public.role, Role::Member);
    assert_eq!(public.identity_key, keys.identity_key());
    assert_eq!(public.encryption_key, keys.encryption_key());
    assert_eq!(public.p2p, "127.0.0.1:7000");
    assert_eq!(public.api, "127.0.0.1:8000");
}

#[test]
fn init_takes_the_given_role_and_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    custodia(
        tmp.path(),
        &[
            "init",
            "--name",
            "supervisor",
            "--role",
            "supervisor",
            "--p2p",
            "10.0.0.1:7100",
            "--api",
            "[::1]:8100",
            "--dir",
            "sup",
        ],
    )
    .ok();
    let text = std::fs::read_to_string(tmp.path().join("sup/org.pub.toml")).unwrap();
    let public: OrgPublic = toml::from_str(&text).unwrap();
    assert_eq!(public.role, Role::Supervisor);
    assert_eq!(public.p2p, "10.0.0.1:7100");
    assert_eq!(public.api, "[::1]:8100");
}

#[test]
fn init_refuses_to_overwrite_an_existing_key() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "init", "--name", "member-a", "--role", "member", "--dir", "a",
    ];
    custodia(tmp.path(), &args).ok();
    let key_before = std::fs::read(tmp.path().join("a/org.key")).unwrap();
    let pub_before = std::fs::read(tmp.path().join("a/org.pub.toml")).unwrap();

    custodia(tmp.path(), &args).fails_with(1).says(&[
        "a/org.key already exists",
        "refusing to overwrite",
        "--dir",
    ]);
    assert_eq!(
        std::fs::read(tmp.path().join("a/org.key")).unwrap(),
        key_before
    );
    assert_eq!(
        std::fs::read(tmp.path().join("a/org.pub.toml")).unwrap(),
        pub_before
    );
}

#[test]
fn init_refuses_a_bad_name_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["Member-A", "-a", "", "a b", "a/b", &"a".repeat(65)] {
        // `--name=VALUE` so that clap takes "-a" as the value, not as a flag.
        let name = format!("--name={name}");
        custodia(
            tmp.path(),
            &["init", &name, "--role", "member", "--dir", "x"],
        )
        .fails_with(1)
        .says(&["--name", "not a valid organisation name"]);
    }
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn init_refuses_a_bad_role() {
    let tmp = tempfile::tempdir().unwrap();
    custodia(
        tmp.path(),
        &["init", "--name", "a", "--role", "boss", "--dir", "x"],
    )
    .fails_with(2)
    .says(&["--role", "boss", "supervisor", "member"]);
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn init_refuses_a_bad_address() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--p2p", "localhost"),
        ("--p2p", "nowhere:7000"),
        ("--api", "1.2.3.4"),
    ] {
        custodia(
            tmp.path(),
            &[
                "init", "--name", "a", "--role", "member", flag, value, "--dir", "x",
            ],
        )
        .fails_with(1)
        .says(&[flag, value, "IP:PORT"]);
    }
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn init_reports_a_dir_that_cannot_be_created() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    custodia(
        tmp.path(),
        &["init", "--name", "a", "--role", "member", "--dir", "file/x"],
    )
    .fails_with(1)
    .says(&["cannot create directory file/x"]);
}

/// Every name under `dir`, relative to it, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            names.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn init_writes_its_files_atomically_with_private_secrets_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    custodia(
        tmp.path(),
        &["init", "--name", "a", "--role", "member", "--dir", "a"],
    )
    .ok();
    let dir = tmp.path().join("a");
    assert_eq!(
        tree(&dir),
        [
            "api.token",
            "config.toml",
            "data",
            "data/new-validator",
            "org.key",
            "org.pub.toml"
        ],
        "no temporary file is left"
    );
    for secret in ["org.key", "api.token"] {
        let mode = std::fs::metadata(dir.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret} mode is {mode:o}");
    }
    for public in ["org.pub.toml", "config.toml", "data/new-validator"] {
        let mode = std::fs::metadata(dir.join(public))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o022, 0, "{public} mode is {mode:o}");
    }
}

#[test]
fn init_in_a_directory_with_a_stale_world_readable_token_replaces_it_privately() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    std::fs::create_dir(&dir).unwrap();
    // A token some earlier attempt left, readable by everyone, and a link where config.toml
    // goes: the token is replaced by a private one, the link's target is left alone.
    std::fs::write(dir.join("api.token"), "old-token-old-token\n").unwrap();
    std::fs::set_permissions(
        dir.join("api.token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(tmp.path().join("elsewhere"), "keep me\n").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), dir.join("config.toml")).unwrap();
    custodia(
        tmp.path(),
        &["init", "--name", "a", "--role", "member", "--dir", "a"],
    )
    .ok();
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    assert_ne!(token, "old-token-old-token\n");
    let mode = std::fs::metadata(dir.join("api.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("elsewhere")).unwrap(),
        "keep me\n"
    );
    assert!(
        std::fs::read_to_string(dir.join("config.toml"))
            .unwrap()
            .contains("org = \"a\"")
    );
}
