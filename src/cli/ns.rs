//! `isotop ns`: the host's namespaces like `lsns`, plus parent and owner.
//!
//! Live, the table is read at the syscall floor ([`read_table`]) and `--json` is streamed as
//! it is serialized ([`json`]), with no copy of the table.
//!
//! Output modes: an lsns-style table (`NS TYPE NPROCS PID USER PARENT OWNER [NSFS] COMMAND`), a
//! tree (`--tree`: user namespaces nested by parent, each listing the namespaces it owns, then
//! pid namespaces by parent), or JSON (`--json`: `{"host_reference", "namespaces",
//! "warnings"}`, the [`NamespaceTable`] serialized; lsns' key names where lsns has the column).
//! `-t KIND` (repeatable or comma-separated) and `-p PID` select rows; in the tree, the user
//! namespaces above a selected row are shown too, marked `(context)`, so the nesting stays
//! readable. Unknown kinds and absent pids are the user's mistakes (exit 2); in table and tree
//! modes warnings go to stderr, in JSON they are part of the document. With `--at`/`--from`
//! the table is a recorded frame's (`Frame::namespaces`, the sampler's `build_table`), shown
//! the same way under a first line naming the frame, `recorded_at` in JSON; a `-p PID` no
//! namespace of that frame holds is the user's mistake.

mod json;

use foldhash::HashMap;
use std::collections::BTreeSet;

use super::recorded::RecordedFrame;
use super::table::Table;
use super::{CliError, NsArgs, print_json, print_text};
use crate::host::namespace::{Namespace, NamespaceTable, NsKind, read_table};
use crate::host::{HostError, HostRoot};

pub(crate) fn run(root: &HostRoot, args: &NsArgs) -> Result<(), CliError> {
    let kinds = parse_kinds(&args.types)?;
    if let Some(pid) = args.pid
        && pid <= 0
    {
        return Err(CliError::Usage(format!(
            "-p {pid}: a pid is a positive number"
        )));
    }
    if let Some(recorded) = RecordedFrame::open(root, &args.recorded)? {
        let table = &recorded.frame.namespaces;
        if let Some(pid) = args.pid
            && !table.namespaces.iter().any(|ns| ns.contains(pid))
        {
            return Err(CliError::Usage(format!(
                "no process with pid {pid} in the frame recorded at {}",
                recorded.recorded_at()
            )));
        }
        return answer(table, &kinds, args, Some(&recorded));
    }
    let table = read_table(root)?;
    if let Some(pid) = args.pid {
        check_pid_visible(root, &table, pid)?;
    }
    answer(&table, &kinds, args, None)
}

/// Prints the rows `args` select of `table`, live or from `recorded` (its first line and
/// `recorded_at` then say which frame).
fn answer(
    table: &NamespaceTable,
    kinds: &[NsKind],
    args: &NsArgs,
    recorded: Option<&RecordedFrame>,
) -> Result<(), CliError> {
    let selected = select(table, kinds, args.pid);
    if args.json {
        let shown = json::Shown::new(table, &selected);
        return match recorded {
            Some(recorded) => print_json(&recorded.wrap(&shown)),
            None => json::stream_json(&shown),
        };
    }
    let mut text = recorded.map(RecordedFrame::header).unwrap_or_default();
    text.push_str(&if args.tree {
        render_tree(table, &selected)
    } else {
        render_table(table, &selected)
    });
    print_text(&text)?;
    for warning in &table.warnings {
        super::warn(&format!("warning: {warning}"));
    }
    Ok(())
}

/// Parses `-t` values (each may be a comma-separated list); empty means every kind.
pub(crate) fn parse_kinds(values: &[String]) -> Result<Vec<NsKind>, CliError> {
    let mut kinds = Vec::new();
    for name in values.iter().flat_map(|v| v.split(',')) {
        let name = name.trim();
        let kind = NsKind::from_name(name).ok_or_else(|| {
            let valid: Vec<&str> = NsKind::ALL.iter().map(|k| k.name()).collect();
            CliError::Usage(format!(
                "unknown namespace type '{name}': valid types are {}",
                valid.join(", ")
            ))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// A pid that is in no namespace is either gone (the user's mistake) or hiding its links
/// (permission; the host's answer).
fn check_pid_visible(root: &HostRoot, table: &NamespaceTable, pid: i32) -> Result<(), CliError> {
    if table.namespaces.iter().any(|ns| ns.contains(pid)) {
        return Ok(());
    }
    let dir = root.pid_dir(pid);
    if dir.exists() {
        let path = dir.join("ns");
        let denied = std::io::ErrorKind::PermissionDenied;
        // As root the advice "run as root" would be wrong: the kernel guards this process
        // (ptrace access mode), as it does PID 1 on some hosts.
        Err(CliError::Host(if nix::unistd::geteuid().is_root() {
            HostError::Io {
                path,
                source: std::io::Error::new(denied, "permission denied even for root"),
            }
        } else {
            HostError::io(&path, std::io::Error::from(denied))
        }))
    } else {
        Err(CliError::Usage(format!(
            "no process with pid {pid} (it may have exited)"
        )))
    }
}

/// The rows chosen by `-t` and `-p`, in table order.
pub(crate) fn select<'a>(
    table: &'a NamespaceTable,
    kinds: &[NsKind],
    pid: Option<i32>,
) -> Vec<&'a Namespace> {
    table
        .namespaces
        .iter()
        .filter(|ns| kinds.is_empty() || kinds.contains(&ns.kind))
        .filter(|ns| pid.is_none_or(|p| ns.contains(p)))
        .collect()
}

fn inode_text(inode: Option<u64>) -> String {
    inode.map_or_else(|| "-".to_string(), |i| i.to_string())
}

fn nsfs_text(ns: &Namespace) -> String {
    ns.nsfs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The lsns-style table; NSFS appears only when some row has a bind mount.
pub(crate) fn render_table(table: &NamespaceTable, rows: &[&Namespace]) -> String {
    let with_nsfs = rows.iter().any(|ns| !ns.nsfs.is_empty());
    let mut header = vec![
        ">NS", "TYPE", ">NPROCS", ">PID", "USER", ">PARENT", ">OWNER",
    ];
    if with_nsfs {
        header.push("NSFS");
    }
    header.push("COMMAND");
    let mut out = Table::new(&header);
    for ns in rows {
        let mut row = vec![
            ns.inode.to_string(),
            ns.kind.name().to_string(),
            ns.nprocs.to_string(),
            ns.pid.map(|p| p.to_string()).unwrap_or_default(),
            ns.user.clone().unwrap_or_default(),
            inode_text(ns.parent),
            inode_text(ns.owner),
        ];
        if with_nsfs {
            row.push(nsfs_text(ns));
        }
        row.push(describe_command(table, ns));
        out.push(row);
    }
    out.render()
}

/// The command, or for a namespace with no process, what keeps it alive.
fn describe_command(table: &NamespaceTable, ns: &Namespace) -> String {
    match (&ns.command, ns.nprocs) {
        (Some(command), _) => command.to_string(),
        (None, 0) if !ns.nsfs.is_empty() => "(bind mount only)".to_string(),
        (None, 0)
            if table
                .namespaces
                .iter()
                .any(|o| o.owner == Some(ns.inode) || o.parent == Some(ns.inode)) =>
        {
            "(no process: kept by the namespaces it owns)".to_string()
        }
        (None, _) => String::new(),
    }
}

/// One line describing a namespace in the tree.
fn tree_label(table: &NamespaceTable, ns: &Namespace, context: bool) -> String {
    let mut label = format!("{} {}", ns.kind, ns.inode);
    if table.host.is_host(ns.kind, ns.inode) {
        label.push_str(" (host)");
    }
    if context {
        label.push_str(" (context)");
    }
    let procs = if ns.nprocs == 1 { "proc" } else { "procs" };
    label.push_str(&format!("  {} {procs}", ns.nprocs));
    if let Some(pid) = ns.pid {
        label.push_str(&format!("  pid {pid}"));
    }
    if let Some(user) = &ns.user {
        label.push_str(&format!("  {user}"));
    }
    if let Some(uid) = ns.owner_uid {
        label.push_str(&format!("  created by uid {uid}"));
    }
    let command = describe_command(table, ns);
    if !command.is_empty() {
        label.push_str(&format!("  {command}"));
    }
    if !ns.nsfs.is_empty() {
        label.push_str(&format!("  nsfs {}", nsfs_text(ns)));
    }
    label
}

/// User namespaces nested by parent, each followed by the namespaces it owns; then pid
/// namespaces nested by parent. Selected rows are shown with the user namespaces above them.
pub(crate) fn render_tree(table: &NamespaceTable, selected: &[&Namespace]) -> String {
    let by_inode: HashMap<u64, &Namespace> =
        table.namespaces.iter().map(|ns| (ns.inode, ns)).collect();
    let chosen: BTreeSet<u64> = selected.iter().map(|ns| ns.inode).collect();

    // Everything to draw: chosen rows plus the user namespaces above them (context).
    let mut shown: BTreeSet<u64> = BTreeSet::new();
    for ns in selected {
        // Climb to the root; 64 bounds it (the kernel nests user namespaces at most 32 deep).
        let mut up = Some(ns.inode);
        for _ in 0..64 {
            let Some(inode) = up else { break };
            shown.insert(inode);
            up = by_inode.get(&inode).and_then(|n| tree_parent(n));
        }
    }
    shown.retain(|inode| by_inode.contains_key(inode));

    let mut children: HashMap<Option<u64>, Vec<&Namespace>> = HashMap::default();
    for inode in &shown {
        let ns = by_inode[inode];
        let parent = tree_parent(ns).filter(|p| shown.contains(p));
        children.entry(parent).or_default().push(ns);
    }
    for list in children.values_mut() {
        // Owned namespaces first (by kind, inode), child user namespaces last.
        list.sort_by_key(|ns| (ns.kind == NsKind::User, ns.kind, ns.inode));
    }

    let mut out = format!("host reference: {}\n", table.host.explanation);
    out.push_str("\nUSER NAMESPACES (nested by parent; each lists the namespaces it owns)\n");
    let roots = children.get(&None).cloned().unwrap_or_default();
    if roots.is_empty() {
        out.push_str("(none selected)\n");
    }
    draw_forest(table, &children, &chosen, &mut out);

    // Pid namespaces by parent, when pid rows are selected.
    let pid_rows: Vec<&Namespace> = selected
        .iter()
        .copied()
        .filter(|ns| ns.kind == NsKind::Pid)
        .collect();
    if !pid_rows.is_empty() {
        out.push_str("\nPID NAMESPACES (nested by parent)\n");
        let pid_set: BTreeSet<u64> = pid_rows.iter().map(|ns| ns.inode).collect();
        let mut pid_children: HashMap<Option<u64>, Vec<&Namespace>> = HashMap::default();
        for ns in &pid_rows {
            let parent = ns.parent.filter(|p| pid_set.contains(p));
            pid_children.entry(parent).or_default().push(ns);
        }
        draw_forest(table, &pid_children, &chosen, &mut out);
    }
    out
}

/// The node a namespace hangs under in the user tree: a user namespace's parent, anything
/// else's owner.
fn tree_parent(ns: &Namespace) -> Option<u64> {
    if ns.kind == NsKind::User {
        ns.parent
    } else {
        ns.owner
    }
}

/// Draws every tree whose root has no parent in `children` (the `None` key), in order.
fn draw_forest(
    table: &NamespaceTable,
    children: &HashMap<Option<u64>, Vec<&Namespace>>,
    chosen: &BTreeSet<u64>,
    out: &mut String,
) {
    let roots = children.get(&None).map(Vec::as_slice).unwrap_or_default();
    for (i, ns) in roots.iter().enumerate() {
        draw(
            table,
            children,
            chosen,
            ns,
            "",
            i + 1 == roots.len(),
            true,
            out,
        );
    }
}

// A recursive step: the tree (three borrowed parts), the node, and where it is drawn.
#[allow(clippy::too_many_arguments)]
fn draw(
    table: &NamespaceTable,
    children: &HashMap<Option<u64>, Vec<&Namespace>>,
    chosen: &BTreeSet<u64>,
    ns: &Namespace,
    prefix: &str,
    last: bool,
    root: bool,
    out: &mut String,
) {
    let branch = if root {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    out.push_str(prefix);
    out.push_str(branch);
    out.push_str(&tree_label(table, ns, !chosen.contains(&ns.inode)));
    out.push('\n');
    let below = if root {
        String::new()
    } else if last {
        format!("{prefix}   ")
    } else {
        format!("{prefix}│  ")
    };
    if let Some(kids) = children.get(&Some(ns.inode)) {
        for (i, kid) in kids.iter().enumerate() {
            draw(
                table,
                children,
                chosen,
                kid,
                &below,
                i + 1 == kids.len(),
                false,
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::host::namespace::{HostReference, NsSet};

    fn row(
        inode: u64,
        kind: NsKind,
        pids: &[i32],
        parent: Option<u64>,
        owner: Option<u64>,
    ) -> Namespace {
        Namespace {
            inode,
            kind,
            nprocs: pids.len(),
            pid: pids.first().copied(),
            uid: pids.first().map(|_| 0),
            user: pids.first().map(|_| "root".to_string()),
            command: pids.first().map(|p| format!("cmd{p}").into()),
            parent,
            owner,
            owner_uid: None,
            nsfs: Vec::new(),
            pids: pids.to_vec(),
        }
    }

    /// Host user 1 owns net 10 and user 2; user 2 (no process) owns user 3 and net 20; user 3
    /// owns ipc 30; net 40 is bind-mount only.
    fn table() -> NamespaceTable {
        let mut host_ns = NsSet::default();
        host_ns.set(NsKind::User, Some(1));
        host_ns.set(NsKind::Net, Some(10));
        let mut bound = row(40, NsKind::Net, &[], None, Some(1));
        bound.nsfs.push(PathBuf::from("/run/netns/x"));
        NamespaceTable {
            host: HostReference {
                pid: Some(2),
                explanation: "test".into(),
                ns: host_ns,
            },
            namespaces: vec![
                row(1, NsKind::User, &[2, 7], None, None),
                row(2, NsKind::User, &[], Some(1), Some(1)),
                row(3, NsKind::User, &[7], Some(2), Some(2)),
                row(10, NsKind::Net, &[2], None, Some(1)),
                row(20, NsKind::Net, &[7], None, Some(2)),
                row(30, NsKind::Ipc, &[7], None, Some(3)),
                bound,
            ],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn kinds_parse_repeated_and_comma_separated() {
        let kinds = parse_kinds(&["net,user".into(), "net".into()]).unwrap();
        assert_eq!(kinds, vec![NsKind::Net, NsKind::User]);
        assert!(parse_kinds(&[]).unwrap().is_empty());
        match parse_kinds(&["bogus".into()]) {
            Err(CliError::Usage(msg)) => {
                assert!(
                    msg.contains("'bogus'")
                        && msg.contains("cgroup, ipc, mnt, net, pid, time, user, uts")
                )
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn select_filters_by_kind_and_pid() {
        let t = table();
        let inodes = |rows: Vec<&Namespace>| rows.iter().map(|n| n.inode).collect::<Vec<_>>();
        assert_eq!(inodes(select(&t, &[NsKind::Net], None)), vec![10, 20, 40]);
        assert_eq!(inodes(select(&t, &[], Some(7))), vec![1, 3, 20, 30]);
        assert_eq!(inodes(select(&t, &[NsKind::Net], Some(7))), vec![20]);
    }

    #[test]
    fn table_shows_nsfs_only_when_present_and_explains_empty_rows() {
        let t = table();
        let all = render_table(&t, &select(&t, &[], None));
        let header = all.lines().next().unwrap();
        assert!(header.contains("NSFS"), "{header}");
        assert!(all.contains("/run/netns/x") && all.contains("(bind mount only)"));
        assert!(all.contains("(no process: kept by the namespaces it owns)"));
        let ipc_only = render_table(&t, &select(&t, &[NsKind::Ipc], None));
        assert_eq!(
            ipc_only,
            "NS TYPE NPROCS PID USER PARENT OWNER COMMAND\n30 ipc       1   7 root      -     3 cmd7\n"
        );
    }

    #[test]
    fn tree_nests_user_namespaces_and_marks_context() {
        let t = table();
        let tree = render_tree(&t, &select(&t, &[], None));
        let expected_users = "\
user 1 (host)  2 procs  pid 2  root  cmd2
├─ net 10 (host)  1 proc  pid 2  root  cmd2
├─ net 40  0 procs  (bind mount only)  nsfs /run/netns/x
└─ user 2  0 procs  (no process: kept by the namespaces it owns)
   ├─ net 20  1 proc  pid 7  root  cmd7
   └─ user 3  1 proc  pid 7  root  cmd7
      └─ ipc 30  1 proc  pid 7  root  cmd7
";
        assert!(tree.contains(expected_users), "{tree}");
        // Selecting only ipc keeps the user namespaces above it, marked as context.
        let ipc = render_tree(&t, &select(&t, &[NsKind::Ipc], None));
        assert!(ipc.contains("user 1 (host) (context)"), "{ipc}");
        assert!(ipc.contains("      └─ ipc 30  1 proc"), "{ipc}");
        assert!(!ipc.contains("net 10"), "{ipc}");
    }
}
