//! The sampler's stacks and layer sizes on real containers: runc containers on overlay roots
//! the tests build (mounted on the bundle's rootfs in the host's mount namespace, as Docker and
//! containerd do), sampled with sizing on. Each frame carries the container's stack (layers top
//! first), and `layer_sizes` gets each layer's size, equal to `du -s --block-size=1` of its dir;
//! writes to its root grow the writable layer's size and its history; a layer dir deleted
//! while sized is `Failed` while ticks go on; a container that exits leaves no stack nor size
//! behind; a lower layer shared by two containers is marked on both and sized once; with an
//! injected root the readable paths are walked (sizing off: `sample_stacks_off`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use isotop::host::HostRoot;
use isotop::host::stack::LayerPosition;
use isotop::sample::{
    ContainerSample, Frame, History, LayerSize, LayerSizing, Sampler, SamplerOptions, SeriesKey,
};

use crate::support::overlay_root::LayerDirs;
use crate::support::{bundle, common};

/// Long enough for a runc start, a regrouping and a few walks on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(40);
/// `du` and the sizer read the same inodes; they may differ by a directory block or two
/// written between the two reads (runc's, the kernel's): a few KiB.
const SLACK: u64 = 16 * 1024;
const MIB: u64 = 1024 * 1024;

pub(crate) fn ready() -> bool {
    common::require_program("runc")
        && common::require_program("du")
        && Path::new(bundle::BUSYBOX).is_file()
}

/// Unmounts an overlay the test mounted (lazily: the runtime may still hold it for a moment)
/// and removes the bundle dir the container's own drop could not (a busy mount point).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        if let Some(bundle) = self.0.parent() {
            let _ = fs::remove_dir_all(bundle);
        }
    }
}

/// Mounts overlay `lowers` (top first) under `upper` on `target`, in the host's namespace.
fn mount_overlay(target: &Path, lowers: &[PathBuf], upper: &Path, work: &Path) -> Mounted {
    let escape = |p: &Path| p.display().to_string().replace(',', "\\,");
    let lower: Vec<String> = lowers.iter().map(|l| escape(l)).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        escape(upper),
        escape(work)
    );
    let status = Command::new("mount")
        .args(["-t", "overlay", "isotop-test", "-o", &options])
        .arg(target)
        .status()
        .expect("mount runs");
    assert!(status.success(), "overlay mount with {options}");
    Mounted(target.to_path_buf())
}

/// A runc container whose root is an overlay of the test's layers. Drops the container first,
/// then the mount.
pub(crate) struct OverlayContainer {
    run: bundle::OciRun,
    _mounted: Mounted,
    upper: PathBuf,
}

impl OverlayContainer {
    /// Starts one whose lowers are what `lowers` returns given the runtime's built rootfs
    /// (which it may move into a layer); its upper and work dirs are `<tag> upper`/`work`.
    fn start(
        layers: &LayerDirs,
        tag: &str,
        lowers: impl FnOnce(&Path) -> Vec<PathBuf>,
    ) -> OverlayContainer {
        let upper = layers.dir(&format!("{tag} upper"));
        let work = layers.dir(&format!("{tag} work"));
        let mut mounted = None;
        let run = bundle::OciRun::start_prepared("runc", &common::unique_name(tag), |rootfs| {
            let lowers = lowers(rootfs);
            fs::create_dir_all(rootfs).expect("rootfs dir");
            mounted = Some(mount_overlay(rootfs, &lowers, &upper, &work));
        });
        OverlayContainer {
            run,
            _mounted: mounted.expect("the rootfs was prepared"),
            upper,
        }
    }

    /// Starts one whose only lower layer is the busybox rootfs, moved to `<tag> base`; returns
    /// it and that layer.
    pub(crate) fn on_busybox(layers: &LayerDirs, tag: &str) -> (OverlayContainer, PathBuf) {
        let base = layers.tmp.path().join(format!("{tag} base"));
        let c = OverlayContainer::start(layers, tag, |rootfs| vec![rootfs_into(rootfs, &base)]);
        (c, base)
    }

    pub(crate) fn id(&self) -> &str {
        &self.run.id
    }

    /// Writes `bytes` to `/name` of the container's root file system, through the overlay it
    /// is (the merged dir as the host mounted it; runc's default spec makes the container's
    /// own view of it read-only): the copy-on-write layer gets the file, as from a write inside.
    fn write_file(&self, name: &str, bytes: usize) {
        let path = self.run.bundle.join("rootfs").join(name);
        let mut file = fs::File::create(&path).expect("create in the merged dir");
        file.write_all(&vec![0u8; bytes]).expect("write");
        file.sync_all().expect("sync");
    }
}

/// Moves the built rootfs (busybox) into the layer `dir` and returns it.
fn rootfs_into(rootfs: &Path, dir: &Path) -> PathBuf {
    fs::rename(rootfs, dir).expect("move the rootfs into a layer");
    dir.to_path_buf()
}

pub(crate) fn sampler_on(root: HostRoot, sizing: LayerSizing) -> Sampler {
    Sampler::with_options(
        root,
        SamplerOptions {
            // Every part every tick: the test must not depend on how busy the machine is.
            part_budget: f64::INFINITY,
            containers_every: 1,
            layer_sizing: sizing,
            writable_every: Duration::from_secs(1),
            ..SamplerOptions::default()
        },
    )
}

/// Ticks every 100 ms (recording each frame in `history`) until `done` holds; panics after
/// [`WAIT`] saying `what`. A failed tick fails the test.
pub(crate) fn tick_until(
    sampler: &mut Sampler,
    history: &mut History,
    what: &str,
    mut done: impl FnMut(&Frame) -> bool,
) -> Frame {
    let started = Instant::now();
    loop {
        let frame = sampler
            .tick()
            .expect("a tick never fails on stacks or sizes");
        history.record(&frame);
        if done(&frame) {
            return frame;
        }
        assert!(
            started.elapsed() < WAIT,
            "{what}: not within {WAIT:?}; sizes {:?}, warnings {:?}",
            frame.layer_sizes,
            frame.warnings
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn history() -> History {
    History::new(Duration::from_secs(600))
}

pub(crate) fn container<'f>(frame: &'f Frame, id: &str) -> Option<&'f ContainerSample> {
    frame.containers.iter().find(|c| c.view.container.id == id)
}

fn sized_bytes(frame: &Frame, dir: &Path) -> Option<u64> {
    match frame.layer_sizes.get(dir)? {
        LayerSize::Sized { usage, .. } => Some(usage.allocated_bytes),
        _ => None,
    }
}

/// `du -s --block-size=1 DIR`: the bytes allocated below it.
fn du_bytes(dir: &Path) -> u64 {
    let out = Command::new("du")
        .args(["-s", "--block-size=1"])
        .arg(dir)
        .output()
        .expect("du runs");
    assert!(out.status.success(), "du {}", dir.display());
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("du said {text:?}"))
}

fn assert_like_du(frame: &Frame, dir: &Path) {
    let ours = sized_bytes(frame, dir).expect("sized");
    let du = du_bytes(dir);
    assert!(
        ours.abs_diff(du) <= SLACK,
        "{}: sized {ours} bytes, du says {du}",
        dir.display()
    );
}

#[test]
#[ignore = "needs root"]
fn stack_and_sizes_follow_a_runc_container() {
    if !ready() {
        return;
    }
    let layers = LayerDirs::create();
    let top = layers.dir("top, layer");
    fs::write(top.join("data"), vec![7u8; 100 * 1024]).unwrap();
    let base = layers.tmp.path().join("base layer");
    let c = OverlayContainer::start(&layers, "stacks", |rootfs| {
        vec![top.clone(), rootfs_into(rootfs, &base)]
    });
    let upper = c.upper.clone();
    let mut sampler = sampler_on(HostRoot::live(), LayerSizing::All);
    let mut history = history();

    let frame = tick_until(&mut sampler, &mut history, "the stack sized", |f| {
        [&upper, &top, &base]
            .iter()
            .all(|d| sized_bytes(f, d).is_some())
    });
    let sample = container(&frame, c.id()).expect("the container is sampled");
    let stack = sample.stack.as_ref().expect("its stack is in the frame");
    let layers_seen: Vec<(&Path, LayerPosition)> = stack
        .layers
        .iter()
        .map(|l| (l.dir.as_path(), l.position))
        .collect();
    assert_eq!(
        layers_seen,
        vec![
            (upper.as_path(), LayerPosition::Writable),
            (top.as_path(), LayerPosition::Lower(1)),
            (base.as_path(), LayerPosition::Lower(2)),
        ]
    );
    assert!(stack.layers.iter().all(|l| l.shared_with.is_empty()));
    for dir in [&upper, &top, &base] {
        assert_like_du(&frame, dir);
    }
    // busybox alone is over 1 MiB: the lower layer's figure is the real one, not a stub.
    assert!(sized_bytes(&frame, &base).unwrap() > MIB);
    let before = frame
        .writable_bytes(sample)
        .expect("the writable layer's bytes");
    assert_eq!(Some(before), sized_bytes(&frame, &upper));

    // An unchanged stack is the same allocation in the next frame: no per-tick copy.
    let next = sampler.tick().unwrap();
    let again = container(&next, c.id()).and_then(|s| s.stack.as_ref());
    assert!(again.is_some_and(|s| Arc::ptr_eq(s, stack)));

    // 4 MiB written to its root: its writable layer, re-measured after 1 s, grows by as much.
    c.write_file("big", 4 * MIB as usize);
    let grown = tick_until(
        &mut sampler,
        &mut history,
        "the writable layer grown",
        |f| {
            container(f, c.id())
                .and_then(|s| f.writable_bytes(s))
                .is_some_and(|b| b >= before + 4 * MIB)
        },
    );
    assert_like_du(&grown, &upper);
    let points: Vec<Option<u64>> = history
        .points(&SeriesKey::Container(c.id().to_string()))
        .map(|p| p.writable_bytes)
        .collect();
    assert!(points.contains(&Some(before)), "history {points:?}");
    assert!(
        points
            .last()
            .copied()
            .flatten()
            .is_some_and(|b| b >= before + 4 * MIB),
        "history {points:?}"
    );

    // A layer dir deleted while sized: that layer fails, the others and the ticks go on.
    fs::remove_dir_all(&top).unwrap();
    let failed = tick_until(
        &mut sampler,
        &mut history,
        "the deleted layer failed",
        |f| {
            matches!(
                f.layer_sizes.get(top.as_path()),
                Some(LayerSize::Failed { .. })
            )
        },
    );
    match failed.layer_sizes.get(top.as_path()) {
        Some(LayerSize::Failed { reason }) => assert!(reason.contains("gone"), "{reason}"),
        other => panic!("not failed: {other:?}"),
    }
    assert!(sized_bytes(&failed, &base).is_some());
    assert!(sized_bytes(&failed, &upper).is_some());
    assert!(container(&failed, c.id()).is_some_and(|s| s.stack.is_some()));

    // The container exits: its stack and its layers' sizes are forgotten.
    let id = c.id().to_string();
    assert!(sampler.holds_stack(&id));
    drop(c);
    let gone = tick_until(&mut sampler, &mut history, "the container gone", |f| {
        container(f, &id).is_none()
    });
    assert!(!sampler.holds_stack(&id));
    for dir in [&upper, &top, &base] {
        assert_eq!(
            gone.layer_sizes.get(dir.as_path()),
            None,
            "{}",
            dir.display()
        );
    }
}

#[test]
#[ignore = "needs root"]
fn a_shared_lower_layer_is_marked_on_both_and_sized_once() {
    if !ready() {
        return;
    }
    let layers = LayerDirs::create();
    let (a, base) = OverlayContainer::on_busybox(&layers, "shared-a");
    // The second container's own rootfs stays hidden under the overlay of the first's base.
    let b = OverlayContainer::start(&layers, "shared-b", |_| vec![base.clone()]);
    let mut sampler = sampler_on(HostRoot::live(), LayerSizing::All);
    let mut history = history();

    let frame = tick_until(&mut sampler, &mut history, "both stacks sized", |f| {
        [&a.upper, &b.upper, &base]
            .iter()
            .all(|d| sized_bytes(f, d).is_some())
    });
    let base_layer = |f: &Frame, id: &str| {
        let stack = container(f, id)?.stack.clone()?;
        stack
            .layers
            .iter()
            .find(|l| l.position == LayerPosition::Lower(1))
            .cloned()
    };
    let in_a = base_layer(&frame, a.id()).expect("a's base layer");
    let in_b = base_layer(&frame, b.id()).expect("b's base layer");
    assert_eq!(in_a.dir, base);
    assert_eq!(in_b.dir, base);
    assert_eq!(in_a.shared_with, vec![b.id().to_string()]);
    assert_eq!(in_b.shared_with, vec![a.id().to_string()]);
    let upper_a = container(&frame, a.id())
        .and_then(|s| s.stack.as_ref()?.writable().cloned())
        .expect("a's writable layer");
    assert!(upper_a.shared_with.is_empty());
    assert_like_du(&frame, &base);
    let ours: Vec<&PathBuf> = frame
        .layer_sizes
        .keys()
        .filter(|k| k.starts_with(layers.tmp.path()))
        .collect();
    let mut expected = vec![&a.upper, &b.upper, &base];
    expected.sort();
    assert_eq!(ours, expected, "one entry per layer");

    // b exits: a's base layer is no longer shared, b's writable layer's size is forgotten,
    // the shared base (still a's) stays sized.
    let a_stack = container(&frame, a.id()).and_then(|s| s.stack.clone());
    let b_upper = b.upper.clone();
    drop(b);
    let after = tick_until(&mut sampler, &mut history, "a alone", |f| {
        base_layer(f, a.id()).is_some_and(|l| l.shared_with.is_empty())
    });
    let a_now = container(&after, a.id()).and_then(|s| s.stack.clone());
    assert!(!matches!((&a_stack, &a_now), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
    assert_eq!(after.layer_sizes.get(b_upper.as_path()), None);
    assert!(sized_bytes(&after, &base).is_some());
}

/// Mirrors each layer dir of `dirs` under `prefix` with a file of `bytes` (a different tree
/// at the path the injected root reads the layer at).
fn mirror(prefix: &Path, dirs: &[&Path], bytes: usize) -> Vec<PathBuf> {
    dirs.iter()
        .map(|dir| {
            let mirrored = prefix.join(dir.strip_prefix("/").expect("absolute"));
            fs::create_dir_all(&mirrored).expect("mirror dir");
            fs::write(mirrored.join("mirror"), vec![1u8; bytes]).expect("mirror file");
            mirrored
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn an_injected_root_walks_the_readable_paths_and_keeps_the_host_ones() {
    if !ready() {
        return;
    }
    let layers = LayerDirs::create();
    let (c, base) = OverlayContainer::on_busybox(&layers, "prefixed");
    // A root like isotop's in a container with the host at /host: the host's pseudo and state
    // file systems through symlinks, its /tmp a different tree holding the layers' paths.
    let prefix = tempfile::Builder::new()
        .prefix("isotop-test-prefix-")
        .tempdir_in("/tmp")
        .unwrap();
    for top in ["proc", "sys", "run", "var", "etc"] {
        std::os::unix::fs::symlink(Path::new("/").join(top), prefix.path().join(top)).unwrap();
    }
    let mirrored = mirror(prefix.path(), &[&c.upper, &base], 8 * MIB as usize);
    let mut sampler = sampler_on(HostRoot::under(prefix.path()), LayerSizing::All);
    let mut history = history();

    let frame = tick_until(
        &mut sampler,
        &mut history,
        "the mirrored layers sized",
        |f| {
            [&c.upper, &base]
                .iter()
                .all(|d| sized_bytes(f, d).is_some())
        },
    );
    // Keyed by the host's paths, sized from the readable ones.
    for (host, readable) in [&c.upper, &base].into_iter().zip(&mirrored) {
        let ours = sized_bytes(&frame, host).unwrap();
        let du = du_bytes(readable);
        assert!(
            ours.abs_diff(du) <= SLACK,
            "{ours} against du {du} of {readable:?}"
        );
        assert!(
            ours.abs_diff(du_bytes(host)) > 4 * MIB,
            "{host:?} was walked, not {readable:?}"
        );
    }
    assert!(
        frame
            .layer_sizes
            .keys()
            .all(|k| !k.starts_with(prefix.path())),
        "keys are host paths: {:?}",
        frame.layer_sizes.keys()
    );
}
