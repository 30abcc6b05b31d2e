//! The modes of isotop's directories under `/var/lib/isotop`: images hold setuid binaries and
//! device nodes, so no other user may reach the layer cache or a container's files.
//!
//! Contract: [`private_dir`] makes a directory with its final mode in the `mkdir(2)` itself
//! (never a wider mode first and a `chmod` after), then verifies it through a descriptor opened
//! without following symlinks: a real directory, owned by isotop's user, with exactly that
//! mode; an existing one with another mode is repaired on that descriptor. [`ensure_data_dirs`]
//! runs it over the fixed set of directories — a few syscalls each — at the start of every
//! `isotop run` and `isotop image` command, so a cache made by an older isotop (0755) is
//! repaired the next time it is used.
//!
//! The modes (root owns all of them):
//! - `/var/lib/isotop` and `containers/`: 0711. A `--userns` container's setup runs as the
//!   container's root, an unprivileged host uid, and opens its root file system and identity
//!   files by path under `containers/<id>/` (bind, pivot_root): it needs search permission on
//!   every directory above. 0711 gives search only — no listing, no reading — and every entry
//!   below is root-only. (With 0700 the user-namespaced setup fails: "bind the root
//!   /var/lib/isotop/containers/<id>/rootfs onto itself: Permission denied". Docker makes its
//!   root 0711 for user-namespaced daemons for the same reason.)
//! - `containers/<id>/`: 0710, group root, or the container's root group with `--userns`
//!   (set by `prepare`): only that group may pass through to the mounted root file system.
//! - `layers/` (and its `sha256/`, `tmp/`, `meta/`) and `default/`: 0700. Their directories
//!   become overlay lower layers, which the kernel reads with the credentials of whoever
//!   mounted the overlay (the supervisor, real root), so nothing else needs to reach them.

use std::io;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::data_root;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::layer::LayerCache;

/// `/var/lib/isotop` and `/var/lib/isotop/containers`: search only for others (see above).
pub const TRAVERSE_MODE: u32 = 0o711;
/// `containers/<id>`: its group may pass through (the `--userns` container's root group).
pub const CONTAINER_DIR_MODE: u32 = 0o710;
/// The layer cache and the default image: root alone.
pub const PRIVATE_MODE: u32 = 0o700;

/// Makes `path` (its parent must exist) a directory owned by this user with exactly `mode`,
/// or checks and repairs the one there (see the module contract). Refuses a symlink or a
/// non-directory at `path`, and a directory owned by someone else.
pub fn private_dir(path: &Path, mode: u32) -> io::Result<()> {
    match rustix::fs::mkdir(path, Mode::from_raw_mode(mode)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => io::Error::other(
            "it is a symlink or not a directory; isotop's directories must be real \
             directories: move it away",
        ),
        other => other.into(),
    })?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return Err(io::Error::other("not a directory: move it away"));
    }
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(io::Error::other(format!(
            "owned by uid {}, not by uid {me} (root): another user could change what isotop \
             keeps there; remove it or `chown root` it",
            stat.st_uid
        )));
    }
    if stat.st_mode & 0o7777 != mode {
        // A new directory can only be narrower than asked (the umask); an old one may be wider.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    }
    Ok(())
}

/// [`private_dir`] with the path in the error.
pub fn make_dir(path: &Path, mode: u32) -> Result<(), LaunchError> {
    private_dir(path, mode).map_err(|e| LaunchError::io("create", path, e))
}

/// Makes or repairs `/var/lib/isotop` (0711), `containers/` (0711), the layer cache (0700) and
/// `default/` (0700) under the host root. Cheap: a few syscalls per directory.
pub fn ensure_data_dirs(host: &HostRoot) -> Result<(), LaunchError> {
    let root = data_root(host);
    if let Some(var_lib) = root.parent()
        && !var_lib.exists()
    {
        // The host's /var/lib (a test's host root may lack it): not isotop's to restrict.
        std::fs::create_dir_all(var_lib).map_err(|e| LaunchError::io("create", var_lib, e))?;
    }
    make_dir(&root, TRAVERSE_MODE)?;
    make_dir(&root.join("containers"), TRAVERSE_MODE)?;
    make_dir(&root.join("default"), PRIVATE_MODE)?;
    LayerCache::for_host(host).ensure_dirs()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn a_new_directory_gets_its_mode_and_a_loose_one_is_repaired() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        private_dir(&dir, 0o711).unwrap();
        assert_eq!(mode(&dir), 0o711);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o4777)).unwrap();
        private_dir(&dir, 0o700).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn symlinks_and_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = private_dir(&link, 0o700).unwrap_err();
        assert!(error.to_string().contains("symlink"), "{error}");
        assert_eq!(mode(&target), 0o755, "the symlink's target was changed");
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(private_dir(&file, 0o700).is_err());
    }

    #[test]
    fn the_data_dirs_are_made_with_their_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let host = HostRoot::under(tmp.path());
        ensure_data_dirs(&host).unwrap();
        let root = tmp.path().join("var/lib/isotop");
        assert_eq!(mode(&root), TRAVERSE_MODE);
        assert_eq!(mode(&root.join("containers")), TRAVERSE_MODE);
        for private in [
            "default",
            "layers",
            "layers/sha256",
            "layers/tmp",
            "layers/meta",
        ] {
            assert_eq!(mode(&root.join(private)), PRIVATE_MODE, "{private}");
        }
    }
}
