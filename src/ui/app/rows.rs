//! The rows each view shows, derived from a [`Frame`] once per frame (and when the filter,
//! a sort or a fold changes), not on every redraw: indices into the frame, in display order.
//!
//! Natural orders: containers as `isotop ls` sorts them, cgroups and processes as trees,
//! namespaces by type then inode (lsns groups by type that way). Sorting a tree sorts siblings
//! (cgroups) or flattens it (processes, like top). Numeric columns sort largest first.

use foldhash::HashMap;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::sample::rates::NetRates;
use crate::sample::{CgroupSample, ContainerSample, Frame, ProcessSample};

use super::super::action::Tab;
use super::events::{EVENT_COLUMNS, EventLog};

pub mod network;
mod pods;
mod processes;

/// The Containers view's columns by sort index (its display order is the view's): after the
/// nine of `isotop ls`, six of the kernel's trouble figures, the writable layer's size
/// (`Frame::writable_bytes`), network and block I/O bytes per second, the container's newest
/// event (the app's [`EventLog`]), its restarts and health as its runtime records them
/// (`ContainerSample::runtime_state`); the config can hide any (`[containers] hide`).
pub const CONTAINER_COLUMNS: [&str; 23] = [
    "ID", "NAME", "RUNTIME", "PID", "CPU%", "MEM", "PIDS", "STATE", "UPTIME", "THR%", "PSI CPU",
    "PSI MEM", "PSI IO", "OOM", "REFUSED", "RW SIZE", "NET RX/s", "NET TX/s", "IO R/s", "IO W/s",
    "EVENT", "RESTARTS", "HEALTH",
];
pub const CGROUP_COLUMNS: [&str; 8] = [
    "CGROUP", "PROCS", "CPU%", "THR%", "MEM", "PIDS", "IO R/s", "IO W/s",
];
pub const NAMESPACE_COLUMNS: [&str; 6] = ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"];
pub const PROCESS_COLUMNS: [&str; 9] = [
    "PID",
    "USER",
    "CPU%",
    "MEM",
    "S",
    "CONTAINER",
    "CGROUP",
    "NS",
    "COMMAND",
];

/// The sortable columns of a view.
pub fn columns(tab: Tab) -> &'static [&'static str] {
    match tab {
        Tab::Containers => &CONTAINER_COLUMNS,
        Tab::Cgroups => &CGROUP_COLUMNS,
        Tab::Namespaces => &NAMESPACE_COLUMNS,
        Tab::Processes => &PROCESS_COLUMNS,
        Tab::Network => &network::NETWORK_COLUMNS,
        Tab::Events => &EVENT_COLUMNS,
    }
}

/// A view's sort: a column of [`columns`], or the natural order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub column: Option<usize>,
    pub reversed: bool,
}

/// A row of the Containers view: a live container, a pod (its members follow it, indented,
/// unless it is folded), or the selected container that vanished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRow {
    Live(usize),
    /// Index into `frame.pods`.
    Pod(usize),
    Gone,
}

/// A row of a tree view: index into the frame's list, and indentation depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRow {
    pub index: usize,
    pub depth: usize,
}

/// Every view's rows for one frame.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub containers: Vec<ContainerRow>,
    pub cgroups: Vec<TreeRow>,
    pub namespaces: Vec<usize>,
    /// Built only while the Processes view is shown (`processes_built`): tens of thousands of
    /// rows filtered, sorted and treed every frame were most of the app loop's work for a view
    /// no one looked at.
    pub processes: Vec<TreeRow>,
    pub processes_built: bool,
    /// The Network view's rows (empty while the frame carries no map).
    pub network: Vec<network::NetRow>,
    /// The Events view's rows: indices of the app's [`EventLog`] (built by the app, which
    /// keeps the events).
    pub events: Vec<usize>,
    /// Container id → index in `frame.containers`.
    pub container_by_id: HashMap<String, usize>,
    /// Cgroup path → index in `frame.cgroups`.
    pub cgroup_by_path: HashMap<String, usize>,
    /// Container index → index in `frame.pods`, for the containers shown under their pod's
    /// row (indented).
    pub pod_of: HashMap<usize, usize>,
}

impl Rows {
    pub fn len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Containers => self.containers.len(),
            Tab::Cgroups => self.cgroups.len(),
            Tab::Namespaces => self.namespaces.len(),
            Tab::Processes => self.processes.len(),
            Tab::Network => self.network.len(),
            Tab::Events => self.events.len(),
        }
    }
}

/// The filter text as the views match it: case-insensitive substring of names, ids, runtimes,
/// paths and commands, or an exact pid when it is a number.
pub struct Filter {
    text: String,
    pid: Option<i32>,
}

impl Filter {
    pub fn new(text: &str) -> Filter {
        let text = text.trim().to_lowercase();
        Filter {
            pid: text.parse().ok(),
            text,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub(super) fn text(&self, haystack: &str) -> bool {
        haystack.to_lowercase().contains(&self.text)
    }

    pub fn container(&self, c: &ContainerSample) -> bool {
        let k = &c.view.container;
        self.is_empty()
            || self.text(&k.name)
            || self.text(&k.id)
            || self.text(k.runtime.name())
            || k.image.as_deref().is_some_and(|i| self.text(i))
            || self
                .pid
                .is_some_and(|pid| k.pids.binary_search(&pid).is_ok())
    }

    fn cgroup(&self, g: &CgroupSample) -> bool {
        self.is_empty()
            || self.text(&g.path)
            || g.container_id.as_deref().is_some_and(|id| self.text(id))
    }

    fn process(&self, p: &ProcessSample, container_name: Option<&str>) -> bool {
        self.is_empty()
            || self.pid == Some(p.process.pid)
            || self.text(&p.process.comm)
            || p.process.cmdline.args().any(|a| self.text(a))
            || self.text(&p.user)
            || container_name.is_some_and(|n| self.text(n))
            || p.container_id.as_deref().is_some_and(|id| self.text(id))
    }
}

/// Builds every view's rows but the Events view's (the app's, from its [`EventLog`], which
/// the Containers view's EVENT column sorts by too), and the Processes view's only when
/// `with_processes` (it is shown).
pub fn build(
    frame: &Frame,
    filter: &str,
    sorts: &[Sort; 6],
    collapsed: &BTreeSet<String>,
    events: &EventLog,
    with_processes: bool,
) -> Rows {
    let filter = Filter::new(filter);
    let container_by_id: HashMap<String, usize> = frame
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.view.container.id.clone(), i))
        .collect();
    let cgroup_by_path: HashMap<String, usize> = frame
        .cgroups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.path.clone(), i))
        .collect();
    let (containers, pod_of) = pods::fold_pods(
        frame,
        &filter,
        containers(frame, &filter, sorts[0], events),
        collapsed,
    );
    let mut rows = Rows {
        containers,
        cgroups: cgroups(&frame.cgroups, &filter, sorts[1], collapsed),
        namespaces: namespaces(frame, &filter, sorts[2]),
        processes: Vec::new(),
        processes_built: with_processes,
        network: network::build(frame, &filter, sorts[4]),
        events: Vec::new(),
        container_by_id,
        cgroup_by_path,
        pod_of,
    };
    if with_processes {
        rows.processes = processes::rows(frame, &filter, sorts[3], &rows.container_by_id);
    }
    rows
}

fn by_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    // Largest first, unknown last.
    match (a, b) {
        (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn by_u64(a: Option<u64>, b: Option<u64>) -> Ordering {
    by_f64(a.map(|v| v as f64), b.map(|v| v as f64))
}

fn apply(order: Ordering, sort: Sort) -> Ordering {
    if sort.reversed {
        order.reverse()
    } else {
        order
    }
}

fn containers(frame: &Frame, filter: &Filter, sort: Sort, events: &EventLog) -> Vec<ContainerRow> {
    let list = &frame.containers;
    let mut indices: Vec<usize> = (0..list.len())
        .filter(|&i| filter.container(&list[i]))
        .collect();
    if let Some(column) = sort.column {
        indices.sort_by(|&a, &b| {
            let (x, y) = (&list[a], &list[b]);
            let (cx, cy) = (&x.view.container, &y.view.container);
            let order = match column {
                0 => cx.id.cmp(&cy.id),
                1 => cx.name.cmp(&cy.name),
                2 => cx.runtime.name().cmp(cy.runtime.name()),
                3 => cx.init_pid.cmp(&cy.init_pid),
                4 => by_f64(x.cpu_percent, y.cpu_percent),
                5 => by_u64(x.memory_bytes, y.memory_bytes),
                6 => y.pids.cmp(&x.pids),
                7 => x.view.state.cmp(&y.view.state),
                8 => by_f64(x.view.uptime_seconds, y.view.uptime_seconds),
                9 => by_f64(x.throttled_percent, y.throttled_percent),
                10 => by_f64(x.kernel.cpu_pressure_percent, y.kernel.cpu_pressure_percent),
                11 => by_f64(
                    x.kernel.memory_pressure_percent,
                    y.kernel.memory_pressure_percent,
                ),
                12 => by_f64(x.kernel.io_pressure_percent, y.kernel.io_pressure_percent),
                // Kills since isotop started first (what just happened), then in total.
                13 => by_u64(x.oom_kills_since_start, y.oom_kills_since_start)
                    .then(by_u64(x.kernel.oom_kills, y.kernel.oom_kills)),
                14 => by_u64(x.kernel.pids_refused_forks, y.kernel.pids_refused_forks),
                // Sized in full only: a walk under way has no figure yet.
                15 => by_u64(frame.writable_bytes(x), frame.writable_bytes(y)),
                16 => by_f64(
                    net_rate(x, |r| r.rx_bytes_per_second),
                    net_rate(y, |r| r.rx_bytes_per_second),
                ),
                17 => by_f64(
                    net_rate(x, |r| r.tx_bytes_per_second),
                    net_rate(y, |r| r.tx_bytes_per_second),
                ),
                18 => by_f64(
                    x.io_rates.read_bytes_per_second,
                    y.io_rates.read_bytes_per_second,
                ),
                // The newest event first.
                20 => by_u64(
                    events.latest(&cx.id).map(|e| e.at_ms),
                    events.latest(&cy.id).map(|e| e.at_ms),
                ),
                21 => by_u64(restarts(x), restarts(y)),
                22 => health_rank(x).cmp(&health_rank(y)),
                _ => by_f64(
                    x.io_rates.write_bytes_per_second,
                    y.io_rates.write_bytes_per_second,
                ),
            };
            apply(order, sort).then(a.cmp(&b))
        });
    } else if sort.reversed {
        indices.reverse();
    }
    indices.into_iter().map(ContainerRow::Live).collect()
}

/// The restarts its runtime records.
fn restarts(c: &ContainerSample) -> Option<u64> {
    c.runtime_state.as_ref()?.restart_count
}

/// Unhealthy first, then starting, healthy, other statuses, none.
fn health_rank(c: &ContainerSample) -> u8 {
    match c.runtime_state.as_ref().and_then(|s| s.health.as_deref()) {
        Some("unhealthy") => 0,
        Some("starting") => 1,
        Some("healthy") => 2,
        Some(_) => 3,
        None => 4,
    }
}

/// A container's network rate (`None` without a namespace of its own).
fn net_rate(c: &ContainerSample, rate: fn(&NetRates) -> Option<f64>) -> Option<f64> {
    c.net.as_ref().and_then(|n| rate(&n.rates))
}

fn cgroup_order(a: &CgroupSample, b: &CgroupSample, column: usize) -> Ordering {
    let memory = |g: &CgroupSample| g.reading.memory.as_ref().and_then(|m| m.usage_bytes);
    let pids = |g: &CgroupSample| g.reading.pids.as_ref().and_then(|p| p.current);
    match column {
        0 => a.name.cmp(&b.name),
        1 => b.reading.nprocs.cmp(&a.reading.nprocs),
        2 => by_f64(a.cpu_percent, b.cpu_percent),
        3 => by_f64(a.throttled_percent, b.throttled_percent),
        4 => by_u64(memory(a), memory(b)),
        5 => by_u64(pids(a), pids(b)),
        6 => by_f64(
            a.io_rates.read_bytes_per_second,
            b.io_rates.read_bytes_per_second,
        ),
        _ => by_f64(
            a.io_rates.write_bytes_per_second,
            b.io_rates.write_bytes_per_second,
        ),
    }
}

/// The cgroup tree in display order: depth-first, siblings sorted when a column is chosen,
/// folded branches skipped. With a filter, the matching cgroups in tree order (folds ignored,
/// so a match is never hidden).
pub fn cgroups(
    list: &[CgroupSample],
    filter: &Filter,
    sort: Sort,
    collapsed: &BTreeSet<String>,
) -> Vec<TreeRow> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); list.len()];
    let mut roots = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, g) in list.iter().enumerate() {
        while stack.last().is_some_and(|&p| list[p].depth >= g.depth) {
            stack.pop();
        }
        match stack.last() {
            Some(&p) => children[p].push(i),
            None => roots.push(i),
        }
        stack.push(i);
    }
    let order = |v: &mut Vec<usize>| {
        if let Some(column) = sort.column {
            v.sort_by(|&a, &b| {
                apply(cgroup_order(&list[a], &list[b], column), sort).then(a.cmp(&b))
            });
        } else if sort.reversed {
            v.reverse();
        }
    };
    order(&mut roots);
    for c in &mut children {
        order(c);
    }
    let mut out = Vec::new();
    // (index, depth) stack, pushed in reverse so the first child comes out first.
    let mut todo: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    while let Some((i, depth)) = todo.pop() {
        let g = &list[i];
        if filter.cgroup(g) {
            out.push(TreeRow { index: i, depth });
        }
        if filter.is_empty() && collapsed.contains(&g.path) {
            continue;
        }
        todo.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
    }
    out
}

fn namespaces(frame: &Frame, filter: &Filter, sort: Sort) -> Vec<usize> {
    let list = &frame.namespaces.namespaces;
    let mut indices: Vec<usize> = (0..list.len())
        .filter(|&i| {
            let ns = &list[i];
            filter.is_empty()
                || filter.text(ns.kind.name())
                || filter.text(&ns.inode.to_string())
                || ns.command.as_deref().is_some_and(|c| filter.text(c))
                || ns.user.as_deref().is_some_and(|u| filter.text(u))
                || filter.pid.is_some_and(|pid| ns.contains(pid))
        })
        .collect();
    indices.sort_by(|&a, &b| {
        let (x, y) = (&list[a], &list[b]);
        let order = match sort.column {
            None | Some(1) => x.kind.cmp(&y.kind).then(x.inode.cmp(&y.inode)),
            Some(0) => x.inode.cmp(&y.inode),
            Some(2) => y.nprocs.cmp(&x.nprocs),
            Some(3) => x.pid.cmp(&y.pid),
            Some(4) => x.user.cmp(&y.user),
            Some(_) => x.command.cmp(&y.command),
        };
        apply(order, sort).then(a.cmp(&b))
    });
    indices
}
