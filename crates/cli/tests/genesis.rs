//! `custodia genesis`: assembles org.pub.toml files, and names the file and field of every
//! mistake.

mod common;

use common::{custodia, init_org};
use custodia_protocol::{Genesis, Params, Role, hash};
use std::path::Path;

/// supervisor, member-a, member-b, member-c, each in its own directory under `cwd`.
fn consortium(cwd: &Path) {
    init_org(cwd, "supervisor", "supervisor", 0);
    init_org(cwd, "member-a", "member", 1);
    init_org(cwd, "member-b", "member", 2);
    init_org(cwd, "member-c", "member", 3);
}

fn genesis(cwd: &Path, orgs: &[&str]) -> common::Run {
    genesis_with(cwd, orgs, &[])
}

/// [`genesis`] with `extra` flags after the `--org` files.
fn genesis_with(cwd: &Path, orgs: &[&str], extra: &[&str]) -> common::Run {
    let mut args = vec![
        "genesis",
        "--chain-id",
        "custodia-test",
        "--out",
        "genesis.toml",
    ];
    for org in orgs {
        args.extend(["--org", org]);
    }
    args.extend(extra);
    custodia(cwd, &args)
}

const ALL: [&str; 4] = [
    "supervisor/org.pub.toml",
    "member-a/org.pub.toml",
    "member-b/org.pub.toml",
    "member-c/org.pub.toml",
];

#[test]
fn genesis_of_a_supervisor_and_three_members_prints_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    let run = genesis(tmp.path(), &ALL).ok();

    let text = std::fs::read_to_string(tmp.path().join("genesis.toml")).unwrap();
    let written = Genesis::from_toml(&text).unwrap();
    assert_eq!(written.chain_id, "custodia-test");
    assert_eq!(written.params, Params::default());
    let names: Vec<&str> = written.orgs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["supervisor", "member-a", "member-b", "member-c"]);
    assert_eq!(written.supervisor().map(|o| o.role), Some(Role::Supervisor));
    assert_eq!(run.stdout, format!("{}\n", hash::to_hex(&written.digest())));
}

#[test]
fn genesis_refuses_a_duplicate_name() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    init_org(tmp.path(), "again", "member", 4);
    let path = tmp.path().join("again/org.pub.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"again\"", "\"member-a\"")).unwrap();

    genesis(tmp.path(), &[ALL[0], ALL[1], "again/org.pub.toml"])
        .fails_with(1)
        .says(&[
            "again/org.pub.toml: field 'name': duplicate name \"member-a\" (also in member-a/org.pub.toml)",
        ]);
    assert!(!tmp.path().join("genesis.toml").exists());
}

#[test]
fn genesis_refuses_duplicate_keys() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    // A copied pub file with a new name and address still carries member-a's keys.
    let text = std::fs::read_to_string(tmp.path().join(ALL[1])).unwrap();
    let copy = text
        .replace("\"member-a\"", "\"member-d\"")
        .replace("127.0.0.1:7001", "127.0.0.1:7009");
    std::fs::write(tmp.path().join("copy.toml"), copy).unwrap();

    genesis(tmp.path(), &[ALL[0], ALL[1], "copy.toml"])
        .fails_with(1)
        .says(&[
            "copy.toml: field 'identity_key': duplicate identity key",
            "(also in member-a/org.pub.toml)",
        ]);
}

#[test]
fn genesis_refuses_a_duplicate_p2p_address() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    init_org(tmp.path(), "member-d", "member", 1);

    genesis(tmp.path(), &[ALL[0], ALL[1], "member-d/org.pub.toml"])
        .fails_with(1)
        .says(&[
            "member-d/org.pub.toml: field 'p2p': duplicate p2p address 127.0.0.1:7001",
            "(also in member-a/org.pub.toml)",
        ]);
}

#[test]
fn genesis_refuses_the_same_file_twice() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    genesis(tmp.path(), &[ALL[0], ALL[1], "./member-a/org.pub.toml"])
        .fails_with(1)
        .says(&["./member-a/org.pub.toml: field 'name'", "given twice"]);
}

#[test]
fn genesis_refuses_no_supervisor() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    genesis(tmp.path(), &ALL[1..]).fails_with(1).says(&[
        "member-a/org.pub.toml, member-b/org.pub.toml, member-c/org.pub.toml: field 'role'",
        "no organisation has role 'supervisor'",
        "custodia init --role supervisor",
    ]);
}

#[test]
fn genesis_refuses_two_supervisors() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    init_org(tmp.path(), "regulator", "supervisor", 5);
    genesis(tmp.path(), &[ALL[0], ALL[1], "regulator/org.pub.toml"])
        .fails_with(1)
        .says(&[
            "supervisor/org.pub.toml, regulator/org.pub.toml: field 'role'",
            "2 organisations have role 'supervisor'",
        ]);
}

#[test]
fn genesis_refuses_a_garbage_file() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    std::fs::write(tmp.path().join("garbage.toml"), "this is not toml at all\n").unwrap();
    genesis(tmp.path(), &[ALL[0], "garbage.toml"])
        .fails_with(1)
        .says(&[
            "garbage.toml: not a valid org.pub.toml: line 1",
            "custodia init",
        ]);
}

#[test]
fn genesis_refuses_a_file_with_a_missing_field() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    let text = std::fs::read_to_string(tmp.path().join(ALL[1])).unwrap();
    let without_api: String = text
        .lines()
        .filter(|line| !line.starts_with("api"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(tmp.path().join("no-api.toml"), without_api).unwrap();
    genesis(tmp.path(), &[ALL[0], "no-api.toml"])
        .fails_with(1)
        .says(&["no-api.toml: not a valid org.pub.toml: field 'api': missing"]);
}

#[test]
fn genesis_refuses_a_file_with_an_invalid_field() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    let text = std::fs::read_to_string(tmp.path().join(ALL[1])).unwrap();
    std::fs::write(
        tmp.path().join("bad-key.toml"),
        text.replace("identity_key = \"", "identity_key = \"zz"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("bad-p2p.toml"),
        text.replace("127.0.0.1:7001", "nowhere"),
    )
    .unwrap();
    genesis(tmp.path(), &[ALL[0], "bad-key.toml"])
        .fails_with(1)
        .says(&["bad-key.toml: not a valid org.pub.toml: line 5, field 'identity_key'"]);
    genesis(tmp.path(), &[ALL[0], "bad-p2p.toml"])
        .fails_with(1)
        .says(&["bad-p2p.toml: field 'p2p': \"nowhere\" is not an address"]);
}

#[test]
fn genesis_refuses_a_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    genesis(tmp.path(), &[ALL[0], "member-z/org.pub.toml"])
        .fails_with(1)
        .says(&["member-z/org.pub.toml: no such file"]);
}

#[test]
fn genesis_refuses_a_directory_and_points_at_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    genesis(tmp.path(), &[ALL[0], "member-a"])
        .fails_with(1)
        .says(&["member-a is a directory", "--org member-a/org.pub.toml"]);
}

#[test]
fn genesis_refuses_a_bad_chain_id() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    custodia(
        tmp.path(),
        &[
            "genesis",
            "--chain-id",
            "",
            "--org",
            ALL[0],
            "--out",
            "genesis.toml",
        ],
    )
    .fails_with(1)
    .says(&["--chain-id"]);
}

#[test]
fn genesis_will_not_write_over_an_org_file() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    let before = std::fs::read(tmp.path().join(ALL[0])).unwrap();
    custodia(
        tmp.path(),
        &[
            "genesis",
            "--chain-id",
            "c",
            "--org",
            ALL[0],
            "--out",
            ALL[0],
        ],
    )
    .fails_with(1)
    .says(&["is also an --org file"]);
    assert_eq!(std::fs::read(tmp.path().join(ALL[0])).unwrap(), before);
}

#[test]
fn genesis_replaces_out_atomically_and_never_writes_through_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    // --out is a symbolic link to someone else's file: that file is left alone, the link is
    // replaced by the new genesis (a rename, not a write into whatever the link names).
    std::fs::write(tmp.path().join("theirs.toml"), "not ours\n").unwrap();
    std::os::unix::fs::symlink("theirs.toml", tmp.path().join("genesis.toml")).unwrap();
    genesis(tmp.path(), &ALL).ok();
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("theirs.toml")).unwrap(),
        "not ours\n"
    );
    let out = tmp.path().join("genesis.toml");
    assert!(!std::fs::symlink_metadata(&out).unwrap().is_symlink());
    Genesis::from_toml(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // No temporary file is left beside it.
    let stray: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn genesis_takes_the_epoch_length_and_max_validators_and_names_the_flag_of_a_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    consortium(tmp.path());
    let with = |extra: &[&str]| genesis_with(tmp.path(), &ALL, extra);
    with(&["--epoch-length", "200", "--max-validators", "7"]).ok();
    let text = std::fs::read_to_string(tmp.path().join("genesis.toml")).unwrap();
    let written = Genesis::from_toml(&text).unwrap();
    assert_eq!(written.params.epoch_length, 200);
    assert_eq!(written.params.max_validators, 7);

    with(&["--epoch-length", "10"])
        .fails_with(1)
        .says(&["--epoch-length", "64", "found 10"]);
    with(&["--max-validators", "3"]).fails_with(1).says(&[
        "4 --org files",
        "max_validators is 3",
        "--max-validators",
    ]);
}
