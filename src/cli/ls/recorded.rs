//! `isotop ls --at TIME --from DIR`: the rows of a recorded frame.
//!
//! Contract: [`rows_of_frame`] makes each of the frame's containers' row with the live rows'
//! own builder (`super::row_of`), fed the sampler's copy of `measure`'s figures
//! (`ContainerSample`), its traffic (`Traffic::recorded`) and its runtime's record
//! (`Life::of`): the same schema as live `ls --json`, each row plus `recorded_at` (the frame's
//! time). CPU% and the throttled share are the sampler's over its own interval (null on the
//! first frame it took). `--size` is answered from the sizes the frame holds (null, with one
//! warning, where the recorder did not size the layer); `--interval` (the recording's rates
//! have their own) and `--all` (a frame holds the containers running then, no stopped ones)
//! are refused. The text is the live table under a first line naming the frame.

use super::life::Life;
use super::traffic::Traffic;
use super::{ContainerRow, LsArgs, Measured, render, row_of};
use crate::cli::inspect::size::SizeFigures;
use crate::cli::recorded::{Recorded, RecordedFrame, refuse};
use crate::cli::{CliError, json_text, print_text, write_stdout};
use crate::sample::{ContainerSample, Frame};

/// `ls` from `recorded` (see the module contract).
pub(super) fn run(recorded: &RecordedFrame, args: &LsArgs) -> Result<(), CliError> {
    if args.interval.is_some() {
        return Err(refuse(
            "--interval",
            "the recording's CPU% and rates are over the recorder's own interval",
        ));
    }
    if args.all {
        return Err(refuse(
            "--all",
            "a frame holds the containers running when it was taken, not stopped ones",
        ));
    }
    let frame = &recorded.frame;
    let mut rows = rows_of_frame(frame);
    if args.size {
        let mut not_sized = Vec::new();
        for (row, sample) in rows.iter_mut().zip(&frame.containers) {
            row.writable_size = frame.writable_size(sample).and_then(|s| match s {
                crate::sample::LayerSize::Sized { usage, .. } => Some(SizeFigures::from(usage)),
                _ => None,
            });
            if row.writable_size.is_none() && sample.view.container.init_pid.is_some() {
                not_sized.push(crate::host::text::clean_str(&row.name));
            }
        }
        if !not_sized.is_empty() {
            crate::cli::warn(&format!(
                "no RW SIZE recorded for {}: the recorder sizes layers only when configured to",
                not_sized.join(", ")
            ));
        }
    }
    if args.json {
        return write_stdout(&json_of_rows(&rows, frame.taken_at_ms)?);
    }
    print_text(&format!("{}{}", recorded.header(), render(&rows, args)))
}

/// The text `ls --json --at` prints for `frame` (without `--size`).
pub(crate) fn json_of_frame(frame: &Frame) -> Result<String, CliError> {
    json_of_rows(&rows_of_frame(frame), frame.taken_at_ms)
}

/// `rows` as JSON, each with `recorded_at`, the time of the frame taken at `taken_at_ms`.
fn json_of_rows(rows: &[ContainerRow], taken_at_ms: u64) -> Result<String, CliError> {
    let shown: Vec<_> = rows.iter().map(|r| Recorded::at(r, taken_at_ms)).collect();
    json_text(&shown)
}

/// The `ls` rows of `frame`'s containers, in the frame's order (see the module contract).
pub(crate) fn rows_of_frame(frame: &Frame) -> Vec<ContainerRow> {
    frame.containers.iter().map(row_of_sample).collect()
}

fn row_of_sample(sample: &ContainerSample) -> ContainerRow {
    let figures = Measured {
        memory_bytes: sample.memory_bytes,
        memory_limit_bytes: sample.memory_limit_bytes,
        cpu_limit_cpus: sample.cpu_limit_cpus,
        pids: sample.pids,
        pids_limit: sample.pids_limit,
        inherited_limits: sample.view.inherited_limits.clone(),
        kernel: sample.kernel.clone(),
    };
    let life = sample
        .runtime_state
        .as_ref()
        .map(Life::of)
        .unwrap_or_default();
    let mut row = row_of(&sample.view, figures, Traffic::recorded(sample), life);
    row.cpu_percent = sample.cpu_percent;
    row.throttled_percent = sample.throttled_percent;
    row
}
