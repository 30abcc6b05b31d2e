//! `inspect`'s namespace section: each namespace of the container's init, whether it is the
//! host's (the host reference's) and which other containers share it, from a scan or a
//! recorded frame alike.

use super::NamespaceEntry;
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::namespace::HostReference;
use crate::host::scan::ContainerView;

/// Each namespace of `c`'s init, whether it is the host's and which of `containers` share it.
pub(super) fn namespace_detail(
    root: &HostRoot,
    c: &Container,
    host: &HostReference,
    containers: &[ContainerView],
) -> Vec<NamespaceEntry> {
    let Some(pid) = c.init_pid else {
        return Vec::new();
    };
    c.namespaces
        .iter()
        .map(|(kind, inode)| NamespaceEntry {
            kind,
            inode,
            shared_with_host: host.is_host(kind, inode),
            shared_with: containers
                .iter()
                .filter(|o| o.container.id != c.id)
                .filter(|o| o.container.namespaces.get(kind) == Some(inode))
                .map(|o| o.container.id.clone())
                .collect(),
            source: root
                .pid_dir(pid)
                .join("ns")
                .join(kind.name())
                .display()
                .to_string(),
        })
        .collect()
}

/// `pid 2: <why>`: whose namespaces stand for the host's.
pub(super) fn host_reference_text(host: &HostReference) -> String {
    match host.pid {
        Some(pid) => format!("pid {pid}: {}", host.explanation),
        None => host.explanation.clone(),
    }
}
