//! The Mounts part of a container's detail pane (`v` twice), drawn with ratatui's TestBackend
//! from fixture frames: the root first, volumes, binds and tmpfs with where the host sees them,
//! access and propagation; the kernel's own file systems folded into one counted line; a list
//! too long for the screen; strangers' paths cleaned; a root that is no mount point.

use crate::layers::{pane_of, row_with};
use crate::support::fixture;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use isotop::host::mounts::{ContainerMount, MountKind};
use isotop::sample::Frame;
use isotop::ui::app::DetailPane;

use fixture::{app_with_history, frame};

#[test]
fn mounts_list_the_root_first_then_volumes_binds_and_tmpfs_and_count_the_kernels() {
    for (width, height) in [(80, 24), (160, 48)] {
        let (mut app, history) = app_with_history(3);
        let screen = pane_of(&mut app, &history, "api", DetailPane::Mounts, width, height);
        row_with(&screen, &["api (kubernetes)", "mounts (v)"]);
        let header = row_with(
            &screen,
            &[
                "MOUNTED AT",
                "TYPE",
                "HOST PATH / SOURCE",
                "RW",
                "PROPAGATION",
            ],
        );
        let root = row_with(&screen, &["/ ", "overlay", "/57/merged", "rw", "private"]);
        let data = row_with(
            &screen,
            &["/data", "ext4", "/srv/volumes/api-data", "rw", "slave"],
        );
        let hosts = row_with(&screen, &["/etc/hosts", "ext4", "/etc-hosts", "rw"]);
        let shm = row_with(&screen, &["/dev/shm", "tmpfs", "shm", "rw", "private"]);
        let secret = row_with(&screen, &["serviceaccount", "tmpfs", "ro", "private"]);
        assert!(header < root && root < data && data < hosts && hosts < shm && shm < secret);
        let kernel = row_with(
            &screen,
            &["+ 6 of the kernel's own: proc, sysfs, devpts, mqueue, cgroup ×2"],
        );
        assert_eq!(kernel, secret + 1, "the count follows the rows");
        // The kernel's own are not rows.
        for fs in ["/proc ", "/sys ", "/dev/pts", "/dev/mqueue"] {
            assert!(
                !screen.iter().any(|r| r.starts_with(fs)),
                "{fs} folded:\n{}",
                screen.join("\n")
            );
        }
        // Cut paths keep their tails.
        row_with(&screen, &["…", "es.io/serviceaccount"]);
        if width >= 160 {
            row_with(&screen, &["/var/lib/kubelet/pods/0f0e/etc-hosts"]);
        }
    }
}

#[test]
fn a_bind_rooted_container_shows_its_host_directory_as_its_root() {
    let (mut app, history) = app_with_history(3);
    let screen = pane_of(&mut app, &history, "web", DetailPane::Mounts, 80, 24);
    row_with(
        &screen,
        &["/ ", "ext4", "/srv/bundles/web/rootfs", "ro", "private"],
    );
    row_with(&screen, &["/var/log/nginx", "ext4", "/srv/logs/web", "rw"]);
}

/// Frame 5 with `api`'s mounts changed by `change`.
fn with_api_mounts(
    change: impl Fn(&mut Vec<ContainerMount>, &mut Option<isotop::host::mounts::RootFs>),
) -> Frame {
    let mut f = frame(5, true);
    let api = f
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "api")
        .unwrap();
    let mut stack = (**api.stack.as_ref().unwrap()).clone();
    change(&mut stack.root.mounts, &mut stack.root.root);
    api.stack = Some(Arc::new(stack));
    f
}

#[test]
fn a_list_too_long_for_the_screen_says_how_many_more() {
    let (mut app, history) = app_with_history(3);
    app.on_frame(with_api_mounts(|mounts, _| {
        let template = mounts
            .iter()
            .find(|m| m.kind == MountKind::Bind)
            .unwrap()
            .clone();
        for n in 0..40 {
            let mut m = template.clone();
            m.destination = format!("/vol/{n}").into();
            mounts.push(m);
        }
    }));
    let screen = pane_of(&mut app, &history, "api", DetailPane::Mounts, 80, 24);
    let shown = screen.iter().filter(|r| r.starts_with("/vol/")).count();
    let more = row_with(&screen, &["more: isotop inspect api012345678"]);
    // The root, 4 binds and tmpfs, then 40 volumes: what is not a row is counted.
    row_with(&screen, &["/data", "/srv/volumes/api-data"]);
    assert!(shown > 3, "{shown} volumes shown");
    assert!(
        screen[more].contains(&format!("… {} more", 40 - shown)),
        "{}",
        screen[more]
    );
    row_with(&screen, &["+ 6 of the kernel's own"]);
}

#[test]
fn strangers_paths_are_cleaned_and_a_root_that_is_no_mount_point_is_said() {
    let (mut app, history) = app_with_history(3);
    app.on_frame(with_api_mounts(|mounts, root| {
        let mut m = mounts
            .iter()
            .find(|m| m.kind == MountKind::Bind)
            .unwrap()
            .clone();
        m.destination = "/data/\u{1b}[31mred\u{202e}txt".into();
        m.source = OsString::from_vec(b"/dev/\xff\x1bsdz".to_vec());
        m.host_path = None;
        mounts.push(m);
        *root = None;
    }));
    let screen = pane_of(&mut app, &history, "api", DetailPane::Mounts, 160, 48);
    row_with(&screen, &["/data/?[31mred?txt", "/dev/\u{fffd}?sdz"]);
    let text = screen.concat();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    row_with(&screen, &["no mount at its /"]);
    assert!(
        !screen.iter().any(|r| r.contains("overlay ")),
        "no root row"
    );
}
