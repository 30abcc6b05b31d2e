//! Following a log written by the test: rotation by rename (with writes to the renamed file
//! after it), copytruncate, truncation regrown between looks, a file that appears later, the
//! backlog meeting the follow point exactly.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::Instant;

use super::*;
use crate::host::logs::time::format_rfc3339_ns;

fn cri(i: usize) -> String {
    format!(
        "{} stdout F line {i}\n",
        format_rfc3339_ns(1_000 + i as u64)
    )
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Empties a file in place (its inode stays).
fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

fn texts(lines: &[LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

fn cri_files(current: &Path) -> LogFiles {
    LogFiles {
        format: LogFormat::Cri,
        current: current.to_path_buf(),
        rotated: vec![],
    }
}

#[test]
fn a_renamed_file_is_finished_before_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    append(&path, &cri(0));
    let mut follower = follow(&cri_files(&path), false).unwrap();
    let mut seen = texts(&follower.poll(Duration::ZERO).unwrap());
    // The writer keeps its descriptor: lines written after the rename still go to the old
    // file, then it reopens the path (kubelet's rotation: rename, then the runtime reopens).
    let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
    for i in 1..50 {
        writer.write_all(cri(i).as_bytes()).unwrap();
        if i == 20 {
            seen.extend(texts(&follower.poll(Duration::ZERO).unwrap()));
            std::fs::rename(&path, dir.path().join("0.log.20260101-000000")).unwrap();
        }
    }
    // The new file appears and fills before the follower looks again.
    for i in 50..80 {
        append(&path, &cri(i));
    }
    // The old one gets nothing more once the new one has data; a later write to it is a bug
    // of the writer, not a line to wait for.
    drop(writer);
    seen.extend(texts(&follower.poll(Duration::from_secs(5)).unwrap()));
    for i in 80..90 {
        append(&path, &cri(i));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 90 && Instant::now() < deadline {
        seen.extend(texts(&follower.poll(Duration::from_millis(200)).unwrap()));
    }
    assert_eq!(seen, expected(0..90));
    assert!(follower.old.is_none(), "the renamed file is let go");
}

#[test]
fn copytruncate_and_a_truncation_regrown_between_looks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctr.log");
    append(&path, &(0..10).map(cri).collect::<String>());
    let mut follower = follow(&cri_files(&path), false).unwrap();
    let mut seen = texts(&follower.poll(Duration::ZERO).unwrap());
    // copytruncate: copied aside, emptied in place, written again (shorter than before).
    std::fs::copy(&path, dir.path().join("ctr.log.1")).unwrap();
    truncate(&path);
    append(&path, &cri(10));
    seen.extend(texts(&follower.poll(Duration::from_secs(5)).unwrap()));
    assert_eq!(seen, expected(0..11));
    assert_eq!(follower.take_notes().len(), 1);
    // Truncated and written past the old length before the follower looks: its last bytes
    // before its offset changed.
    truncate(&path);
    append(&path, &(11..30).map(cri).collect::<String>());
    seen.extend(texts(&follower.poll(Duration::from_secs(5)).unwrap()));
    assert_eq!(seen, expected(0..30));
}

#[test]
fn a_file_that_appears_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let mut follower = follow(&cri_files(&path), true).unwrap();
    assert!(follower.poll(Duration::ZERO).unwrap().is_empty());
    let writer = std::thread::spawn({
        let path = path.clone();
        move || {
            std::thread::sleep(Duration::from_millis(200));
            append(&path, &cri(0));
        }
    });
    let started = Instant::now();
    let lines = follower.poll(Duration::from_secs(20)).unwrap();
    writer.join().unwrap();
    assert_eq!(texts(&lines), ["line 0"]);
    // Woken by inotify, not by the end of the timeout.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_backlog_ends_where_following_begins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let docker = |text: &str, at: u64| {
        format!(
            "{}\n",
            serde_json::json!({"log": text, "stream": "stdout", "time": format_rfc3339_ns(at)})
        )
    };
    append(&dir.path().join("c-json.log.1"), &docker("rotated\n", 1));
    // A line begun (no `\n` yet) and a torn record at the end when following starts.
    append(
        &path,
        &format!(
            "{}{}{{\"log\":\"to",
            docker("whole\n", 2),
            docker("begun ", 3)
        ),
    );
    let files = LogFiles {
        format: LogFormat::DockerJsonFile,
        current: path.clone(),
        rotated: vec![dir.path().join("c-json.log.1")],
    };
    let mut follower = follow(&files, true).unwrap();
    let mut backlog = Vec::new();
    follower
        .backlog(&LogQuery::default(), |l| {
            backlog.push(l.text);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(backlog, ["rotated", "whole"]);
    append(&path, "rn\\n\",\"stream\":\"stdout\",\"time\":\"bad\"}\n");
    append(&path, &docker("done\n", 5));
    let lines = follower.poll(Duration::from_secs(5)).unwrap();
    assert_eq!(texts(&lines), ["begun torn", "done"]);
    // The last two lines, from the backlog alone.
    let mut tail = Vec::new();
    let mut again = follow(&files, true).unwrap();
    again
        .backlog(
            &LogQuery {
                tail: Some(2),
                ..LogQuery::default()
            },
            |l| {
                tail.push(l.text);
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(tail, ["begun torn", "done"]);
}

#[test]
fn a_follower_can_move_to_another_thread_and_finish_unfinished_lines() {
    fn is_send<T: Send>() {}
    is_send::<LogFollower>();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    append(&path, &format!("{} stderr P no end", format_rfc3339_ns(1)));
    append(&path, "\n");
    let mut follower = follow(&cri_files(&path), false).unwrap();
    assert!(follower.poll(Duration::ZERO).unwrap().is_empty());
    assert_eq!(texts(&follower.finish()), ["no end"]);
}
