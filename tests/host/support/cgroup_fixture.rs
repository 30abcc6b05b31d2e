//! Shared by the cgroup fixture tests: open a fixture tree under tests/fixtures/cgroup as a
//! host root, detect its layout, and build process memberships.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::cgroup::{CgroupLayout, detect_layout};
use isotop::host::process::CgroupMembership;

pub fn fixture(name: &str) -> (HostRoot, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name);
    (HostRoot::under(&dir), dir)
}

pub fn layout(name: &str) -> (HostRoot, CgroupLayout, PathBuf) {
    let (root, dir) = fixture(name);
    let layout = detect_layout(&root).unwrap();
    (root, layout, dir)
}

pub fn membership(hierarchy: u32, controllers: &[&str], path: &str) -> CgroupMembership {
    CgroupMembership {
        hierarchy,
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: path.to_string(),
    }
}
