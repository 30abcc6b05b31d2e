//! Address leases: which container holds which address on a bridge.
//!
//! Contract: one file per address in use, `<run>/isotop/net/<bridge>/<address>` (e.g.
//! `10.77.0.2`), holding the container id; created with `O_EXCL` ([`store::create_claim`],
//! like a name claim), so two launches can never both create one. Allocation and release run under an exclusive `flock` on `.lock` in the
//! same directory, so taking over a stale lease (remove + create) and releasing one (read +
//! remove) cannot interleave with another isotop process doing the same; the lock goes with
//! the descriptor, also when a process dies holding it. A lease is stale — free to reuse —
//! when its holder is not a container id, when the holder's record says exited or failed, or
//! when the holder has neither a record nor a run directory (a container being created has
//! its run directory before its record, so it is never mistaken for a dead one). A holder whose
//! record cannot be read keeps its lease: an address is never taken from a live container.

use std::fs::{self, File, OpenOptions};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use super::subnet::Subnet;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::store::{self, ContainerPaths, Status};

const LOCK_FILE: &str = ".lock";

/// The lease directory of `bridge` (a checked name: it is one path component).
pub(super) fn dir(host: &HostRoot, bridge: &str) -> PathBuf {
    store::run_root(host).join("net").join(bridge)
}

/// The lease directory, locked until this is dropped.
pub(super) struct Locked {
    dir: PathBuf,
    _lock: File,
}

/// Creates the lease directory if needed and waits for its lock.
///
/// [`Locked::remove_if_empty`] unlinks the lock file while others may wait on it, so a lock
/// won on a file that is no longer the one at the path is let go and taken again.
pub(super) fn lock(host: &HostRoot, bridge: &str) -> Result<Locked, LaunchError> {
    let dir = dir(host, bridge);
    loop {
        fs::create_dir_all(&dir).map_err(|e| LaunchError::io("create", &dir, e))?;
        // `None`: the directory went between creating and opening; make it again.
        if let Some(locked) = lock_in(&dir)? {
            return Ok(locked);
        }
    }
}

/// [`lock`], but `Ok(None)` when there is no lease directory (nothing to release): a release
/// never creates one.
pub(super) fn lock_existing(host: &HostRoot, bridge: &str) -> Result<Option<Locked>, LaunchError> {
    lock_in(&dir(host, bridge))
}

/// Locks the lease directory `dir`; `Ok(None)` when it does not exist.
fn lock_in(dir: &Path) -> Result<Option<Locked>, LaunchError> {
    let path = dir.join(LOCK_FILE);
    loop {
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LaunchError::io("open", &path, e)),
        };
        loop {
            match flock(&file, FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(LaunchError::io("lock", &path, e.into())),
            }
        }
        // Won on a lock file another process has since unlinked: let go, look again.
        let held = file.metadata().map(|m| m.ino()).ok();
        let current = fs::metadata(&path).map(|m| m.ino()).ok();
        if held.is_some() && held == current {
            return Ok(Some(Locked {
                dir: dir.to_path_buf(),
                _lock: file,
            }));
        }
    }
}

impl Locked {
    /// Gives `id` the lowest free address of `subnet` (its own lease again if it has one).
    pub fn take(
        &self,
        host: &HostRoot,
        subnet: &Subnet,
        id: &str,
    ) -> Result<Ipv4Addr, LaunchError> {
        for address in subnet.container_addresses() {
            let path = self.dir.join(address.to_string());
            match store::create_claim(&path, id) {
                Ok(()) => return Ok(address),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(LaunchError::io("create lease", &path, e)),
            }
            let holder = store::claim_holder(&path);
            if holder.as_deref() == Some(id) {
                return Ok(address);
            }
            if holder.is_some_and(|h| !is_stale(host, &h)) {
                continue;
            }
            // Stale, and the lock keeps every other isotop away from it: take it over.
            fs::remove_file(&path).map_err(|e| LaunchError::io("remove stale lease", &path, e))?;
            store::create_claim(&path, id)
                .map_err(|e| LaunchError::io("create lease", &path, e))?;
            return Ok(address);
        }
        Err(LaunchError::invalid(
            super::subnet::ENV_SUBNET,
            &subnet.to_string(),
            format!(
                "every address is leased (see {}): remove exited containers with `isotop rm`, \
                 or choose a larger subnet",
                self.dir.display()
            ),
        ))
    }

    /// Removes the lease of `address` if `id` holds it.
    pub fn release_address(&self, address: Ipv4Addr, id: &str) {
        let path = self.dir.join(address.to_string());
        if store::claim_holder(&path).as_deref() == Some(id) {
            let _ = fs::remove_file(&path);
        }
    }

    /// Removes every lease `id` holds; returns how many.
    pub fn release_all(&self, id: &str) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        entries
            .flatten()
            // Dot-files are the lock and claims being written, never leases.
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| store::claim_holder(&e.path()).as_deref() == Some(id))
            .filter(|e| fs::remove_file(e.path()).is_ok())
            .count()
    }

    /// The addresses leased now (lease file names), sorted.
    pub fn leased(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Removes the directory when no lease is left in it (the lock file goes too; a process
    /// waiting on it holds its own descriptor and recreates the directory after).
    pub fn remove_if_empty(self) {
        if self.leased().is_empty() {
            let _ = fs::remove_file(self.dir.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// See the module contract.
fn is_stale(host: &HostRoot, holder: &str) -> bool {
    if !store::is_id(holder) {
        return true;
    }
    match store::read_record(host, holder) {
        Ok(Some(record)) => matches!(record.status, Status::Exited | Status::Failed),
        Ok(None) => !ContainerPaths::new(host, holder).run_dir.exists(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::spec::NetMode;
    use crate::launch::store::ContainerRecord;

    fn record(host: &HostRoot, id: &str, status: Status) -> ContainerRecord {
        ContainerRecord {
            status,
            net: NetMode::Bridge,
            ..ContainerRecord::created(host, id, "n")
        }
    }

    #[test]
    fn lowest_free_first_stale_reused_live_kept_and_release_only_by_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let host = HostRoot::under(tmp.path());
        let subnet = Subnet::parse("10.9.0.0/29").unwrap();
        let ids: Vec<String> = (0..6).map(|_| store::new_id().unwrap()).collect();
        let leases = lock(&host, "br0").unwrap();
        let take = |i: usize| leases.take(&host, &subnet, &ids[i]).unwrap().to_string();
        let write = |i: usize, status| {
            store::write_record(&host, &record(&host, &ids[i], status)).unwrap();
        };

        assert_eq!(take(0), "10.9.0.2");
        // ids[0] has no record and no run dir: stale, so ids[1] gets the same address.
        assert_eq!(take(1), "10.9.0.2");
        write(1, Status::Running);
        // Asking again for the same id returns its own lease.
        assert_eq!(take(1), "10.9.0.2");
        assert_eq!(take(2), "10.9.0.3");
        write(2, Status::Exited);
        // Exited holder: stale.
        assert_eq!(take(3), "10.9.0.3");
        // A holder with a run dir but no record yet is being created: kept.
        fs::create_dir_all(ContainerPaths::new(&host, &ids[3]).run_dir).unwrap();
        assert_eq!(take(4), "10.9.0.4");
        write(4, Status::Created);
        // Garbage in a lease file: stale.
        fs::write(leases.dir.join("10.9.0.5"), "not an id").unwrap();
        assert_eq!(take(5), "10.9.0.5");
        assert_eq!(
            fs::read_to_string(leases.dir.join("10.9.0.5")).unwrap(),
            ids[5]
        );

        // A release by a former holder leaves the new holder's lease alone.
        leases.release_address("10.9.0.3".parse().unwrap(), &ids[2]);
        assert!(leases.dir.join("10.9.0.3").exists());
        assert_eq!(leases.release_all(&ids[3]), 1);
        assert!(!leases.dir.join("10.9.0.3").exists());
        assert_eq!(leases.leased(), vec!["10.9.0.2", "10.9.0.4", "10.9.0.5"]);
    }

    #[test]
    fn a_full_subnet_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let host = HostRoot::under(tmp.path());
        let subnet = Subnet::parse("10.9.0.0/29").unwrap();
        let leases = lock(&host, "br0").unwrap();
        for _ in 0..5 {
            let id = store::new_id().unwrap();
            leases.take(&host, &subnet, &id).unwrap();
            store::write_record(&host, &record(&host, &id, Status::Running)).unwrap();
        }
        let err = leases
            .take(&host, &subnet, &store::new_id().unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("every address is leased"), "{err}");
    }
}
