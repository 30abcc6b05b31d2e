//! The flight recorder's figures that need a long store (bench/record-bench.sh runs these).
//!
//! `record_store stretch SRC DST HOURS INTERVAL_S`: writes into DST a store of HOURS hours, a
//! frame every INTERVAL_S seconds, made of the real frames recorded in SRC (an `isotop record`
//! store, e.g. of bench/ns-population.sh's host) taken in turn, each with its time and
//! sequence number shifted to its place: real frames, so real keyframes and deltas, in a store
//! laid out as the recorder lays one out (a segment an hour, each indexed). An example rather
//! than a hidden subcommand: it needs only the public `record` API, and no user needs it.
//!
//! `record_store seek DIR TIMES`: TIMES times, a time picked anywhere in DIR's span (evenly
//! spread, deterministic), opens DIR afresh, finds the frame at or before it and decodes it
//! whole; prints the median and the slowest (ms) of the open and of open + seek + decode.
//!
//! `record_store ring SRC FRAMES`: the dashboard's dump ring fed FRAMES frames (SRC's real
//! frames in turn, 1 s apart, no trigger), each waited for: prints the `isotop-trouble`
//! thread's CPU per frame (utime+stime, /proc/self/task), the ring's bytes and frames, and the
//! process's RSS growth while it ran (the frames themselves are decoded before). Decoded
//! frames share nothing, so the frames are first made to share what the sampler shares from
//! tick to tick while it does not change (`share`): a process's record, a container's stack,
//! the namespace table.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use isotop::record::{RecordOptions, Recorder, Recording};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["stretch", src, dst, hours, interval] => {
            stretch(src.into(), dst.into(), hours.parse()?, interval.parse()?)
        }
        ["seek", dir, times] => seek(dir.into(), times.parse()?),
        ["ring", src, frames] => ring(src.into(), frames.parse()?),
        _ => bail!(
            "usage: record_store stretch SRC DST HOURS INTERVAL_S | seek DIR TIMES | ring SRC FRAMES"
        ),
    }
}

/// Every frame of `src` but the first (it has no rates yet), decoded.
fn source_frames(src: &std::path::Path) -> anyhow::Result<Vec<isotop::sample::Frame>> {
    let source = Recording::open(src).context("the source store")?;
    let frames = (1..source.entries().len())
        .map(|i| source.frame(i))
        .collect::<Result<Vec<_>, _>>()?;
    if frames.is_empty() {
        bail!("{} holds fewer than 2 frames", src.display());
    }
    Ok(frames)
}

/// utime+stime of this process's thread named `comm`, clock ticks.
fn thread_ticks(comm: &str) -> anyhow::Result<u64> {
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?.path();
        if std::fs::read_to_string(task.join("comm"))?.trim_end() == comm {
            let stat = std::fs::read_to_string(task.join("stat"))?;
            let after = stat.rsplit_once(')').context("a stat line")?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            // utime and stime: the stat line's fields 14 and 15, 12 and 13 after the comm.
            return Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?);
        }
    }
    bail!("no thread named {comm}")
}

fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS's value")?
        .parse()?)
}

/// Each frame given the previous frame's `Arc` of each part equal to it, as the sampler
/// shares them (`ProcessSample::process`, `ContainerSample::stack`, `Frame::namespaces`).
fn share(frames: &mut [isotop::sample::Frame]) {
    use foldhash::HashMap;
    use std::sync::Arc;
    for n in 1..frames.len() {
        let (before, after) = frames.split_at_mut(n);
        let (last, frame) = (&before[n - 1], &mut after[0]);
        let records: HashMap<i32, &Arc<_>> = last
            .processes
            .iter()
            .map(|p| (p.process.pid, &p.process))
            .collect();
        for sample in &mut frame.processes {
            if let Some(record) = records
                .get(&sample.process.pid)
                .filter(|r| ***r == sample.process)
            {
                sample.process = Arc::clone(record);
            }
        }
        let stacks: HashMap<&str, &Arc<_>> = last
            .containers
            .iter()
            .filter_map(|c| Some((c.view.container.id.as_str(), c.stack.as_ref()?)))
            .collect();
        for sample in &mut frame.containers {
            if let Some(stack) = stacks.get(sample.view.container.id.as_str())
                && sample.stack.as_deref() == Some(&***stack)
            {
                sample.stack = Some(Arc::clone(stack));
            }
        }
        if last.namespaces.namespaces == frame.namespaces.namespaces
            && last.namespaces.warnings == frame.namespaces.warnings
        {
            frame.namespaces = Arc::clone(&last.namespaces);
        }
    }
}

fn ring(src: PathBuf, count: usize) -> anyhow::Result<()> {
    use isotop::record::trouble::{Triggers, TroubleOptions, TroubleRecorder};
    use std::sync::Arc;
    let mut frames = source_frames(&src)?;
    share(&mut frames);
    let scratch = tempfile::tempdir()?;
    let mut options = TroubleOptions::new(scratch.path().join("trouble"));
    options.triggers = Triggers {
        oom_kill: false,
        exit_nonzero: false,
        throttled_percent: None,
        pressure_percent: None,
    };
    let recorder = TroubleRecorder::start(options, Arc::new(|_: &_| {}))?;
    // The thread names itself once running: until then it is not found by name.
    let ticks0 = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            thread_ticks("isotop-trouble").ok()
        })
        .context("no isotop-trouble thread")?;
    let rss0 = rss_kib()?;
    let start_ms = frames[0].taken_at_ms;
    let started = Instant::now();
    for n in 0..count {
        let mut frame = frames[n % frames.len()].clone();
        frame.seq = n as u64;
        frame.taken_at_ms = start_ms + n as u64 * 1000;
        recorder.offer(Arc::new(frame));
        recorder.flush();
    }
    let wall = started.elapsed();
    let ticks = thread_ticks("isotop-trouble")? - ticks0;
    let rss1 = rss_kib()?;
    let stats = recorder.stats();
    let hz = 100.0;
    println!(
        "{count} frames ({} processes each): the trouble thread {:.1} ms CPU a frame \
         (wall {:.1} ms); ring {} frames, {:.2} MiB; RSS +{:.1} MiB",
        frames[0].processes.len(),
        ticks as f64 * 1000.0 / hz / count as f64,
        wall.as_secs_f64() * 1000.0 / count as f64,
        stats.ring.frames,
        stats.ring.bytes as f64 / 1048576.0,
        (rss1 as f64 - rss0 as f64) / 1024.0
    );
    recorder.finish();
    Ok(())
}

fn stretch(src: PathBuf, dst: PathBuf, hours: u64, interval_s: u64) -> anyhow::Result<()> {
    let frames = source_frames(&src)?;
    let options = RecordOptions {
        retain_age: None,
        retain_bytes: None,
        segment_span: Duration::from_secs(3600),
    };
    let mut recorder = Recorder::create(&dst, options)?;
    let start_ms = frames[0].taken_at_ms;
    let count = hours * 3600 / interval_s;
    let started = Instant::now();
    for n in 0..count {
        let mut frame = frames[(n as usize) % frames.len()].clone();
        frame.seq = n;
        frame.taken_at_ms = start_ms + n * interval_s * 1000;
        recorder.append(&frame)?;
        if n % 360 == 0 {
            eprintln!(
                "record_store: {n}/{count} frames, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    recorder.finish()?;
    Ok(())
}

fn seek(dir: PathBuf, times: usize) -> anyhow::Result<()> {
    let probe = Recording::open(&dir)?;
    let (first, last) = probe.span().context("an empty store")?;
    let mut opens = Vec::new();
    let mut seeks = Vec::new();
    let mut frames = 0;
    for i in 0..times {
        let at = first + (last - first) * (2 * i as u64 + 1) / (2 * times as u64);
        let started = Instant::now();
        let recording = Recording::open(&dir)?;
        opens.push(started.elapsed());
        let index = recording.index_at_or_before(at).context("a frame")?;
        let frame = recording.frame(index)?;
        seeks.push(started.elapsed());
        frames = recording.entries().len();
        std::hint::black_box(frame);
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let stats = |mut v: Vec<Duration>| {
        v.sort();
        (ms(&v[v.len() / 2]), ms(&v[v.len() - 1]))
    };
    let (open_median, open_max) = stats(opens);
    let (seek_median, seek_max) = stats(seeks);
    println!(
        "{frames} frames over {:.1} h: open {open_median:.1} ms (slowest {open_max:.1}); \
         open + seek + decode {seek_median:.1} ms (slowest {seek_max:.1}), {times} times",
        (last - first) as f64 / 3_600_000.0
    );
    Ok(())
}
