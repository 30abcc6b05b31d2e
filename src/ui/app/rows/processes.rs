//! The Processes view's rows: the process tree (children under their parent, a process whose
//! parent is not listed a root), or a flat list once a column is sorted (as top does); a
//! filter's matches are shown flush left.

use foldhash::HashMap;

use super::{Filter, Sort, TreeRow, apply, by_f64};
use crate::host::namespace::NsKind;
use crate::sample::{Frame, ProcessSample};

pub(super) fn rows(
    frame: &Frame,
    filter: &Filter,
    sort: Sort,
    container_by_id: &HashMap<String, usize>,
) -> Vec<TreeRow> {
    let list = &frame.processes;
    let name_of = |p: &ProcessSample| {
        p.container_id
            .as_deref()
            .and_then(|id| container_by_id.get(id))
            .map(|&i| frame.containers[i].view.container.name.as_str())
    };
    let keep = |p: &ProcessSample| filter.process(p, name_of(p));
    if let Some(column) = sort.column {
        let mut indices: Vec<usize> = (0..list.len()).filter(|&i| keep(&list[i])).collect();
        indices.sort_by(|&a, &b| {
            let (x, y) = (&list[a], &list[b]);
            let order = match column {
                0 => x.process.pid.cmp(&y.process.pid),
                1 => x.user.cmp(&y.user),
                2 => by_f64(x.cpu_percent, y.cpu_percent),
                3 => y.process.rss_bytes.cmp(&x.process.rss_bytes),
                4 => x.process.state.cmp(&y.process.state),
                5 => name_of(x).cmp(&name_of(y)),
                6 => x
                    .process
                    .cgroups
                    .first()
                    .map(|m| &m.path)
                    .cmp(&y.process.cgroups.first().map(|m| &m.path)),
                7 => x
                    .process
                    .ns
                    .get(NsKind::Pid)
                    .cmp(&y.process.ns.get(NsKind::Pid)),
                _ => x.process.command().cmp(&y.process.command()),
            };
            apply(order, sort).then(a.cmp(&b))
        });
        return indices
            .into_iter()
            .map(|index| TreeRow { index, depth: 0 })
            .collect();
    }
    // The tree: children by parent pid; a process whose parent is not listed is a root.
    let index_of = |pid: i32| list.binary_search_by_key(&pid, |p| p.process.pid).ok();
    let mut children: HashMap<i32, Vec<usize>> = HashMap::default();
    let mut roots = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let ppid = p.process.ppid;
        if ppid != p.process.pid && ppid > 0 && index_of(ppid).is_some() {
            children.entry(ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut out = Vec::new();
    let mut todo: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    if sort.reversed {
        todo.reverse();
    }
    while let Some((i, depth)) = todo.pop() {
        if keep(&list[i]) {
            // Matches of a filter are scattered over the tree: shown flush left, the
            // indentation of a deep match would only push its command off screen.
            let depth = if filter.is_empty() { depth } else { 0 };
            out.push(TreeRow { index: i, depth });
        }
        if let Some(kids) = children.get(&list[i].process.pid) {
            // A pid cycle cannot happen in one /proc read, but depth caps the walk anyway.
            if depth < 512 {
                todo.extend(kids.iter().rev().map(|&c| (c, depth + 1)));
            }
        }
    }
    out
}
