//! `isotop inspect TARGET`: everything isotop knows about one container, every figure beside
//! the kernel (or runtime) file it came from, so an operator can check it by hand.
//!
//! The JSON document (schema in the README) is the container record, its state, its
//! namespaces (each with who shares it), its cgroup reading (stats, limits, and a `sources` map
//! field → file), its kernel trouble figures (pressure, throttling counters, OOM kills,
//! refused forks: `measure::KernelFigures`), its init process and its processes, and its file
//! systems read by `host::stack` from its init's mountinfo: `root` and `mounts` (a mountinfo
//! that cannot be read is a note in `mount_notes`, never a failed inspect) and `layers`, top
//! first, each with its owner and the other running containers sharing it (`layer_notes` say
//! why there are none or what the text cannot name); with `--size` each layer's size
//! ([`layers`], [`size`]). Without `--size` no layer is walked. Its own cgroup's I/O limits
//! (`io_limits`, [`io_limits`]) and its own network namespace ([`network`]: interfaces, veth
//! peers, bridges, routes; null when it shares the host's). What its runtime recorded of its
//! life — restarts, health, last exit, start and finish — is `runtime_state` ([`life`]; null
//! when the runtime records none). The container's figures are
//! its measurement by `host::container::measure` (through `host::scan`), the one `ls` and the
//! dashboard show.

use std::collections::BTreeMap;

use serde::Serialize;

use super::format::{bytes, duration};
use super::recorded::RecordedFrame;
use super::{CliError, InspectArgs, print_json, print_text, target};
use crate::host::HostRoot;
use crate::host::cgroup::io::IoLimits;
use crate::host::cgroup::{CgroupReading, Limit, PressureFile};
use crate::host::container::Container;
use crate::host::container::measure::{Figures, KernelFigures};
use crate::host::mounts::{ContainerMount, RootFs};
use crate::host::namespace::NsKind;
use crate::host::scan::{ContainerView, ScanOptions, Snapshot, scan};
use crate::host::text::clean_str;
use crate::units::bound_text;

mod io_limits;
pub(crate) mod layers;
pub(crate) mod life;
mod mounts;
mod namespaces;
pub(crate) mod network;
mod recorded;

use namespaces::{host_reference_text, namespace_detail};
pub(crate) mod size;

/// One namespace of the container and who else is in it.
#[derive(Debug, Serialize)]
pub(crate) struct NamespaceEntry {
    #[serde(rename = "type")]
    pub kind: NsKind,
    pub inode: u64,
    /// The host reference's namespace of this type is this one.
    pub shared_with_host: bool,
    /// Ids of other containers whose init is in this namespace (pods share net/ipc/uts).
    pub shared_with: Vec<String>,
    /// The link it was read from.
    pub source: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct InitEntry {
    pub pid: i32,
    pub command: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Inspection<'a> {
    #[serde(flatten)]
    pub view: &'a ContainerView,
    pub init: Option<InitEntry>,
    pub namespace_detail: Vec<NamespaceEntry>,
    /// Whose namespaces stand for the host's.
    pub host_reference: String,
    /// Pressure (`some avg10`), throttling counters, OOM kills and refused forks in total
    /// (their files are the cgroup reading's `sources`).
    #[serde(flatten)]
    pub kernel: KernelFigures,
    /// The mount at the container's `/` (overlay with its layers, a bind of a host dir, …).
    pub root: Option<RootFs>,
    /// Its other mounts: volumes, binds, tmpfs, `/dev/shm`, the kernel's file systems.
    pub mounts: Vec<ContainerMount>,
    /// Why `root` or `mounts` are missing or partial (not running, vanished, unreadable).
    pub mount_notes: Vec<String>,
    /// The root's layers top first: writable, lower 1..n, data-only; empty for a root that
    /// is not overlay.
    pub layers: Vec<layers::InspectedLayer>,
    /// Why `layers` is empty, or what its names leave out (containerd's).
    pub layer_notes: Vec<String>,
    /// Its own cgroup's I/O limits (`measure::Figures::io_limits`; files in `cgroup.sources`).
    pub io_limits: Option<IoLimits>,
    /// Its own network namespace; null when it shares the host's or is not running.
    pub network: Option<network::NetworkSection>,
    /// What its runtime recorded of its life, with the files read; null when none.
    pub runtime_state: Option<life::RuntimeStateSection>,
}

pub(crate) fn run(root: &HostRoot, args: &InspectArgs) -> Result<(), CliError> {
    if let Some(recorded) = RecordedFrame::open(root, &args.recorded)? {
        return recorded::run(root, &recorded, args);
    }
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target.target)?;
    let mut inspection = inspect(root, &snapshot, view);
    if args.size {
        layers::add_sizes(root, &mut inspection.layers);
    }
    if args.target.json {
        return print_json(&inspection);
    }
    let shown = super::ShortIds::new(snapshot.containers.iter().map(|c| c.container.id.as_str()));
    print_text(&render(&inspection, &shown))
}

/// Builds the inspection of `view` from one snapshot.
pub(crate) fn inspect<'a>(
    root: &HostRoot,
    snapshot: &Snapshot,
    view: &'a ContainerView,
) -> Inspection<'a> {
    let c = &view.container;
    let command = |pid: i32| {
        let process = snapshot.processes.iter().find(|p| p.pid == pid)?;
        Some(process.command())
    };
    let fs = layers::file_systems(root, snapshot, c);
    Inspection {
        view,
        init: init_entry(root, c, command),
        namespace_detail: namespace_detail(root, c, &snapshot.host, &snapshot.containers),
        host_reference: host_reference_text(&snapshot.host),
        kernel: KernelFigures::of(view.cgroup.as_deref()),
        root: fs.root,
        mounts: fs.mounts,
        mount_notes: fs.mount_notes,
        layers: fs.layers,
        layer_notes: fs.layer_notes,
        io_limits: Figures::of(view, &snapshot.processes).io_limits,
        network: network::network(root, snapshot, view),
        runtime_state: life::section(root, c),
    }
}

/// `c`'s init with its command (`command_of` its pid, `None` when not read) and the file the
/// command is read from.
fn init_entry(
    root: &HostRoot,
    c: &Container,
    command_of: impl Fn(i32) -> Option<String>,
) -> Option<InitEntry> {
    let pid = c.init_pid?;
    Some(InitEntry {
        pid,
        command: command_of(pid)?,
        source: root.pid_dir(pid).join("cmdline").display().to_string(),
    })
}

fn render(i: &Inspection, shown: &super::ShortIds) -> String {
    let c = &i.view.container;
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<14} {v}\n"));
    line("ID", c.id.clone());
    line("Name", c.name.clone());
    line("Runtime", c.runtime.to_string());
    line("Image", c.image.clone().unwrap_or_else(|| "-".into()));
    line("State", i.view.state.to_string());
    // The reason quotes paths another user chose: cleaned for display.
    match (&c.trust.unverified_reason, c.trust.claimed_by_uid) {
        (Some(reason), _) => line(
            "Trust",
            format!("UNVERIFIED — {}; acts refuse it", clean_str(reason)),
        ),
        (None, Some(uid)) => line(
            "Trust",
            format!("verified: a rootless claim of uid {uid}, its init is that user's"),
        ),
        (None, None) => {}
    }
    line(
        "Uptime",
        i.view
            .uptime_seconds
            .map(duration)
            .unwrap_or_else(|| "-".into()),
    );
    if let Some(pod) = &c.pod {
        line("Pod", format!("{}/{}", pod.namespace, pod.name));
    }
    if let Some(meta) = &c.metadata {
        line("Metadata", meta.display().to_string());
    }
    match &i.init {
        Some(init) => line(
            "Init",
            format!("{} {}  ({})", init.pid, init.command, init.source),
        ),
        None => line("Init", "-".into()),
    }
    line("Processes", c.pids.len().to_string());
    line(
        "Cgroup",
        // Cgroup names are chosen by whoever made the cgroup: cleaned for display.
        c.cgroup_path
            .as_deref()
            .map(clean_str)
            .unwrap_or_else(|| "- (shares its parent's)".into()),
    );
    for (index, m) in c.cgroups.iter().enumerate() {
        let controllers = if m.controllers.is_empty() {
            "unified (v2)".to_string()
        } else {
            m.controllers.join(",")
        };
        // Whether figures may come from it (measured for running containers only).
        let whose = match i.view.ownership.get(index) {
            Some(o) if o.own => "  own".to_string(),
            Some(o) => format!("  shared: {}", o.shared.as_deref().unwrap_or("")),
            None => String::new(),
        };
        out.push_str(&format!(
            "  {controllers:<18} {}{whose}\n",
            clean_str(&m.path)
        ));
    }
    out.push_str(&life::render(i.runtime_state.as_ref(), c));
    if !c.labels.is_empty() {
        out.push_str("Labels\n");
        for (k, v) in &c.labels {
            out.push_str(&format!("  {k}={v}\n"));
        }
    }
    out.push_str(&format!(
        "Namespaces     (host reference: {})\n",
        i.host_reference
    ));
    for ns in &i.namespace_detail {
        let sharing = if ns.shared_with_host {
            "shared with host".to_string()
        } else if ns.shared_with.is_empty() {
            "own".to_string()
        } else {
            let ids: Vec<String> = ns.shared_with.iter().map(|id| shown.get(id)).collect();
            format!("shared with {}", ids.join(", "))
        };
        out.push_str(&format!(
            "  {:<7} {:<11} {:<24} {}\n",
            ns.kind.name(),
            ns.inode,
            sharing,
            ns.source
        ));
    }
    out.push_str(&network::render(i.network.as_ref(), shown));
    if c.init_pid.is_some() && c.shared_with_host.contains(&NsKind::Net) {
        out.push_str(
            "Network        the host's namespace: its traffic is the host's, none its own\n",
        );
    }
    // What the root is made of next to the root, before the (often long) mount list.
    out.push_str(&mounts::render_root(i));
    out.push_str(&layers::render(&i.layers, &i.layer_notes, shown));
    out.push_str(&mounts::render_mounts(i));
    out.push_str(&render_sources(i.view));
    match &i.view.cgroup {
        Some(reading) => {
            out.push_str(&render_cgroup(reading));
            out.push_str(&io_limits::render(i.io_limits.as_ref(), &reading.sources));
        }
        None => out.push_str(
            "Cgroup figures  none: the container has no cgroup of its own (figures would be its parent's)\n",
        ),
    }
    out
}

/// Where each figure came from (its own cgroup, the unified stand-in, its processes, a shared
/// cgroup's limit, or nothing) and the inherited limits as every view shows them.
fn render_sources(view: &ContainerView) -> String {
    let s = &view.sources;
    let inherited = &view.inherited_limits;
    let memory_limit = inherited
        .memory_max_bytes
        .as_ref()
        .map(|l| bound_text(None, Some(l), bytes));
    let cpu_limit = inherited
        .cpu_cpus
        .as_ref()
        .map(|l| bound_text(None, Some(l), |c| format!("{c:.2}")));
    let pids_limit = inherited
        .pids_max
        .as_ref()
        .map(|l| bound_text(None, Some(l), |n| n.to_string()));
    let mut out = String::from("Figure sources\n");
    for (figure, source, shown) in [
        ("cpu", &s.cpu, None),
        ("memory", &s.memory, None),
        ("memory limit", &s.memory_limit, memory_limit),
        ("cpu limit", &s.cpu_limit, cpu_limit),
        ("pids limit", &s.pids_limit, pids_limit),
        ("block i/o", &s.io, None),
    ] {
        let from = source.from.as_str();
        let detail = source
            .file
            .as_deref()
            .or(source.note.as_deref())
            .map(clean_str)
            .unwrap_or_default();
        let shown = shown.map(|v| format!("{v}  ")).unwrap_or_default();
        out.push_str(&format!("  {figure:<14} {from:<12} {shown}{detail}\n"));
    }
    out
}

/// Figures with their source files, one per line.
fn render_cgroup(r: &CgroupReading) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut add = |field: &str, value: String| rows.push((field.to_string(), value));
    if let Some(cpu) = &r.cpu {
        opt(
            &mut add,
            "cpu.usage_usec",
            cpu.usage_usec
                .map(|u| format!("{} ({})", u, duration(u as f64 / 1e6))),
        );
        opt(
            &mut add,
            "cpu.nr_periods",
            cpu.nr_periods.map(|v| v.to_string()),
        );
        opt(
            &mut add,
            "cpu.nr_throttled",
            cpu.nr_throttled.map(|v| v.to_string()),
        );
        opt(
            &mut add,
            "cpu.throttled_usec",
            cpu.throttled_usec.map(|v| v.to_string()),
        );
    }
    if let Some(mem) = &r.memory {
        opt(&mut add, "memory.usage_bytes", mem.usage_bytes.map(bytes));
        opt(&mut add, "memory.peak_bytes", mem.peak_bytes.map(bytes));
        opt(
            &mut add,
            "memory.events.oom_kill",
            mem.events.oom_kill.map(|v| v.to_string()),
        );
        opt(
            &mut add,
            "memory.events.oom",
            mem.events.oom.map(|v| v.to_string()),
        );
        opt(
            &mut add,
            "memory.events.failcnt",
            mem.events.failcnt.map(|v| v.to_string()),
        );
    }
    if let Some(pids) = &r.pids {
        opt(
            &mut add,
            "pids.current",
            pids.current.map(|v| v.to_string()),
        );
        opt(
            &mut add,
            "pids.refused_forks",
            pids.refused_forks.map(|v| v.to_string()),
        );
    }
    if let Some(p) = &r.pressure {
        for (field, file) in [
            ("pressure.cpu", &p.cpu),
            ("pressure.memory", &p.memory),
            ("pressure.io", &p.io),
        ] {
            opt(&mut add, field, file.as_ref().and_then(pressure_text));
        }
    }
    let l = &r.limits;
    opt(
        &mut add,
        "limits.cpu_quota_usec",
        l.cpu_quota_usec
            .as_ref()
            .map(|v| limit(v, |q| q.to_string())),
    );
    opt(
        &mut add,
        "limits.cpu_period_usec",
        l.cpu_period_usec.map(|v| v.to_string()),
    );
    opt(
        &mut add,
        "limits.cpu_shares",
        l.cpu_shares.map(|v| v.to_string()),
    );
    opt(
        &mut add,
        "limits.cpu_weight",
        l.cpu_weight.map(|v| v.to_string()),
    );
    opt(
        &mut add,
        "limits.memory_max_bytes",
        l.memory_max_bytes.as_ref().map(|v| limit(v, |b| bytes(*b))),
    );
    opt(
        &mut add,
        "limits.memory_high_bytes",
        l.memory_high_bytes
            .as_ref()
            .map(|v| limit(v, |b| bytes(*b))),
    );
    opt(
        &mut add,
        "limits.pids_max",
        l.pids_max.as_ref().map(|v| limit(v, |n| n.to_string())),
    );
    if let Some(f) = r.freezer {
        add("freezer", format!("{f:?}").to_lowercase());
    }
    let sources: &BTreeMap<String, std::path::PathBuf> = &r.sources;
    let mut out = format!("Cgroup figures ({})\n", r.path);
    for (field, value) in rows {
        let source = source_for(sources, &field);
        out.push_str(&format!("  {field:<26} {value:<22} {source}\n"));
    }
    if !r.missing.is_empty() {
        out.push_str(&format!(
            "  missing controllers: {}\n",
            r.missing.join(", ")
        ));
    }
    for note in &r.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// `some 20.00% 18.50% 5.25%` (avg10, avg60, avg300).
fn pressure_text(file: &PressureFile) -> Option<String> {
    let some = file.some?;
    Some(format!(
        "some {:.2}% {:.2}% {:.2}%",
        some.avg10, some.avg60, some.avg300
    ))
}

fn opt(add: &mut impl FnMut(&str, String), field: &str, value: Option<String>) {
    if let Some(v) = value {
        add(field, v);
    }
}

fn limit<T>(l: &Limit<T>, show: impl Fn(&T) -> String) -> String {
    match l {
        Limit::Max => "max".into(),
        Limit::Value(v) => show(v),
    }
}

/// The source file of a field; the reader's keys are matched exactly, then by prefix (the
/// `memory.events.*` figures share one file).
fn source_for(sources: &BTreeMap<String, std::path::PathBuf>, field: &str) -> String {
    sources
        .get(field)
        .or_else(|| {
            let (group, _) = field.rsplit_once('.')?;
            sources.get(group)
        })
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
