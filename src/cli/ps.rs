//! `isotop ps TARGET`: a container's processes as a tree (by parent pid), with each process's
//! pid inside the container's pid namespace beside its host pid.

use serde::Serialize;

use super::{CliError, TargetArgs, print_json, print_text, table::Table, target};
use crate::cli::format::{bytes, duration};
use crate::host::HostRoot;
use crate::host::process::{Process, read_nspids};
use crate::host::scan::{ScanOptions, scan};
use crate::host::users::UserNames;

/// One process in the tree.
#[derive(Debug, Serialize)]
pub(crate) struct ProcessNode {
    pub pid: i32,
    /// The pid inside the container's pid namespace (last `NSpid` entry), when readable.
    pub container_pid: Option<i32>,
    pub ppid: i32,
    pub user: String,
    pub state: String,
    /// CPU time used so far, seconds (utime + stime).
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub command: String,
    pub children: Vec<ProcessNode>,
}

pub(crate) fn run(root: &HostRoot, args: &TargetArgs) -> Result<(), CliError> {
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target)?;
    let users = UserNames::read(root);
    let members: Vec<&Process> = snapshot
        .processes
        .iter()
        .filter(|p| view.container.pids.contains(&p.pid))
        .collect();
    let forest = build_forest(root, &members, &users, snapshot.clock_ticks);
    if args.json {
        return print_json(&serde_json::json!({
            "id": view.container.id,
            "name": view.container.name,
            "runtime": view.container.runtime,
            "processes": forest,
        }));
    }
    if forest.is_empty() {
        return print_text(&format!(
            "container {} has no processes ({})\n",
            view.container.name, view.state
        ));
    }
    let mut table = Table::new(&[">PID", ">CPID", "USER", "S", ">TIME", ">RSS", "COMMAND"]);
    for node in &forest {
        add_rows(&mut table, node, "", true, true);
    }
    print_text(&table.render())
}

/// Roots are the members whose parent is not a member; children sorted by pid.
pub(crate) fn build_forest(
    root: &HostRoot,
    members: &[&Process],
    users: &UserNames,
    ticks: u64,
) -> Vec<ProcessNode> {
    let pids: foldhash::HashSet<i32> = members.iter().map(|p| p.pid).collect();
    let mut roots: Vec<&Process> = members
        .iter()
        .copied()
        .filter(|p| !pids.contains(&p.ppid))
        .collect();
    roots.sort_by_key(|p| p.pid);
    roots
        .into_iter()
        .map(|p| node(root, p, members, users, ticks, 0))
        .collect()
}

fn node(
    root: &HostRoot,
    p: &Process,
    members: &[&Process],
    users: &UserNames,
    ticks: u64,
    depth: usize,
) -> ProcessNode {
    let mut children: Vec<&Process> = members
        .iter()
        .copied()
        .filter(|c| c.ppid == p.pid && c.pid != p.pid)
        .collect();
    children.sort_by_key(|c| c.pid);
    // Depth bound: a pid cycle cannot happen in one consistent read, but reads are not atomic.
    let children = if depth < 256 {
        children
            .into_iter()
            .map(|c| node(root, c, members, users, ticks, depth + 1))
            .collect()
    } else {
        Vec::new()
    };
    ProcessNode {
        pid: p.pid,
        container_pid: read_nspids(root, p.pid).and_then(|v| v.last().copied()),
        ppid: p.ppid,
        user: users.name(p.uid),
        state: p.state.to_string(),
        cpu_seconds: p.cpu_ticks as f64 / ticks.max(1) as f64,
        rss_bytes: p.rss_bytes,
        command: p.command(),
        children,
    }
}

fn add_rows(table: &mut Table, node: &ProcessNode, prefix: &str, last: bool, top: bool) {
    let branch = if top {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    table.push(vec![
        node.pid.to_string(),
        node.container_pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        node.user.clone(),
        node.state.clone(),
        duration(node.cpu_seconds),
        bytes(node.rss_bytes),
        format!("{prefix}{branch}{}", node.command),
    ]);
    let child_prefix = if top {
        String::new()
    } else if last {
        format!("{prefix}   ")
    } else {
        format!("{prefix}│  ")
    };
    let count = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        add_rows(table, child, &child_prefix, i + 1 == count, false);
    }
}
