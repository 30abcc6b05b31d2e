//! The sampler keeps a stack's other mounts (beside its root and layers) for every container
//! until told whose a view shows (`Sampler::set_mounts_for`, the dashboard's detail pane); from
//! then on only that container's, read again at once, while the others' are left out and
//! counted (`ContainerRoot::mounts_left_out`) with their root and layers kept. Real runc
//! containers on overlay roots, sampled on the live host.

use isotop::host::HostRoot;
use isotop::host::layers::LayerOwners;
use isotop::host::stack::{LayerPosition, read_stack};
use isotop::sample::{Frame, LayerSizing};

use crate::sample_stacks::{OverlayContainer, container, history, ready, sampler_on, tick_until};
use crate::support::overlay_root::LayerDirs;

/// `id`'s other mounts in `frame`: (kept, left out); `None` without a stack.
fn mounts(frame: &Frame, id: &str) -> Option<(usize, usize)> {
    let stack = container(frame, id)?.stack.clone()?;
    Some((stack.root.mounts.len(), stack.root.mounts_left_out))
}

/// True when `id`'s stack in `frame` still has its overlay root and its writable layer.
fn root_and_layers_kept(frame: &Frame, id: &str) -> bool {
    container(frame, id)
        .and_then(|c| c.stack.clone())
        .is_some_and(|s| {
            s.root
                .root
                .as_ref()
                .is_some_and(|r| r.mount.fs_type == "overlay")
                && s.layers
                    .iter()
                    .any(|l| l.position == LayerPosition::Writable)
        })
}

#[test]
#[ignore = "needs root"]
fn mounts_are_kept_for_the_container_a_view_shows_and_read_again_when_asked() {
    if !ready() {
        return;
    }
    let layers = LayerDirs::create();
    let (a, _) = OverlayContainer::on_busybox(&layers, "mounts-a");
    let (b, _) = OverlayContainer::on_busybox(&layers, "mounts-b");
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    let mut sampler = sampler_on(HostRoot::live(), LayerSizing::Off);
    let mut history = history();

    // Until told: every stack keeps every mount, as a full read does.
    let frame = tick_until(&mut sampler, &mut history, "both stacks read", |f| {
        mounts(f, &a_id).is_some() && mounts(f, &b_id).is_some()
    });
    let b_view = &container(&frame, &b_id).expect("b sampled").view.container;
    let (b_pid, runtime) = (b_view.init_pid.expect("b's init"), b_view.runtime);
    let root = HostRoot::live();
    let full = |pid: i32| {
        read_stack(&root, pid, runtime, &mut LayerOwners::new(&root))
            .expect("read")
            .expect("running")
    };
    let b_full = full(b_pid);
    assert!(
        !b_full.root.mounts.is_empty(),
        "runc mounts /proc, /dev, … in a container"
    );
    assert_eq!(mounts(&frame, &b_id), Some((b_full.root.mounts.len(), 0)));

    // The detail pane shows a: b's other mounts are left out (counted), its root and layers
    // stay; a's are kept, with no read due (a already holds them).
    assert!(
        !sampler.set_mounts_for(Some(a_id.clone())),
        "a's are held: nothing to read"
    );
    let frame = sampler.tick().expect("tick");
    assert_eq!(mounts(&frame, &b_id), Some((0, b_full.root.mounts.len())));
    let b_notes = container(&frame, &b_id)
        .and_then(|c| c.stack.clone())
        .expect("b's stack");
    assert!(
        b_notes
            .root
            .notes
            .iter()
            .any(|n| n.contains("other mounts not kept")),
        "a recorded frame says why: {:?}",
        b_notes.root.notes
    );
    assert!(root_and_layers_kept(&frame, &b_id));
    assert!(mounts(&frame, &a_id).is_some_and(|(kept, out)| kept > 0 && out == 0));

    // The pane moves to b: its mounts are due and read on the very next tick, equal to a
    // full read's; a's are left out.
    assert!(
        sampler.set_mounts_for(Some(b_id.clone())),
        "b's were left out: a read is due"
    );
    let frame = sampler.tick().expect("tick");
    let b_stack = container(&frame, &b_id)
        .and_then(|c| c.stack.clone())
        .expect("b's stack");
    assert_eq!(
        b_stack.root,
        full(b_pid).root,
        "as a full read: mounts, no note"
    );
    assert!(mounts(&frame, &a_id).is_some_and(|(kept, out)| kept == 0 && out > 0));
    assert!(root_and_layers_kept(&frame, &a_id));

    // No container's: both left out, and a re-read (every `stacks_every` ticks) keeps it so.
    assert!(!sampler.set_mounts_for(None));
    let frame = sampler.tick().expect("tick");
    for id in [&a_id, &b_id] {
        assert!(
            mounts(&frame, id).is_some_and(|(kept, out)| kept == 0 && out > 0),
            "{id}"
        );
        assert!(root_and_layers_kept(&frame, id), "{id}");
    }
    drop(a);
    drop(b);
}
