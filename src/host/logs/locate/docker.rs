//! Docker: the log driver is in the container's `hostconfig.json` (`LogConfig.Type`), the
//! `json-file` path in its `config.v2.json` (`LogPath`, the host's path).
//!
//! - `json-file`: `<id>-json.log` (or the recorded `LogPath`), rotated `.1` (newest) … `.N`,
//!   compressed `.N.gz` with `compress=true`;
//! - `local`: `local-logs/container.log`, rotated `container.log.N.gz` (compressed by default);
//! - any other driver that Docker cannot read back (syslog, fluentd, gelf, awslogs, splunk,
//!   …): the "dual logging" cache `container-cached.log`, in `local`'s format, unless the
//!   cache was turned off;
//! - `journald`, `none`: no file (the journal, or nothing).
//!
//! Without a readable `hostconfig.json` the files on disk decide.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Rotation, files, no_file};
use crate::host::HostRoot;
use crate::host::logs::{LogFormat, LogLocation};
use crate::host::runtime::{docker, read_json};
use crate::units::ContainerId;

#[derive(Deserialize)]
struct ConfigV2 {
    #[serde(rename = "LogPath", default)]
    log_path: String,
}

#[derive(Deserialize)]
struct HostConfig {
    #[serde(rename = "LogConfig")]
    log_config: Option<LogConfig>,
}

#[derive(Deserialize)]
struct LogConfig {
    #[serde(rename = "Type", default)]
    kind: String,
}

/// The log driver Docker recorded for container `id`, if readable.
fn driver(dir: &Path) -> Option<String> {
    let host: HostConfig = read_json(&dir.join("hostconfig.json"))?;
    host.log_config.map(|c| c.kind).filter(|k| !k.is_empty())
}

/// The `json-file` log: `LogPath` when Docker recorded one (an absolute host path), else its
/// usual place.
fn json_file_path(root: &HostRoot, dir: &Path, id: &str) -> PathBuf {
    read_json::<ConfigV2>(&dir.join("config.v2.json"))
        .map(|c| c.log_path)
        .filter(|p| Path::new(p).is_absolute() && !p.split('/').any(|s| s == ".."))
        .map(|p| root.host_path(Path::new(&p)))
        .unwrap_or_else(|| dir.join(format!("{id}-json.log")))
}

/// Where Docker container `id`'s log is (see the module).
pub(super) fn locate(root: &HostRoot, id: &str) -> LogLocation {
    if !ContainerId::is_valid(id) {
        return no_file(
            "this Docker container's id is not one Docker makes",
            "docker ps -a --no-trunc",
        );
    }
    let config = docker::config_path(root, id);
    let dir = config.parent().unwrap_or(Path::new("/")).to_path_buf();
    let short = &id[..12];
    let local = || dir.join("local-logs/container.log");
    let cached = || dir.join("container-cached.log");
    match driver(&dir).as_deref() {
        Some("json-file") => files(
            LogFormat::DockerJsonFile,
            json_file_path(root, &dir, id),
            Rotation::Numbered,
        ),
        Some("local") => files(LogFormat::DockerLocal, local(), Rotation::Numbered),
        Some("journald") => no_file(
            "Docker sends this container's output to the systemd journal (log driver journald)",
            &format!(
                "journalctl CONTAINER_ID={short} (or docker logs {short}); for a file, \
                 recreate it with docker run --log-driver json-file"
            ),
        ),
        Some("none") => no_file(
            "Docker keeps none of this container's output (log driver none)",
            "recreate it with docker run --log-driver json-file (or local)",
        ),
        Some(other) => {
            if cached().exists() {
                return files(LogFormat::DockerLocal, cached(), Rotation::Numbered);
            }
            let other = crate::host::text::clean_str(other);
            no_file(
                &format!(
                    "Docker sends this container's output to {other} (log driver {other}) and \
                     keeps no local copy (cache-disabled)"
                ),
                &format!(
                    "read it where {other} delivers it; for a file, recreate it with docker \
                     run --log-driver json-file"
                ),
            )
        }
        None => {
            let json = json_file_path(root, &dir, id);
            if json.exists() {
                files(LogFormat::DockerJsonFile, json, Rotation::Numbered)
            } else if local().exists() {
                files(LogFormat::DockerLocal, local(), Rotation::Numbered)
            } else if cached().exists() {
                files(LogFormat::DockerLocal, cached(), Rotation::Numbered)
            } else {
                no_file(
                    &format!(
                        "Docker's files for this container name no log driver and hold no log \
                         ({} unreadable or absent)",
                        dir.join("hostconfig.json").display()
                    ),
                    &format!("docker inspect --format '{{{{.HostConfig.LogConfig}}}}' {short}"),
                )
            }
        }
    }
}
