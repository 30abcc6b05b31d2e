//! Where isotop keeps its containers, and the record of each.
//!
//! Contract, per container id ([`ContainerId`]: 64 lowercase hex digits; anything else is never
//! joined onto a path):
//! - `/run/isotop/<id>/state.json` — the [`ContainerRecord`] (tmpfs: gone after a reboot, like
//!   the processes it describes). Written whole through a temp file + rename, so a reader never
//!   sees half a record. The supervisor is its only writer once the container is created.
//! - `/run/isotop/names/<name>` — holds the id; created with `O_EXCL`, so two launches cannot
//!   claim one name.
//! - `/var/lib/isotop/containers/<id>/` — `config.json` (the [`RunSpec`](crate::launch::RunSpec) + resolved image),
//!   `upper/` and `work/` (the writable overlay layer), `rootfs/` (the overlay mount point) and
//!   `container.log` (JSON lines, see `logs`).
//!
//! All paths are under the injected [`HostRoot`] (`run`, `var_lib`).

pub mod dirs;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::LaunchError;
use super::spec::NetMode;
use crate::host::HostRoot;
use crate::host::runtime::file::{self, Cap};
use crate::units::{ContainerId, now_ms};

/// The life of a container, as its supervisor last recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Record written, supervisor starting it.
    Created,
    Running,
    /// The command exited (`exit_code` says how).
    Exited,
    /// Setup failed before the command ran (`error` says why).
    Failed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Failed => "failed",
        }
    }
}

/// One container's state (`/run/isotop/<id>/state.json`). Text fields that came from the
/// operator or the image are kept verbatim; display code cleans them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// What the image was: its path, or `default (host programs, read-only)`.
    pub image: String,
    pub command: Vec<String>,
    pub status: Status,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    /// The container's init, as a host pid.
    pub pid: Option<i32>,
    pub supervisor_pid: Option<i32>,
    /// The exit status: the code, or 128 + signal number when killed by a signal.
    pub exit_code: Option<i32>,
    /// Set when killed by a signal.
    pub exit_signal: Option<i32>,
    /// True when the exit followed `isotop stop` or `rm --force` (its marker,
    /// [`ContainerPaths::stop_requested`]): the code is the stop's signal, not trouble.
    #[serde(default)]
    pub stop_requested: bool,
    /// Why setup failed ([`Status::Failed`]).
    pub error: Option<String>,
    pub net: NetMode,
    /// The container's IPv4 address with its prefix length (bridge mode).
    pub address: Option<String>,
    /// The host end of the veth pair (bridge mode).
    pub host_veth: Option<String>,
    /// `/isotop/<id>`, in every v1 hierarchy or the v2 tree.
    pub cgroup_path: String,
    /// The overlay mount point and its layers, lowest first.
    pub rootfs: PathBuf,
    pub lower_layers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub remove_on_exit: bool,
    pub hostname: String,
}

impl ContainerRecord {
    /// The record `prepare` starts from: state `created` now, laid out at
    /// [`ContainerPaths::new`] with the cgroup `/isotop/<id>`, nothing started, exited or
    /// attached yet. What the image and the spec decide (image, command, net, layers,
    /// `--rm`, hostname) is left empty for the caller to fill in.
    pub fn created(host: &HostRoot, id: &str, name: &str) -> ContainerRecord {
        let paths = ContainerPaths::new(host, id);
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            image: String::new(),
            command: Vec::new(),
            status: Status::Created,
            created_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            pid: None,
            supervisor_pid: None,
            exit_code: None,
            exit_signal: None,
            stop_requested: false,
            error: None,
            net: NetMode::None,
            address: None,
            host_veth: None,
            cgroup_path: super::cgroup::cgroup_path(id),
            rootfs: paths.rootfs,
            lower_layers: Vec::new(),
            upper: paths.upper,
            remove_on_exit: false,
            hostname: String::new(),
        }
    }
}

/// The files of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    pub run_dir: PathBuf,
    pub state: PathBuf,
    /// An empty file `stop` and `rm --force` create before they signal the init: the
    /// supervisor, recording the exit, notes the stop was asked for (it owns the record).
    pub stop_requested: PathBuf,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
    pub log: PathBuf,
}

/// `/run/isotop` under the host root.
pub fn run_root(host: &HostRoot) -> PathBuf {
    host.run.join("isotop")
}

/// `/var/lib/isotop` under the host root.
pub fn data_root(host: &HostRoot) -> PathBuf {
    host.var_lib.join("isotop")
}

impl ContainerPaths {
    pub fn new(host: &HostRoot, id: &str) -> ContainerPaths {
        let run_dir = run_root(host).join(id);
        let data_dir = data_root(host).join("containers").join(id);
        ContainerPaths {
            state: run_dir.join("state.json"),
            stop_requested: run_dir.join("stop-requested"),
            run_dir,
            config: data_dir.join("config.json"),
            upper: data_dir.join("upper"),
            work: data_dir.join("work"),
            rootfs: data_dir.join("rootfs"),
            log: data_dir.join("container.log"),
            data_dir,
        }
    }
}

/// A fresh random id (64 hex digits, from the kernel's random pool).
pub fn new_id() -> Result<String, LaunchError> {
    let mut bytes = [0u8; 32];
    let path = Path::new("/dev/urandom");
    let mut file = fs::File::open(path).map_err(|e| LaunchError::io("open", path, e))?;
    std::io::Read::read_exact(&mut file, &mut bytes)
        .map_err(|e| LaunchError::io("read", path, e))?;
    Ok(hex::encode(bytes))
}

/// Writes `value` as JSON to `path` through `path.tmp` + rename (atomic for readers).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), LaunchError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| LaunchError::io("encode", path, std::io::Error::other(e)))?;
    let mut file = fs::File::create(&tmp).map_err(|e| LaunchError::io("create", &tmp, e))?;
    file.write_all(&text)
        .map_err(|e| LaunchError::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        LaunchError::io("rename into", path, e)
    })
}

/// Reads the record of `id`; `Ok(None)` when there is none (removed, or never made). The
/// record is read through the runtime-file reader: never through a symlink, never from a FIFO
/// or device, never more than [`Cap::STATE`] (a record symlinked to `/dev/zero` is an error
/// naming it, not gigabytes read).
pub fn read_record(host: &HostRoot, id: &str) -> Result<Option<ContainerRecord>, LaunchError> {
    if !ContainerId::is_valid(id) {
        return Ok(None);
    }
    let path = ContainerPaths::new(host, id).state;
    let rel = Path::new("isotop").join(id).join("state.json");
    match file::read_beneath(&host.run, &rel, Cap::STATE) {
        Ok(read) => serde_json::from_slice(&read.bytes)
            .map(Some)
            .map_err(|e| LaunchError::io("parse", &path, std::io::Error::other(e))),
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(LaunchError::io("read", &path, e.into_io())),
    }
}

/// Marks container `id`'s coming exit as asked for ([`ContainerPaths::stop_requested`]).
/// Only root writes `/run/isotop/<id>/`; the marker is still never opened through a link.
pub fn request_stop(host: &HostRoot, id: &str) -> Result<(), LaunchError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = ContainerPaths::new(host, id).stop_requested;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .map(drop)
        .map_err(|e| LaunchError::io("create", &path, e))
}

/// True when a stop of container `id` was asked for (its marker is there, a plain file).
pub fn stop_was_requested(host: &HostRoot, id: &str) -> bool {
    fs::symlink_metadata(ContainerPaths::new(host, id).stop_requested)
        .is_ok_and(|m| m.file_type().is_file())
}

/// Writes the record (creating `/run/isotop/<id>/`).
pub fn write_record(host: &HostRoot, record: &ContainerRecord) -> Result<(), LaunchError> {
    let paths = ContainerPaths::new(host, &record.id);
    fs::create_dir_all(&paths.run_dir).map_err(|e| LaunchError::io("create", &paths.run_dir, e))?;
    write_json(&paths.state, record)
}

/// Every readable record, oldest first. Unreadable or foreign entries are skipped.
pub fn list_records(host: &HostRoot) -> Vec<ContainerRecord> {
    let Ok(entries) = fs::read_dir(run_root(host)) else {
        return Vec::new();
    };
    let mut out: Vec<ContainerRecord> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| ContainerId::is_valid(name))
        .filter_map(|id| read_record(host, &id).ok().flatten())
        .collect();
    out.sort_by_key(|r| (r.created_ms, r.id.clone()));
    out
}

fn names_dir(host: &HostRoot) -> PathBuf {
    run_root(host).join("names")
}

/// Creates the claim file `path` holding `id`, only if there is none: how a name
/// (`names/<name>`) and a bridge address (`net/<bridge>/<address>`) are taken, so two
/// launches can never both take one. The id is written to a temporary file first and
/// hard-linked to `path` (`link(2)` fails with `EEXIST` when it exists): a claim appears with
/// its holder already in it, so no reader ever sees an empty claim and takes it for a stale
/// one. `AlreadyExists` when another holds it.
pub fn create_claim(path: &Path, id: &str) -> std::io::Result<()> {
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other(format!(
            "{} is not a claim path",
            path.display()
        )));
    };
    // A leading dot: never a valid name or address, so nobody takes it for a claim.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        dirs::unique_suffix()
    ));
    let linked = fs::write(&tmp, id.as_bytes()).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    linked
}

/// Who holds the claim file `path` (its text, trimmed); `None` when it is gone, unreadable,
/// not a regular file or longer than a claim can be ([`Cap::LINE`]).
pub fn claim_holder(path: &Path) -> Option<String> {
    let bytes = file::read_capped(path, Cap::LINE).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_string())
}

/// Claims `name` for `id` (atomic: `O_EXCL`). A claim whose container record is gone is stale
/// (a crash between claim and record) and is taken over.
pub fn claim_name(host: &HostRoot, name: &str, id: &str) -> Result<(), LaunchError> {
    let dir = names_dir(host);
    fs::create_dir_all(&dir).map_err(|e| LaunchError::io("create", &dir, e))?;
    let path = dir.join(name);
    for _ in 0..2 {
        match create_claim(&path, id) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = claim_holder(&path).unwrap_or_default();
                let alive = ContainerId::is_valid(&owner)
                    && (ContainerPaths::new(host, &owner).run_dir.exists()
                        || ContainerPaths::new(host, &owner).data_dir.exists());
                if alive {
                    return Err(LaunchError::NameInUse {
                        name: name.into(),
                        id: owner.chars().take(12).collect(),
                    });
                }
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(LaunchError::io("create", &path, e)),
        }
    }
    Err(LaunchError::NameInUse {
        name: name.into(),
        id: "(unknown)".into(),
    })
}

/// Releases `name` if `id` holds it.
pub fn release_name(host: &HostRoot, name: &str, id: &str) {
    let path = names_dir(host).join(name);
    if claim_holder(&path).as_deref() == Some(id) {
        let _ = fs::remove_file(&path);
    }
}

/// The id a name, a full id or a unique id prefix (≥ 3 digits) names among the records.
pub fn resolve(host: &HostRoot, target: &str) -> Result<ContainerRecord, LaunchError> {
    let records = list_records(host);
    if let Some(r) = records.iter().find(|r| r.name == target || r.id == target) {
        return Ok(r.clone());
    }
    let by_prefix: Vec<&ContainerRecord> = if target.len() >= 3 {
        records
            .iter()
            .filter(|r| r.id.starts_with(target))
            .collect()
    } else {
        Vec::new()
    };
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(LaunchError::NoSuchContainer {
            target: target.into(),
        }),
        many => Err(LaunchError::invalid(
            "TARGET",
            target,
            format!(
                "ambiguous: {} isotop containers start with it; give more of the id",
                many.len()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(dir: &Path) -> HostRoot {
        HostRoot::under(dir)
    }

    #[test]
    fn a_created_record_is_laid_out_at_the_containers_paths() {
        let dir = tempfile::tempdir().unwrap();
        let host = host(dir.path());
        let id = new_id().unwrap();
        let record = ContainerRecord::created(&host, &id, "web");
        let paths = ContainerPaths::new(&host, &id);
        assert_eq!(record.status, Status::Created);
        assert_eq!((record.rootfs, record.upper), (paths.rootfs, paths.upper));
        assert_eq!(record.cgroup_path, format!("/isotop/{id}"));
        assert!(record.created_ms > 0 && record.pid.is_none() && record.exit_code.is_none());
    }

    #[test]
    fn a_claim_is_created_once_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim");
        assert_eq!(claim_holder(&path), None);
        create_claim(&path, "abc").unwrap();
        let again = create_claim(&path, "def").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(claim_holder(&path).as_deref(), Some("abc"));
        // Nothing but the claim is left in the directory (the temporary file is gone).
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn concurrent_launches_claim_one_name_once() {
        // Each launch has its run dir before it claims (as `prepare` does), so no claim is
        // stale; exactly one of them may get the name, and the claim names the winner.
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let host = host(dir.path());
            let ids: Vec<String> = (0..8).map(|_| new_id().unwrap()).collect();
            for id in &ids {
                fs::create_dir_all(ContainerPaths::new(&host, id).run_dir).unwrap();
            }
            let winners: Vec<String> = std::thread::scope(|scope| {
                let handles: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        let host = &host;
                        scope.spawn(move || claim_name(host, "web", id).ok().map(|()| id.clone()))
                    })
                    .collect();
                handles
                    .into_iter()
                    .filter_map(|h| h.join().unwrap())
                    .collect()
            });
            assert_eq!(winners.len(), 1, "{winners:?}");
            let holder = claim_holder(&names_dir(&host).join("web"));
            assert_eq!(holder.as_deref(), Some(winners[0].as_str()));
        }
    }

    #[test]
    fn records_round_trip_and_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let host = host(dir.path());
        let id = new_id().unwrap();
        assert!(ContainerId::is_valid(&id));
        assert!(!ContainerId::is_valid("../etc"));
        write_record(&host, &ContainerRecord::created(&host, &id, "web")).unwrap();
        assert_eq!(read_record(&host, &id).unwrap().unwrap().name, "web");
        assert_eq!(resolve(&host, "web").unwrap().id, id);
        assert_eq!(resolve(&host, &id[..5]).unwrap().id, id);
        assert!(matches!(
            resolve(&host, "nope"),
            Err(LaunchError::NoSuchContainer { .. })
        ));
        assert_eq!(list_records(&host).len(), 1);
    }

    #[test]
    fn names_are_claimed_once_and_stale_claims_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let host = host(dir.path());
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        claim_name(&host, "web", &a).unwrap();
        // `a` has no record or data dir yet: its claim is stale and `b` takes it.
        claim_name(&host, "web", &b).unwrap();
        write_record(&host, &ContainerRecord::created(&host, &b, "web")).unwrap();
        assert!(matches!(
            claim_name(&host, "web", &a),
            Err(LaunchError::NameInUse { .. })
        ));
        release_name(&host, "web", &a); // not a's: kept
        assert!(claim_name(&host, "web", &a).is_err());
        release_name(&host, "web", &b);
        claim_name(&host, "web", &a).unwrap();
    }
}
