//! After the workflow: the network stops on SIGTERM, and no plaintext value is on any node's
//! disk, while the public purpose is (so the search sees what the nodes store).

use super::{
    step,
    workflow::{Devnet, contains, files_under},
};
use std::path::{Path, PathBuf};

/// Step 8: stops `devnet`; no file under it holds the run's `token`, every node's holds
/// `control`; each fetched file holds its shared values and none of its unshared ones; and
/// `fetched_dir` holds exactly `written`.
pub fn no_plaintext_on_disk(
    devnet: &mut Devnet,
    token: &str,
    control: &str,
    all: &[&String],
    fetched: &[(&PathBuf, Vec<&String>, Vec<&String>)],
    fetched_dir: &Path,
    written_expected: Vec<PathBuf>,
) {
    step("8. stop the network, then look for the canaries on disk");
    let killed = devnet.stop();
    assert!(
        killed.is_empty(),
        "did not stop on SIGTERM within the grace period: {killed:?}"
    );
    assert!(
        !devnet.said("did not stop in time"),
        "the devnet had to kill a node that ignored SIGTERM"
    );
    assert!(
        devnet.running_nodes().is_empty(),
        "node processes still run: {:?}",
        devnet.running_nodes()
    );
    let files = files_under(&devnet.dir);
    assert!(
        files.iter().any(|f| f.ends_with("node.log"))
            && files.iter().any(|f| f.to_string_lossy().contains("sqlite")),
        "the devnet directory lacks node.log or SQLite files: {files:?}"
    );
    let mut leaks = Vec::new();
    let mut control_found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if contains(&bytes, control.as_bytes()) {
            control_found.push(file.clone());
        }
        if !contains(&bytes, token.as_bytes()) {
            continue;
        }
        let found: Vec<&&String> = all
            .iter()
            .filter(|value| contains(&bytes, value.as_bytes()))
            .collect();
        leaks.push(format!(
            "{} holds the run's token, in {found:?}",
            file.display()
        ));
    }
    assert!(
        leaks.is_empty(),
        "plaintext on the nodes' disks: {leaks:#?}"
    );
    assert!(
        control_found.len() >= 4,
        "the public purpose {control:?} should be in every node's stored chain, found only in \
         {control_found:?}: the search does not see what the nodes store"
    );
    for (file, shared, unshared) in fetched {
        let bytes = std::fs::read(file).unwrap();
        for value in shared {
            assert!(
                contains(&bytes, value.as_bytes()),
                "{} lacks {value}",
                file.display()
            );
        }
        for value in unshared {
            assert!(
                !contains(&bytes, value.as_bytes()),
                "{} holds {value}",
                file.display()
            );
        }
    }
    let written: Vec<_> = files_under(fetched_dir);
    assert_eq!(
        written, written_expected,
        "only the two successful fetches wrote files"
    );
}
