//! `--size`'s waiting loop on real directories (sized, missing, a file, refused, deleted while
//! walked) and its progress line's pace.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Progress, SizeRequest, Sizing};
use crate::host::usage::LayerKind;

fn request(key: &Path, readable: Result<PathBuf, String>) -> SizeRequest {
    SizeRequest {
        key: key.to_path_buf(),
        readable,
        kind: LayerKind::Lower,
    }
}

/// (allocated, apparent) bytes of these inodes, from their own `stat`.
fn stat_bytes(paths: &[&Path]) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    paths.iter().fold((0, 0), |(allocated, apparent), p| {
        let m = fs::symlink_metadata(p).unwrap();
        (allocated + m.blocks() * 512, apparent + m.size())
    })
}

fn silent() -> Progress<Vec<u8>> {
    Progress::new(None, Duration::from_secs(1), Instant::now())
}

#[test]
fn each_layer_gets_its_figures_or_its_own_error() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    fs::create_dir_all(layer.join("etc")).unwrap();
    fs::write(layer.join("etc/motd"), vec![b'x'; 10_000]).unwrap();
    fs::write(layer.join("one"), b"1").unwrap();
    fs::hard_link(layer.join("one"), layer.join("one again")).unwrap();
    let file = tmp.path().join("a file");
    fs::write(&file, b"not a layer").unwrap();
    let missing = tmp.path().join("gone");
    // Keys are host paths; here the readable path of each is its key but the refused one.
    let answers = Sizing::start([
        request(Path::new("/layers/a"), Ok(layer.clone())),
        request(Path::new("/layers/b"), Ok(missing.clone())),
        request(Path::new("/layers/c"), Ok(file.clone())),
        request(Path::new("relative/d"), Err("not sized: relative".into())),
        // Asked twice: answered once, under its key.
        request(Path::new("/layers/a"), Ok(layer.clone())),
    ])
    .finish(&mut silent());
    assert_eq!(answers.len(), 4, "{answers:?}");
    let sized = answers[Path::new("/layers/a")].as_ref().expect("sized");
    // The two names of one inode count once: motd and one.
    assert_eq!((sized.files, sized.dirs), (2, 2), "{sized:?}");
    // Every inode once: the two dirs, motd, and `one` (not its second name).
    let inodes = [
        layer.as_path(),
        &layer.join("etc"),
        &layer.join("etc/motd"),
        &layer.join("one"),
    ];
    let (allocated, apparent) = stat_bytes(&inodes);
    assert_eq!(
        (sized.allocated_bytes, sized.apparent_bytes),
        (allocated, apparent)
    );
    let gone = answers[Path::new("/layers/b")].as_ref().unwrap_err();
    assert!(gone.contains("is gone"), "{gone}");
    let not_dir = answers[Path::new("/layers/c")].as_ref().unwrap_err();
    assert!(not_dir.contains("not a directory"), "{not_dir}");
    assert_eq!(
        answers[Path::new("relative/d")],
        Err("not sized: relative".into())
    );
}

#[test]
fn nothing_to_walk_spawns_no_sizer() {
    let sizing = Sizing::start([request(Path::new("x"), Err("refused".into()))]);
    assert!(sizing.handle.is_none());
    let answers = sizing.finish(&mut silent());
    assert_eq!(answers[Path::new("x")], Err("refused".into()));
}

/// A layer deleted while it is walked is that layer's answer — figures with vanished entries
/// or "gone" — and the others are sized as if nothing happened.
#[test]
fn a_layer_deleted_while_sizing_is_its_own_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let doomed = tmp.path().join("doomed");
    for d in 0..40 {
        let dir = doomed.join(format!("d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..200 {
            fs::write(dir.join(format!("f{f}")), b"x").unwrap();
        }
    }
    let kept = tmp.path().join("kept");
    fs::create_dir_all(&kept).unwrap();
    fs::write(kept.join("file"), b"kept").unwrap();
    let deleter = {
        let doomed = doomed.clone();
        std::thread::spawn(move || {
            // Deleting 8,000 files takes longer than the walk starts: the two overlap.
            let _ = fs::remove_dir_all(&doomed);
        })
    };
    let answers = Sizing::start([
        request(Path::new("/doomed"), Ok(doomed.clone())),
        request(Path::new("/kept"), Ok(kept.clone())),
    ])
    .finish(&mut silent());
    deleter.join().unwrap();
    match &answers[Path::new("/doomed")] {
        Ok(figures) => assert!(figures.files <= 8_000, "{figures:?}"),
        Err(e) => assert!(e.contains("is gone"), "{e}"),
    }
    let sized = answers[Path::new("/kept")].as_ref().expect("sized");
    assert_eq!((sized.files, sized.dirs), (1, 1));
    let (allocated, apparent) = stat_bytes(&[kept.as_path(), &kept.join("file")]);
    assert_eq!(
        (sized.allocated_bytes, sized.apparent_bytes),
        (allocated, apparent)
    );
}

#[test]
fn progress_is_written_at_most_once_per_interval_and_erased() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut progress = Progress::new(Some(Vec::new()), Duration::from_secs(1), start);
    let mut built = 0;
    for ms in [0, 400, 999, 1000, 1500, 1999, 2100, 2500] {
        progress.show(at(ms), || {
            built += 1;
            format!("line at {ms}")
        });
    }
    progress.clear();
    let written = String::from_utf8(progress.into_inner().unwrap()).unwrap();
    assert_eq!(
        written,
        "\r\x1b[Kisotop: line at 1000\r\x1b[Kisotop: line at 2100\r\x1b[K"
    );
    // The line's text is made only when it is written.
    assert_eq!(built, 2);
}

#[test]
fn progress_without_a_terminal_writes_nothing_and_a_quick_size_no_line() {
    let start = Instant::now();
    let mut none: Progress<Vec<u8>> = Progress::new(None, Duration::from_secs(1), start);
    none.show(start + Duration::from_secs(5), || unreachable!("not built"));
    none.clear();
    assert!(none.into_inner().is_none());
    // A terminal, but everything answered within the first second: nothing, not even the
    // erase sequence.
    let mut quick = Progress::new(Some(Vec::new()), Duration::from_secs(1), start);
    quick.show(start + Duration::from_millis(300), || "early".into());
    quick.clear();
    assert_eq!(quick.into_inner(), Some(Vec::new()));
}
