//! `isotop cgroups --at TIME --from DIR`: the cgroup tree of a recorded frame.
//!
//! Contract: the frame's flattened tree (`Frame::cgroups`, depth-first, parents before
//! children, as `sample::cgroups` flattened `host::cgroup::read_tree`'s nodes) is made a
//! `CgroupNode` tree again from PATH down, at most `--depth` levels ([`tree_of`]); whose each
//! cgroup is comes from the frame's containers' measured ownership by the live [`occupants`];
//! the table is the live [`render`]. JSON: the live document plus `recorded_at`;
//! `hierarchies` is null (a frame holds the mode, not the mount points: `not_recorded` says
//! so). A PATH the frame has no cgroup at is the user's mistake (exit 2).

use super::{CgroupsJson, occupants, render};
use crate::cli::recorded::RecordedFrame;
use crate::cli::{CgroupsArgs, CliError, print_json, print_text};
use crate::host::cgroup::CgroupNode;
use crate::host::text::clean_str;
use crate::sample::CgroupSample;

/// `cgroups` from `recorded`, from `start` down.
pub(super) fn run(
    recorded: &RecordedFrame,
    args: &CgroupsArgs,
    start: &str,
) -> Result<(), CliError> {
    let frame = &recorded.frame;
    let Some(tree) = tree_of(&frame.cgroups, start, args.depth) else {
        return Err(CliError::Usage(format!(
            "no cgroup {} in the frame recorded at {} (run `isotop cgroups --at …` without a \
             PATH to see its tree)",
            clean_str(start),
            recorded.recorded_at()
        )));
    };
    let containers = occupants(frame.containers.iter().map(|c| &c.view));
    let mode = frame.host.cgroup_mode;
    if args.json {
        let document = CgroupsJson {
            mode,
            hierarchies: None,
            tree: &tree,
            containers: &containers,
        };
        let mut shown = recorded.wrap(&document);
        shown.not_recorded.insert(
            "hierarchies",
            "a frame holds the cgroup mode, not the hierarchies' mount points",
        );
        return print_json(&shown);
    }
    let mode = mode.map_or("unknown", |m| m.as_str());
    print_text(&format!(
        "{}cgroup mode {mode} (hierarchies not recorded)\n\n{}",
        recorded.header(),
        render(&tree, &containers)
    ))
}

/// The subtree of the flattened `samples` at `start`, at most `depth` levels below it;
/// `None` when no sample is at `start`.
pub(super) fn tree_of(
    samples: &[CgroupSample],
    start: &str,
    depth: Option<usize>,
) -> Option<CgroupNode> {
    let at = samples.iter().position(|s| s.path == start)?;
    let base = samples[at].depth;
    // Its subtree runs until the next sample at its depth or above.
    let end = samples[at + 1..]
        .iter()
        .position(|s| s.depth <= base)
        .map_or(samples.len(), |n| at + 1 + n);
    Some(build(&samples[at..end], depth))
}

/// The node of `subtree[0]` with its descendants (the rest of `subtree`), `levels` deep.
fn build(subtree: &[CgroupSample], levels: Option<usize>) -> CgroupNode {
    let top = &subtree[0];
    let mut children = Vec::new();
    if levels != Some(0) {
        let below = levels.map(|l| l - 1);
        let mut rest = &subtree[1..];
        while let Some(first) = rest.first() {
            let len = rest[1..]
                .iter()
                .position(|s| s.depth <= first.depth)
                .map_or(rest.len(), |n| n + 1);
            children.push(build(&rest[..len], below));
            rest = &rest[len..];
        }
    }
    CgroupNode {
        path: top.path.clone(),
        name: top.name.clone(),
        reading: top.reading.clone(),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::CgroupReading;

    fn sample(path: &str, depth: usize) -> CgroupSample {
        CgroupSample {
            path: path.into(),
            name: path.rsplit('/').next().unwrap_or(path).into(),
            depth,
            has_children: false,
            reading: std::sync::Arc::new(CgroupReading {
                path: path.into(),
                cpu: None,
                memory: None,
                pids: None,
                pressure: None,
                io: None,
                limits: Default::default(),
                freezer: None,
                nprocs: 0,
                sources: Default::default(),
                missing: Vec::new(),
                notes: Vec::new(),
            }),
            cpu_percent: None,
            throttled_percent: None,
            container_id: None,
            io_rates: Default::default(),
        }
    }

    fn shape(node: &CgroupNode) -> String {
        let kids: Vec<String> = node.children.iter().map(shape).collect();
        if kids.is_empty() {
            node.path.clone()
        } else {
            format!("{}[{}]", node.path, kids.join(" "))
        }
    }

    #[test]
    fn the_flattened_tree_is_a_tree_again_from_any_path_and_depth() {
        let flat = [
            sample("/", 0),
            sample("/a", 1),
            sample("/a/x", 2),
            sample("/a/x/deep", 3),
            sample("/a/y", 2),
            sample("/b", 1),
        ];
        let all = tree_of(&flat, "/", None).unwrap();
        assert_eq!(shape(&all), "/[/a[/a/x[/a/x/deep] /a/y] /b]");
        assert_eq!(shape(&tree_of(&flat, "/", Some(1)).unwrap()), "/[/a /b]");
        assert_eq!(
            shape(&tree_of(&flat, "/a", None).unwrap()),
            "/a[/a/x[/a/x/deep] /a/y]"
        );
        assert_eq!(shape(&tree_of(&flat, "/a/y", None).unwrap()), "/a/y");
        assert_eq!(shape(&tree_of(&flat, "/a", Some(0)).unwrap()), "/a");
        assert!(tree_of(&flat, "/c", None).is_none());
        assert!(tree_of(&[], "/", None).is_none());
    }
}
