//! Taking a container apart, in the reverse order of its start, every step idempotent so a
//! half-made or half-removed container can be finished off by running it again:
//! [`release_runtime`] (network, cgroups and the processes in them, the overlay mount) is what
//! the supervisor does when the command exits; [`remove_files`] (writable layer, log, config,
//! record, name claim) is what `rm` and `--rm` add.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::config::LaunchConfig;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::spec::NetMode;
use crate::launch::store::{ContainerPaths, run_root};
use crate::launch::{cgroup, net, rootfs};

/// What the runtime side of a container holds, from its record.
#[derive(Debug, Clone, Copy)]
pub struct Runtime<'a> {
    pub id: &'a str,
    pub net: NetMode,
    pub host_veth: Option<&'a str>,
}

/// Detaches the network (bridge mode), removes the cgroups (killing what is left in them) and
/// unmounts the overlay. Every step runs even when one fails; the first error is returned.
pub fn release_runtime(host: &HostRoot, runtime: Runtime<'_>) -> Result<(), LaunchError> {
    let mut first: Option<LaunchError> = None;
    let mut keep = |r: Result<(), LaunchError>| {
        if let Err(e) = r
            && first.is_none()
        {
            first = Some(e);
        }
    };
    if runtime.net == NetMode::Bridge {
        keep(
            bridge_of(host, runtime.id)
                .and_then(|config| net::try_detach(host, &config, runtime.id, runtime.host_veth)),
        );
    }
    keep(cgroup::remove(host, runtime.id));
    let paths = ContainerPaths::new(host, runtime.id);
    keep(rootfs::unmount_rootfs(&paths.rootfs));
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The bridge container `id` was attached to: from its `config.json`, else the environment's.
fn bridge_of(host: &HostRoot, id: &str) -> Result<net::BridgeConfig, LaunchError> {
    match LaunchConfig::read(&ContainerPaths::new(host, id).config) {
        Ok(config) => config.bridge_config(),
        Err(_) => net::BridgeConfig::from_env(),
    }
}

/// True when `dir` is the root of a different file system than its parent (a mount point).
fn is_mount_point(dir: &Path) -> bool {
    let (Ok(own), Some(Ok(parent))) = (
        std::fs::symlink_metadata(dir),
        dir.parent().map(std::fs::symlink_metadata),
    ) else {
        return false;
    };
    own.dev() != parent.dev()
}

fn remove_dir_all(dir: &Path) -> Result<(), LaunchError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LaunchError::io("remove", dir, e)),
    }
}

/// Deletes the data dir (writable layer, log, config), every name claim holding `id`, and
/// the run dir (record). Refuses to delete while the overlay is still mounted: deleting
/// through the mount would write whiteouts instead of freeing anything, and a bind mount of a
/// host directory there would lose host files.
pub fn remove_files(host: &HostRoot, id: &str) -> Result<(), LaunchError> {
    let paths = ContainerPaths::new(host, id);
    if is_mount_point(&paths.rootfs) {
        return Err(LaunchError::WrongState {
            id: id.into(),
            why: format!(
                "{} is still mounted; not deleting the container's files (`umount -l` it, \
                 then `isotop rm` again)",
                paths.rootfs.display()
            ),
        });
    }
    remove_dir_all(&paths.data_dir)?;
    release_names(host, id);
    remove_dir_all(&paths.run_dir)
}

/// Removes every name claim whose content is `id` (a record may be gone already, so the name
/// is found from the claims themselves).
fn release_names(host: &HostRoot, id: &str) {
    let dir = run_root(host).join("names");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        if crate::launch::store::claim_holder(&entry.path()).is_some_and(|owner| owner == id) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::store::{claim_name, new_id};

    #[test]
    fn files_and_claims_go_and_going_twice_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let host = HostRoot::under(dir.path());
        let id = new_id().unwrap();
        let other = new_id().unwrap();
        let paths = ContainerPaths::new(&host, &id);
        for d in [&paths.run_dir, &paths.upper, &paths.work, &paths.rootfs] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&paths.log, b"x").unwrap();
        claim_name(&host, "web", &id).unwrap();
        std::fs::create_dir_all(ContainerPaths::new(&host, &other).run_dir).unwrap();
        claim_name(&host, "db", &other).unwrap();
        remove_files(&host, &id).unwrap();
        assert!(!paths.data_dir.exists() && !paths.run_dir.exists());
        let names = run_root(&host).join("names");
        assert!(!names.join("web").exists());
        assert!(names.join("db").exists(), "another container's claim stays");
        remove_files(&host, &id).unwrap();
    }
}
