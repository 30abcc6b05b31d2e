//! runc and crun used directly: their state dirs `/run/runc/<id>/` and `/run/crun/<id>/`.
//!
//! Facts from the real tools on this machine (runc 1.1, crun 1.8):
//! - runc writes `state.json`: `id`, `init_process_pid`, `init_process_start` (clock ticks after
//!   boot, as `/proc/<pid>/stat` field 22), `created` (RFC 3339), `config.labels` (a list of
//!   `key=value`: the spec's annotations plus `bundle=<dir>`), `config.cgroups.path` (the spec's
//!   `cgroupsPath` for the cgroupfs driver) and `cgroup_paths` (controller → absolute mount path,
//!   `""` for the v2 hierarchy, e.g. `/sys/fs/cgroup/unified/<path>` on a hybrid host).
//! - crun writes `status`: `pid`, `process-start-time` (ticks), `cgroup-path` (hierarchy
//!   relative), `bundle`, `created`, and copies the spec to `config.json` (annotations).
//!
//! Rootless runs keep the same layout under `/run/user/<uid>/{runc,crun}`. Docker, containerd
//! and Podman call runc/crun with their own state roots, so these dirs hold only direct use.
//! A user writes whatever they like there: every file is read through [`super::file`] below
//! `/run/user` (no symlink followed, no FIFO waited on), and each state records who could have
//! written it ([`Writers`]) and when it says its container was created, so the pid it names can
//! be checked against its owner and start time before it is believed
//! ([`crate::host::container`]). A container's id is its state dir's name, as runc and crun
//! themselves use it (only names in runc's charset, [`is_runtime_id`]); the `id` inside
//! `state.json` is not believed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::file::{Cap, Writers, list_dirs_beneath};
use super::{Runtime, clean_labels, read_json_beneath};
use crate::host::HostRoot;
use crate::host::text::clean_str;

/// One container in a runc or crun state dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciState {
    /// [`Runtime::Runc`] or [`Runtime::Crun`].
    pub runtime: Runtime,
    pub id: String,
    /// The init's host pid as recorded (stale once the container stopped).
    pub init_pid: Option<i32>,
    /// The init's start time in clock ticks after boot: tells the real init from a later
    /// process that reused its pid.
    pub init_start_ticks: Option<u64>,
    /// The container's cgroup paths, relative to their hierarchy roots, never `/`.
    pub cgroup_paths: Vec<String>,
    /// Annotations (crun) or labels (runc), cleaned.
    pub labels: BTreeMap<String, String>,
    /// When the runtime says it created the container: milliseconds since the Unix epoch
    /// (runc's and crun's `created`).
    pub created_ms: Option<i64>,
    /// The state file read.
    pub source: PathBuf,
    /// Who could have written the state file: a stranger's claims are checked.
    pub writers: Writers,
}

#[derive(Deserialize)]
struct RuncState {
    init_process_pid: Option<i32>,
    init_process_start: Option<u64>,
    created: Option<String>,
    config: Option<RuncConfig>,
    cgroup_paths: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct RuncConfig {
    labels: Option<Vec<String>>,
    cgroups: Option<RuncCgroups>,
}

#[derive(Deserialize)]
struct RuncCgroups {
    path: Option<String>,
}

#[derive(Deserialize)]
struct CrunStatus {
    pid: Option<i32>,
    #[serde(rename = "process-start-time")]
    process_start_time: Option<u64>,
    #[serde(rename = "cgroup-path")]
    cgroup_path: Option<String>,
    created: Option<String>,
}

#[derive(Deserialize)]
struct SpecAnnotations {
    annotations: Option<BTreeMap<String, String>>,
}

/// One state root: the directory `base/rel`, read without following a symlink below `base`.
struct StateRoot {
    base: PathBuf,
    rel: PathBuf,
}

/// State roots of `tool` (`runc` or `crun`): rootful `/run/<tool>` first, then each user's
/// `/run/user/<uid>/<tool>` (walked from root's `/run/user`, so the `<uid>` dir's owner counts
/// among the writers).
fn state_roots(root: &HostRoot, tool: &str) -> Vec<StateRoot> {
    let mut roots = vec![StateRoot {
        base: root.run.clone(),
        rel: PathBuf::from(tool),
    }];
    let users = root.run.join("user");
    let uids = list_dirs_beneath(&users, Path::new(""))
        .map(|l| l.names)
        .unwrap_or_default();
    roots.extend(uids.into_iter().map(|uid| StateRoot {
        base: users.clone(),
        rel: Path::new(&uid).join(tool),
    }));
    roots
}

/// Every runc and crun container on disk (running, created or stopped).
pub fn read_states(root: &HostRoot) -> Vec<OciState> {
    let mut states = Vec::new();
    for (tool, runtime) in [("runc", Runtime::Runc), ("crun", Runtime::Crun)] {
        for dir in state_roots(root, tool) {
            let ids = list_dirs_beneath(&dir.base, &dir.rel)
                .map(|l| l.names)
                .unwrap_or_default();
            for id in ids.into_iter().filter(|id| is_runtime_id(id)) {
                let state = match runtime {
                    Runtime::Runc => read_runc(root, &dir, &id),
                    _ => read_crun(&dir, &id),
                };
                states.extend(state);
            }
        }
    }
    states
}

/// True for a path that names a cgroup below the root (claims on `/` would swallow the host).
fn is_own_path(path: &str) -> bool {
    path.starts_with('/') && !path.trim_end_matches('/').is_empty()
}

fn push_unique(paths: &mut Vec<String>, path: String) {
    let path = path.trim_end_matches('/').to_string();
    if is_own_path(&path) && !paths.contains(&path) {
        paths.push(path);
    }
}

/// Turns one of runc's `cgroup_paths` values (a host path under `/sys/fs/cgroup`) into the
/// path inside its hierarchy: drop the mount dir (`memory`, `cpu,cpuacct`, `unified`, ...),
/// except for the v2 key `""` on a unified host, where the hierarchy is mounted at
/// `/sys/fs/cgroup` itself.
pub fn hierarchy_relative(root: &HostRoot, key: &str, absolute: &str) -> Option<String> {
    let rest = absolute.strip_prefix("/sys/fs/cgroup")?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    let unified_host = root.sys.join("fs/cgroup/cgroup.controllers").exists();
    if key.is_empty() && unified_host {
        return Some(if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        });
    }
    let below_mount = rest.trim_start_matches('/');
    let (_mount_dir, path) = below_mount.split_once('/')?;
    Some(format!("/{path}"))
}

/// True for an id runc and crun accept (`[A-Za-z0-9_+.-]`, at most 1024 bytes, not `.` or
/// `..`): the state dir's name, which is the id (the file inside can say anything).
pub fn is_runtime_id(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1024
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'-'))
}

fn read_runc(root: &HostRoot, dir: &StateRoot, dir_name: &str) -> Option<OciState> {
    let rel = dir.rel.join(dir_name).join("state.json");
    let (state, writers): (RuncState, Writers) = read_json_beneath(&dir.base, &rel, Cap::STATE)?;
    let source = dir.base.join(rel);
    let mut cgroup_paths = Vec::new();
    if let Some(path) = state
        .config
        .as_ref()
        .and_then(|c| c.cgroups.as_ref())
        .and_then(|c| c.path.clone())
    {
        push_unique(&mut cgroup_paths, path);
    }
    for (key, absolute) in state.cgroup_paths.iter().flatten() {
        if let Some(path) = hierarchy_relative(root, key, absolute) {
            push_unique(&mut cgroup_paths, path);
        }
    }
    let labels = state
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .map(|list| {
            list.iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (clean_str(k), clean_str(v)),
                    None => (clean_str(kv), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(OciState {
        runtime: Runtime::Runc,
        // The dir name is the id runc acts on; the body's `id` is whatever its writer chose.
        id: dir_name.to_string(),
        init_pid: state.init_process_pid.filter(|p| *p > 0),
        init_start_ticks: state.init_process_start,
        created_ms: state.created.as_deref().and_then(parse_rfc3339_ms),
        cgroup_paths,
        labels,
        source,
        writers,
    })
}

fn read_crun(dir: &StateRoot, dir_name: &str) -> Option<OciState> {
    let rel = dir.rel.join(dir_name);
    let (status, writers): (CrunStatus, Writers) =
        read_json_beneath(&dir.base, &rel.join("status"), Cap::STATE)?;
    let source = dir.base.join(&rel).join("status");
    let mut cgroup_paths = Vec::new();
    if let Some(path) = status.cgroup_path {
        push_unique(&mut cgroup_paths, path);
    }
    let labels =
        read_json_beneath::<SpecAnnotations>(&dir.base, &rel.join("config.json"), Cap::STATE)
            .and_then(|(s, _)| s.annotations)
            .map(|a| clean_labels(&a))
            .unwrap_or_default();
    Some(OciState {
        runtime: Runtime::Crun,
        id: dir_name.to_string(),
        init_pid: status.pid.filter(|p| *p > 0),
        init_start_ticks: status.process_start_time,
        created_ms: status.created.as_deref().and_then(parse_rfc3339_ms),
        cgroup_paths,
        labels,
        source,
        writers,
    })
}

/// Milliseconds since the Unix epoch of an RFC 3339 time as Go and crun write it
/// (`2024-05-01T12:00:00.123456789Z`, or with a `+02:00` offset); `None` for anything else.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    // The offset starts at `Z`, `+` or the `-` after the seconds.
    let offset_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, offset) = rest.split_at(offset_at);
    let mut clock_parts = clock.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let seconds_text = clock_parts.next()?;
    let (whole, fraction) = seconds_text.split_once('.').unwrap_or((seconds_text, ""));
    let second: i64 = whole.parse().ok()?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{:0<3}", &fraction[..fraction.len().min(3)])
        .parse()
        .ok()?;
    // Runtimes write times of this era; anything else (`9223372036854775807-…`) is garbage
    // that would overflow the day count.
    if !((1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second))
    {
        return None;
    }
    let offset_minutes = match offset {
        "Z" | "z" => 0,
        _ => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset.get(1..)?.split_once(':')?;
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            if !((0..24).contains(&h) && (0..60).contains(&m)) {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day)?;
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(hour * 3_600 + minute * 60 + second - offset_minutes * 60)?;
    let ms = seconds.checked_mul(1_000)?.checked_add(millis)?;
    // An offset may move the first seconds of 1970 before the epoch: still refused.
    (ms >= 0).then_some(ms)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm); `None`
/// outside the years 1970..=9999 (the caller refuses them; checked arithmetic anyway).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.checked_sub(era.checked_mul(400)?)?;
    let m = (month + 9) % 12;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era
        .checked_mul(365)?
        .checked_add(year_of_era / 4 - year_of_era / 100 + day_of_year)?;
    era.checked_mul(146_097)?
        .checked_add(day_of_era)?
        .checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_cgroup_paths_lose_their_mount_dir() {
        let hybrid = HostRoot::under(Path::new("/nonexistent-fixture"));
        assert_eq!(
            hierarchy_relative(&hybrid, "memory", "/sys/fs/cgroup/memory/a/b").as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            hierarchy_relative(&hybrid, "cpu", "/sys/fs/cgroup/cpu,cpuacct/a").as_deref(),
            Some("/a")
        );
        assert_eq!(
            hierarchy_relative(&hybrid, "", "/sys/fs/cgroup/unified/x").as_deref(),
            Some("/x")
        );
        assert_eq!(hierarchy_relative(&hybrid, "", "/elsewhere/x"), None);
        assert_eq!(hierarchy_relative(&hybrid, "", "/sys/fs/cgroupX/x"), None);
        assert_eq!(
            hierarchy_relative(&hybrid, "pids", "/sys/fs/cgroup/pids"),
            None
        );
    }

    #[test]
    fn unified_hosts_keep_the_whole_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sys/fs/cgroup")).unwrap();
        std::fs::write(dir.path().join("sys/fs/cgroup/cgroup.controllers"), "cpu\n").unwrap();
        let root = HostRoot::under(dir.path());
        assert_eq!(
            hierarchy_relative(&root, "", "/sys/fs/cgroup/system.slice/runc-x.scope").as_deref(),
            Some("/system.slice/runc-x.scope")
        );
    }

    #[test]
    fn rfc3339_times_as_go_and_crun_write_them() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T12:00:00.123456789Z"),
            Some(1_714_564_800_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T14:00:00.5+02:00"),
            Some(1_714_564_800_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-02-29T00:00:00-01:30"),
            Some(1_709_170_200_000)
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "x-y-zTa:b:cZ",
            "2024-05-01T00:00:00",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_state_dirs_name_is_the_id_never_the_bodys() {
        let dir = tempfile::tempdir().unwrap();
        let runc = dir.path().join("run/runc");
        for name in ["web", "bad name", "x:y"] {
            std::fs::create_dir_all(runc.join(name)).unwrap();
            std::fs::write(
                runc.join(name).join("state.json"),
                r#"{"id":"8d36a66111ac7777","init_process_pid":1}"#,
            )
            .unwrap();
        }
        let root = HostRoot::under(dir.path());
        let ids: Vec<String> = read_states(&root).into_iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["web".to_string()]);
        assert!(is_runtime_id("a-b_c+d.e"));
        assert!(is_runtime_id(&"x".repeat(1024)));
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(1025)] {
            assert!(!is_runtime_id(bad), "{bad}");
        }
    }

    #[test]
    fn absurd_years_are_refused_not_overflowed() {
        for bad in [
            "9223372036854775807-03-01T00:00:00Z",
            "-9223372036854775808-03-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "10000-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
        assert_eq!(
            parse_rfc3339_ms("9999-12-31T23:59:59Z"),
            Some(253_402_300_799_000)
        );
    }

    #[test]
    fn root_paths_are_never_claims() {
        let mut paths = Vec::new();
        push_unique(&mut paths, "/".into());
        push_unique(&mut paths, "relative/path".into());
        push_unique(&mut paths, "/a/".into());
        push_unique(&mut paths, "/a".into());
        assert_eq!(paths, vec!["/a".to_string()]);
    }
}
