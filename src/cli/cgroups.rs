//! `isotop cgroups [PATH] [--depth N] [--json]`: the cgroup tree with stats and limits.
//!
//! Table: a header line naming the mode and hierarchies, then one row per cgroup (names
//! indented by depth), its CONTAINER column saying whose it is: `own: NAME` when it is a
//! running container's own cgroup (every process in it and below is that container's, the
//! rule `host::container::measure` takes figures by), `shared: NAME, …` when containers are in
//! it with processes outside them (their figures are not read from it). JSON:
//! `{"mode", "hierarchies", "tree", "containers"}` where `tree` is a [`CgroupNode`] (path,
//! name, reading, children; field names carry their units) and `containers` maps a cgroup
//! path to the containers in it (`id`, `name`, `own`, `hierarchies`). A PATH that exists in
//! no hierarchy is the user's mistake (exit 2). With `--at`/`--from` the tree and its
//! occupants are a recorded frame's, drawn by the same [`render`] ([`recorded`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::format;
use super::recorded::RecordedFrame;
use super::table::Table;
use super::{CgroupsArgs, CliError, print_json};
use crate::host::HostRoot;
use crate::host::cgroup::{
    CgroupLayout, CgroupMode, CgroupNode, FreezerState, Hierarchy, detect_layout, normalize_path,
    read_tree,
};
use crate::host::container::assign::own_cgroup::is_root;
use crate::host::scan::{ContainerView, ScanOptions, scan};
use crate::host::text::clean_str;
use crate::units::limit_text;

mod recorded;

/// The `--json` document.
#[derive(Debug, Serialize)]
pub(crate) struct CgroupsJson<'a> {
    /// Null only for a recorded frame whose sampler could not detect the layout.
    pub mode: Option<CgroupMode>,
    /// Null for a recorded frame (it holds the mode, not the mount points).
    pub hierarchies: Option<&'a [Hierarchy]>,
    pub tree: &'a CgroupNode,
    /// Cgroup path → the running containers in it, and whether it is their own.
    pub containers: &'a Occupants,
}

/// Cgroup path (non-root) → the running containers whose processes are in it.
pub(crate) type Occupants = BTreeMap<String, Vec<Occupant>>;

/// A running container in a cgroup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Occupant {
    pub id: String,
    pub name: String,
    /// Its own in every hierarchy listed (no process outside it there): figures come from it.
    pub own: bool,
    /// The hierarchies it is in at this path (`cpu,cpuacct`, `unified`, ...).
    pub hierarchies: Vec<String>,
}

/// Who is in which cgroup, from the containers' measured ownership.
pub(crate) fn occupants<'a>(containers: impl IntoIterator<Item = &'a ContainerView>) -> Occupants {
    let mut out = Occupants::new();
    for view in containers {
        for o in view.ownership.iter().filter(|o| !is_root(&o.path)) {
            let entry = out.entry(o.path.clone()).or_default();
            match entry.iter_mut().find(|x| x.id == view.container.id) {
                Some(x) => {
                    x.own &= o.own;
                    x.hierarchies.push(o.hierarchy.clone());
                }
                None => entry.push(Occupant {
                    id: view.container.id.clone(),
                    name: view.container.name.clone(),
                    own: o.own,
                    hierarchies: vec![o.hierarchy.clone()],
                }),
            }
        }
    }
    out
}

/// The CONTAINER cell: `own: NAME`, `shared: A, B`, or `-`.
fn whose(occupants: Option<&Vec<Occupant>>) -> String {
    let Some(list) = occupants.filter(|l| !l.is_empty()) else {
        return "-".into();
    };
    match list.as_slice() {
        [only] if only.own => format!("own: {}", clean_str(&only.name)),
        _ => {
            let names: Vec<String> = list.iter().map(|o| clean_str(&o.name)).collect();
            format!("shared: {}", names.join(", "))
        }
    }
}

pub(crate) fn run(root: &HostRoot, args: &CgroupsArgs) -> Result<(), CliError> {
    let start = start_path(args)?;
    if let Some(recorded) = RecordedFrame::open(root, &args.recorded)? {
        return recorded::run(&recorded, args, &start);
    }
    let layout = detect_layout(root)?;
    let Some(tree) = read_tree(root, &layout, &start, args.depth)? else {
        return Err(CliError::Usage(format!(
            "no cgroup {} in any hierarchy of this {} host (run `isotop cgroups` to see the tree)",
            clean_str(&start),
            layout.mode.as_str()
        )));
    };
    let options = ScanOptions {
        namespaces: false,
        stopped: false,
    };
    // Whose each cgroup is needs the processes; without them (a root with no procfs) the
    // tree is still shown, its CONTAINER column empty.
    let containers = match scan(root, options) {
        Ok(snapshot) => occupants(&snapshot.containers),
        Err(e) => {
            super::warn(&format!("containers not shown: {e}"));
            Occupants::new()
        }
    };
    if args.json {
        return print_json(&CgroupsJson {
            mode: Some(layout.mode),
            hierarchies: Some(&layout.hierarchies),
            tree: &tree,
            containers: &containers,
        });
    }
    let mut text = header(&layout);
    text.push('\n');
    text.push_str(&render(&tree, &containers));
    super::print_text(&text)
}

/// The cgroup path asked for (the root without one); `..` is the user's mistake.
fn start_path(args: &CgroupsArgs) -> Result<String, CliError> {
    let asked = args.path.as_deref().unwrap_or("/");
    normalize_path(asked).ok_or_else(|| {
        CliError::Usage(format!(
            "{:?} is not a cgroup path: `..` is not allowed",
            clean_str(asked)
        ))
    })
}

/// `cgroup mode hybrid: cpu /sys/fs/cgroup/cpu, ..., unified /sys/fs/cgroup/unified`.
pub(crate) fn header(layout: &CgroupLayout) -> String {
    let parts: Vec<String> = layout
        .hierarchies
        .iter()
        .map(|h| {
            let place = clean_str(&h.mount_point.to_string_lossy());
            if h.version == 2 {
                let controllers = if h.controllers.is_empty() {
                    "no controllers".to_string()
                } else {
                    h.controllers.join(" ")
                };
                format!("v2 {place} ({controllers})")
            } else {
                format!("{} {place}", h.label())
            }
        })
        .collect();
    format!("cgroup mode {}: {}", layout.mode.as_str(), parts.join(", "))
}

/// The tree as an aligned table.
pub(crate) fn render(tree: &CgroupNode, containers: &Occupants) -> String {
    let mut table = Table::new(&[
        "CGROUP",
        ">PROCS",
        ">CPU",
        ">THROTTLED",
        ">CPU LIMIT",
        ">MEM",
        ">MEM LIMIT",
        ">OOM KILLS",
        ">PIDS",
        "FROZEN",
        "CONTAINER",
    ]);
    add_rows(&mut table, tree, 0, containers);
    table.render()
}

fn add_rows(table: &mut Table, node: &CgroupNode, depth: usize, containers: &Occupants) {
    let r = &node.reading;
    let label = if depth == 0 {
        node.path.clone()
    } else {
        node.name.clone()
    };
    let cpu = r.cpu.as_ref();
    let memory = r.memory.as_ref();
    let throttled = match (
        cpu.and_then(|c| c.nr_throttled),
        cpu.and_then(|c| c.nr_periods),
    ) {
        (Some(n), Some(periods)) => format!("{n}/{periods}"),
        _ => "-".into(),
    };
    let cpu_limit = limit_text(r.limits.cpu_limit_cpus(), |cpus| format!("{cpus:.2}"));
    let pids = match (r.pids.as_ref().and_then(|p| p.current), r.limits.pids_max) {
        (Some(current), Some(max)) => format!("{current}/{max}"),
        (Some(current), None) => current.to_string(),
        _ => "-".into(),
    };
    let frozen = match r.freezer {
        Some(FreezerState::Thawed) => "no",
        Some(FreezerState::Freezing) => "freezing",
        Some(FreezerState::Frozen) => "yes",
        None => "-",
    };
    table.push(vec![
        format!("{}{label}", "  ".repeat(depth)),
        r.nprocs.to_string(),
        or_dash(
            cpu.and_then(|c| c.usage_usec)
                .map(|usec| format::duration(usec as f64 / 1e6)),
        ),
        throttled,
        cpu_limit,
        or_dash(memory.and_then(|m| m.usage_bytes).map(format::bytes)),
        limit_text(r.limits.memory_max_bytes, format::bytes),
        or_dash(
            memory
                .and_then(|m| m.events.oom_kill)
                .map(|n| n.to_string()),
        ),
        pids,
        frozen.into(),
        whose(containers.get(&node.path)),
    ]);
    for child in &node.children {
        add_rows(table, child, depth + 1, containers);
    }
}

fn or_dash(text: Option<String>) -> String {
    text.unwrap_or_else(|| "-".into())
}
