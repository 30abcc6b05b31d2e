use std::path::{Path, PathBuf};

use super::*;
use crate::host::cgroup::{CgroupMode, Hierarchy};

#[test]
fn a_leading_slash_or_the_prefix_names_a_cgroup() {
    let ok = |t: &str| parse(t).expect("a cgroup").expect("valid");
    assert_eq!(ok("/cpudemo"), "/cpudemo");
    assert_eq!(ok("cgroup:/a//b/"), "/a/b");
    assert_eq!(ok(" /system.slice/x.service "), "/system.slice/x.service");
    assert_eq!(ok("/"), "/");
    assert_eq!(ok("cgroup:/"), "/");
    // Ids, names and pids are not cgroups.
    for other in ["web", "8d36a66111ac", "4242", "pidns-4026532000"] {
        assert!(parse(other).is_none(), "{other}");
    }
    for bad in ["/a/../b", "/./a", "cgroup:relative", "/a\u{1b}[2J"] {
        assert!(
            matches!(parse(bad), Some(Err(ControlError::InvalidValue { .. }))),
            "{bad}"
        );
    }
}

#[test]
fn labels_never_look_like_a_container_id() {
    assert_eq!(label("/cpudemo"), "cgroup:/cpudemo");
    assert!(at_or_below("/a/b", "/a"));
    assert!(at_or_below("/a", "/a"));
    assert!(!at_or_below("/ab", "/a"));
    assert!(at_or_below("/anything", "/"));
}

/// A fixture host whose PID 1 is in `init_path` (in a `name=systemd` and the v2 hierarchy).
fn fixture(init_path: &str, systemd: bool) -> (tempfile::TempDir, HostRoot, CgroupLayout) {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    std::fs::create_dir_all(root.pid_dir(1)).unwrap();
    std::fs::write(
        root.pid_dir(1).join("cgroup"),
        format!("1:name=systemd:{init_path}\n0::{init_path}\n"),
    )
    .unwrap();
    if systemd {
        std::fs::create_dir_all(root.run.join("systemd/system")).unwrap();
    }
    let v2 = dir.path().join("sys/fs/cgroup");
    for cg in [
        "cpudemo",
        "cpudemo/procs",
        "system.slice",
        "system.slice/web.service",
        "init.scope",
    ] {
        std::fs::create_dir_all(v2.join(cg)).unwrap();
        std::fs::write(v2.join(cg).join("cgroup.procs"), "").unwrap();
    }
    let layout = CgroupLayout {
        mode: CgroupMode::V2,
        hierarchies: vec![Hierarchy {
            version: 2,
            controllers: vec!["cpu".into()],
            mount_point: PathBuf::from("/sys/fs/cgroup"),
            dir: v2,
            mount_root: "/".into(),
        }],
    };
    (dir, root, layout)
}

fn refusal_of(root: &HostRoot, layout: &CgroupLayout, path: &str) -> String {
    match CgroupTarget::resolve(root, layout, path) {
        Err(ControlError::Refused { target, reason }) => {
            assert_eq!(target, label(path));
            reason
        }
        other => panic!("{path}: not refused: {other:?}"),
    }
}

#[test]
fn the_root_and_pid_1s_cgroups_are_refused_with_the_reason() {
    let (_dir, root, layout) = fixture("/init.scope", true);
    assert!(refusal_of(&root, &layout, "/").contains("root cgroup"));
    let pid1 = refusal_of(&root, &layout, "/init.scope");
    assert!(
        pid1.contains("PID 1") && pid1.contains("/init.scope"),
        "{pid1}"
    );
    let found = CgroupTarget::resolve(&root, &layout, "/cpudemo").unwrap();
    assert_eq!(found.path, "/cpudemo");
    assert_eq!(found.sites.len(), 1);
    assert_eq!(found.sites[0].controller, "unified");
    assert!(found.sites[0].dir.ends_with("sys/fs/cgroup/cpudemo"));
    assert_eq!(found.unit, None);
    // A cgroup no hierarchy has is bad input, not a refusal.
    assert!(matches!(
        CgroupTarget::resolve(&root, &layout, "/nope"),
        Err(ControlError::InvalidValue { .. })
    ));
}

#[test]
fn an_ancestor_of_pid_1s_cgroup_is_refused_too() {
    let (_dir, root, layout) = fixture("/cpudemo/procs", false);
    assert!(refusal_of(&root, &layout, "/cpudemo").contains("PID 1"));
    assert!(CgroupTarget::resolve(&root, &layout, "/init.scope").is_ok());
}

#[test]
fn isotops_own_cgroup_and_its_ancestors_are_refused() {
    // On the live host: isotop's own cgroups, as /proc/self/cgroup names them.
    let root = HostRoot::live();
    for own in guard::own_cgroup_paths(&root) {
        let reason = refusal(&root, &own).expect("refused");
        assert!(reason.contains("isotop"), "{own}: {reason}");
        if let Some((parent, _)) = own.rsplit_once('/')
            && !parent.is_empty()
        {
            let reason = refusal(&root, parent).expect("an ancestor is refused");
            assert!(reason.contains("isotop itself runs below it"), "{reason}");
        }
    }
}

#[test]
fn a_systemd_units_cgroup_is_named_with_how_to_make_a_change_last() {
    let (_dir, root, layout) = fixture("/init.scope", true);
    let found = CgroupTarget::resolve(&root, &layout, "/system.slice/web.service").unwrap();
    assert_eq!(found.unit.as_deref(), Some("web.service"));
    let note = systemd_note("web.service", &["CPUQuota=10%".into()]);
    assert!(
        note.contains("systemctl set-property web.service CPUQuota=10%"),
        "{note}"
    );
    // No systemd on the host: no unit.
    let (_dir2, root2, layout2) = fixture("/init.scope", false);
    assert_eq!(
        systemd_unit(&root2, &layout2, "/system.slice/web.service"),
        None
    );
}

#[test]
fn a_listing_with_pid_1_or_isotop_stops_the_act() {
    let site = Site {
        controller: "cpu".into(),
        path: "/x".into(),
        dir: Path::new("/nonexistent").to_path_buf(),
    };
    assert!(check_listed("/x", &site, &[42, 43]).is_ok());
    let err = check_listed("/x", &site, &[1, 42]).unwrap_err().to_string();
    assert!(err.contains("PID 1"), "{err}");
    let me = std::process::id() as i32;
    let err = check_listed("/x", &site, &[me]).unwrap_err().to_string();
    assert!(err.contains("isotop itself"), "{err}");
    // A site of another cgroup (a forged record) is refused before anything is read.
    let err = check_site(&HostRoot::live(), "/y", &site)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in this cgroup"), "{err}");
}
