//! The Containers view's pod rows: each pod ([`crate::sample::pods`]) becomes one row placed
//! where its first member sorts, its members following it (indented by the view) unless the
//! pod is folded — the cgroup tree's folds, keyed by the pod's key instead of a path. With a
//! filter, folds are ignored (a match is never hidden) and a pod is a row only when its own
//! label, namespace or uid matches; its members then all follow it, while containers that
//! match by themselves stay flat rows.

use foldhash::{HashMap, HashSet};
use std::collections::BTreeSet;

use super::{ContainerRow, Filter};
use crate::sample::{Frame, PodSample};

impl Filter {
    fn pod(&self, pod: &PodSample) -> bool {
        self.is_empty()
            || self.text(&pod.label)
            || self.text(&pod.pod.namespace)
            || pod.pod.uid.as_deref().is_some_and(|uid| self.text(uid))
    }
}

/// `sorted` (the filtered containers in display order) with each shown pod's row inserted
/// before its members; also which container rows sit under a pod row.
pub(super) fn fold_pods(
    frame: &Frame,
    filter: &Filter,
    sorted: Vec<ContainerRow>,
    collapsed: &BTreeSet<String>,
) -> (Vec<ContainerRow>, HashMap<usize, usize>) {
    let shown: Vec<bool> = frame.pods.iter().map(|p| filter.pod(p)).collect();
    let pod_by_container: HashMap<usize, usize> = frame
        .pods
        .iter()
        .enumerate()
        .filter(|(p, _)| shown[*p])
        .flat_map(|(p, pod)| pod.members.iter().map(move |&i| (i, p)))
        .collect();
    if pod_by_container.is_empty() {
        return (sorted, HashMap::default());
    }
    let rank: HashMap<usize, usize> = sorted
        .iter()
        .enumerate()
        .filter_map(|(at, row)| match row {
            ContainerRow::Live(i) => Some((*i, at)),
            _ => None,
        })
        .collect();
    let folded = |pod: &PodSample| filter.is_empty() && collapsed.contains(&pod.key);
    let mut out = Vec::with_capacity(sorted.len() + frame.pods.len());
    let mut pod_of = HashMap::default();
    let mut emitted: HashSet<usize> = HashSet::default();
    let mut emit = |p: usize, out: &mut Vec<ContainerRow>| {
        out.push(ContainerRow::Pod(p));
        let pod = &frame.pods[p];
        if folded(pod) {
            return;
        }
        // Members in the view's order; those the filter let in only through their pod after.
        let mut members = pod.members.clone();
        members.sort_by_key(|i| (rank.get(i).copied().unwrap_or(usize::MAX), *i));
        for i in members {
            out.push(ContainerRow::Live(i));
            pod_of.insert(i, p);
        }
    };
    for row in &sorted {
        match row {
            ContainerRow::Live(i) => match pod_by_container.get(i) {
                Some(&p) => {
                    if emitted.insert(p) {
                        emit(p, &mut out);
                    }
                }
                None => out.push(*row),
            },
            other => out.push(*other),
        }
    }
    // Pods the filter matched by name whose members did not match by themselves.
    for (p, &matched) in shown.iter().enumerate() {
        if matched && !filter.is_empty() && emitted.insert(p) {
            emit(p, &mut out);
        }
    }
    (out, pod_of)
}
