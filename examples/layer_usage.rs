//! Sizes one directory tree the way isotop sizes a container's layer, and says how long it
//! took: the figure bench/layer-size.sh puts beside `du -s`.
//!
//! Usage: `layer_usage PATH [FILES_PER_SECOND] [--worker]`. Without a rate, no cap. With
//! `--worker` the size is asked of the background sizer (idle I/O class, nice 19) and this
//! thread waits for it, printing progress to stderr, as a CLI given `--size` would. Prints one
//! line: seconds, allocated bytes, apparent bytes, files, directories, entries.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use isotop::host::usage::{Budget, LayerKind, Usage, dir_usage};
use isotop::sample::{SizeEvent, SizerOptions, spawn_sizer};

fn main() -> anyhow::Result<()> {
    let mut path = None;
    let mut rate = None;
    let mut worker = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--worker" => worker = true,
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => rate = Some(arg.parse::<u32>()?),
        }
    }
    let path = path.ok_or_else(|| anyhow::anyhow!("usage: layer_usage PATH [RATE] [--worker]"))?;
    let started = Instant::now();
    let usage = if worker {
        through_worker(path, rate)?
    } else {
        let budget = rate.map_or_else(Budget::unlimited, Budget::capped);
        dir_usage(&path, &budget)?
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{seconds:.3} s  allocated {}  apparent {}  files {}  dirs {}  entries {}",
        usage.allocated_bytes, usage.apparent_bytes, usage.files, usage.dirs, usage.entries
    );
    if !usage.is_complete() {
        eprintln!("layer_usage: skipped {:?}", usage.skipped);
    }
    Ok(())
}

fn through_worker(path: PathBuf, rate: Option<u32>) -> anyhow::Result<Usage> {
    let sizer = spawn_sizer(SizerOptions {
        files_per_second: rate.and_then(NonZeroU32::new),
        ..SizerOptions::default()
    })?;
    sizer.measure(path, LayerKind::Lower);
    loop {
        match sizer.wait_next(Duration::from_secs(600)) {
            Some(SizeEvent::Progress { so_far, .. }) => {
                eprintln!("layer_usage: sizing… {} files", so_far.files)
            }
            Some(SizeEvent::Sized { usage, .. }) => return Ok(usage),
            Some(SizeEvent::Failed { error, .. }) => return Err(error.into()),
            None => anyhow::bail!("the sizer stopped without an answer"),
        }
    }
}
