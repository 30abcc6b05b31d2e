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
        _ => bail!("usage: record_store stretch SRC DST HOURS INTERVAL_S | seek DIR TIMES"),
    }
}

fn stretch(src: PathBuf, dst: PathBuf, hours: u64, interval_s: u64) -> anyhow::Result<()> {
    let source = Recording::open(&src).context("the source store")?;
    // Every source frame but the first (it has no rates yet), decoded once.
    let frames = (1..source.entries().len())
        .map(|i| source.frame(i))
        .collect::<Result<Vec<_>, _>>()?;
    if frames.is_empty() {
        bail!("{} holds fewer than 2 frames", src.display());
    }
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
