//! The cgroup tree's child listings kept between walks (`host::cgroup::ChildListings`), on the
//! live host's cgroupfs (root: a test parent): a steady walk lists fewer directories than the
//! first, yet a cgroup made since is in the next walk (its parent's link count moved), and so
//! is one made in the place of one removed between two walks (the count unchanged: the gone
//! child makes the parent listed again), the removed one gone.

use crate::support::common::CgroupGuard;

use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupNode, ChildListings, CountedTree, OwnReadings, detect_layout,
    read_tree_reusing,
};

fn walk(layout: &CgroupLayout, listings: &mut ChildListings) -> CountedTree {
    let root = HostRoot::live();
    read_tree_reusing(&root, layout, None, &OwnReadings::default(), listings).expect("tree")
}

/// The paths of the children of the node at `path`, in the tree's order.
fn children_of(tree: &CountedTree, path: &str) -> Vec<String> {
    fn find<'n>(node: &'n CgroupNode, path: &str) -> Option<&'n CgroupNode> {
        if node.path == path {
            return Some(node);
        }
        node.children.iter().find_map(|c| find(c, path))
    }
    let node = tree.tree.as_ref().and_then(|t| find(t, path));
    node.expect("the test parent is in the tree")
        .children
        .iter()
        .map(|c| c.path.clone())
        .collect()
}

/// Removes the test parent's child `name` in every hierarchy (it holds no process).
fn remove_child(guard: &CgroupGuard, name: &str) {
    for dir in &guard.dirs {
        std::fs::remove_dir(dir.join(name)).expect("remove child cgroup");
    }
}

#[test]
#[ignore = "needs root"]
fn kept_listings_see_cgroups_made_removed_and_made_in_a_removed_ones_place() {
    let layout = detect_layout(&HostRoot::live()).expect("cgroup layout");
    let guard = CgroupGuard::new("listings");
    let x = guard.child("x");
    let mut listings = ChildListings::default();
    let first = walk(&layout, &mut listings);
    assert_eq!(children_of(&first, &guard.rel), std::slice::from_ref(&x));
    let steady = walk(&layout, &mut listings);
    assert!(
        steady.listed < first.listed,
        "a steady walk listed {} directories, the first {}",
        steady.listed,
        first.listed
    );
    assert_eq!(children_of(&steady, &guard.rel), std::slice::from_ref(&x));

    // Made since: the parent's link count moved.
    let y = guard.child("y");
    assert_eq!(
        children_of(&walk(&layout, &mut listings), &guard.rel),
        [x.clone(), y.clone()]
    );

    // x removed and w made between two walks: the parent's count is as it was.
    remove_child(&guard, "x");
    let w = guard.child("w");
    let tree = walk(&layout, &mut listings);
    assert_eq!(
        children_of(&tree, &guard.rel),
        [w.clone(), y.clone()],
        "sorted by name"
    );
    assert_eq!(
        children_of(&walk(&layout, &mut listings), &guard.rel),
        [w, y]
    );
}
