//! LXC: containers named by their cgroup path, configured in `/var/lib/lxc/<name>/config`.
//!
//! LXC 4+ puts a container's processes in `/lxc.payload.<name>` and its monitor (`lxc-start`)
//! in `/lxc.monitor.<name>`, which is not the container; LXC 3 and older used `/lxc/<name>`.
//! The name is in the path itself; the config file, when present, is the metadata.

use std::path::PathBuf;

use super::{Metadata, clean_name, list_dir_names};
use crate::host::HostRoot;

/// The container name a cgroup path segment names, given its parent segment (`None` at the
/// top): `lxc.payload.<name>`, or `<name>` below a segment `lxc`.
pub fn name_from_segment(parent: Option<&str>, segment: &str) -> Option<String> {
    if let Some(name) = segment.strip_prefix("lxc.payload.") {
        return (!name.is_empty()).then(|| name.to_string());
    }
    if parent == Some("lxc") && !segment.is_empty() && !segment.starts_with("lxc.monitor.") {
        return Some(segment.to_string());
    }
    None
}

/// LXC's config of container `name`.
pub fn config_path(root: &HostRoot, name: &str) -> PathBuf {
    root.var_lib.join("lxc").join(name).join("config")
}

/// What LXC's files say about container `name`: the name itself (from the path) and the
/// config file when it exists.
pub fn read(root: &HostRoot, name: &str) -> Metadata {
    let config = config_path(root, name);
    Metadata {
        name: clean_name(name),
        source: config.is_file().then_some(config),
        ..Metadata::default()
    }
}

/// Names of every container LXC keeps a config for (running or not).
pub fn list(root: &HostRoot) -> Vec<String> {
    list_dir_names(&root.var_lib.join("lxc"))
        .into_iter()
        .filter(|name| config_path(root, name).is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_legacy_paths_name_the_container() {
        assert_eq!(
            name_from_segment(None, "lxc.payload.web"),
            Some("web".into())
        );
        assert_eq!(name_from_segment(Some("lxc"), "db"), Some("db".into()));
        assert_eq!(name_from_segment(None, "lxc.monitor.web"), None);
        assert_eq!(name_from_segment(Some("lxc"), "lxc.monitor.web"), None);
        assert_eq!(name_from_segment(None, "lxc.payload."), None);
        assert_eq!(name_from_segment(Some("other"), "db"), None);
    }
}
