//! `ls`'s life fields and columns: what each container's runtime recorded of its life
//! (`host::runtime::state`, one read of its files per row): `restart_count`, `health`,
//! `exit_code`, `started_at`, `finished_at` in `--json` ([`Life`]); RESTARTS and HEALTH with
//! `--wide`, beside STATE (`-` where the runtime records none).

use crate::host::HostRoot;
use crate::host::scan::ContainerView;

pub(crate) use crate::cli::inspect::life::Life;

/// The columns `--wide` adds after STATE.
pub(super) const WIDE_HEADER: [&str; 2] = [">RESTARTS", "HEALTH"];

/// The life of every container of the scan, in its order.
pub(super) fn read(root: &HostRoot, views: &[ContainerView]) -> Vec<Life> {
    views
        .iter()
        .map(|v| Life::read(root, &v.container))
        .collect()
}

/// The `--wide` cells: the restart count and the health status, `-` where not recorded.
pub(super) fn wide_cells(life: &Life) -> [String; 2] {
    [
        life.restart_count
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into()),
        life.health.clone().unwrap_or_else(|| "-".into()),
    ]
}
