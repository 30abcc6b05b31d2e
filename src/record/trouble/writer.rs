//! The dump writer: a thread of its own (`isotop-trouble-dump`) that writes what the trouble
//! worker hands it — a window to start a dump with, the records after it while the dump stays
//! open, its close — so no disk write (each record is synced) ever holds up a frame.
//!
//! Contract: commands are carried out in the order sent. [`Command::Start`] prepares the dumps'
//! directory (`place::prepare`), makes the dump's own (`place::new_dump_dir`), records the window
//! into it (`Recorder::create` + `append_encoded`, a keyframe first), reports
//! [`TroubleReport::Dumped`] or [`TroubleReport::Failed`], lowers the busy count and prunes old
//! dumps. [`Command::Append`] adds a record to the open dump (a failure is reported once and ends
//! that dump); [`Command::Close`] releases it and prunes again. The thread ends when the worker
//! drops its sender.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::super::ring::Held;
use super::super::{RecordOptions, Recorder};
use super::{Report, TroubleOptions, TroubleReport, place, trigger};
use crate::host::events::Event;

/// What the worker asks of the writer.
pub(super) enum Command {
    /// Start a dump for `trigger` with `window` (a keyframe first).
    Start {
        trigger: Box<Event>,
        window: Vec<Arc<Held>>,
    },
    /// The next record of the open dump.
    Append(Arc<Held>),
    /// The open dump is complete.
    Close,
    /// Answer once everything sent before is done.
    Flush(mpsc::Sender<()>),
}

/// The dump being written.
struct Open {
    dir: PathBuf,
    recorder: Recorder,
}

/// Runs the writer until `commands` closes. `busy` counts the starts sent and not yet written.
pub(super) fn run(
    options: &TroubleOptions,
    commands: &mpsc::Receiver<Command>,
    busy: &AtomicUsize,
    report: &Report,
) {
    let mut open: Option<Open> = None;
    while let Ok(command) = commands.recv() {
        match command {
            Command::Start { trigger, window } => {
                open = None;
                let started = start(options, &trigger, &window);
                busy.fetch_sub(1, Ordering::AcqRel);
                match started {
                    Ok(dump) => {
                        report(&TroubleReport::Dumped {
                            what: trigger::what(&trigger),
                            trigger: *trigger,
                            dir: dump.dir.clone(),
                            frames: window.len(),
                            from_ms: window.first().map_or(0, |r| r.t_ms),
                            to_ms: window.last().map_or(0, |r| r.t_ms),
                        });
                        prune(options, Some(&dump.dir), report);
                        open = Some(dump);
                    }
                    Err(why) => report(&TroubleReport::Failed {
                        what: trigger::what(&trigger),
                        trigger: *trigger,
                        why,
                    }),
                }
            }
            Command::Append(record) => {
                if let Some(dump) = open.as_mut()
                    && let Err(e) = record
                        .encoded()
                        .map_err(|e| format!("the trouble ring's file could not be read: {e}"))
                        .and_then(|r| dump.recorder.append_encoded(&r).map_err(|e| e.to_string()))
                {
                    report(&TroubleReport::Problem(format!(
                        "the dump in {} stopped short: {e}",
                        dump.dir.display()
                    )));
                    open = None;
                }
            }
            Command::Close => {
                if open.take().is_some() {
                    prune(options, None, report);
                }
            }
            Command::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Makes the dump's directory and writes `window` into it.
fn start(options: &TroubleOptions, trigger: &Event, window: &[Arc<Held>]) -> Result<Open, String> {
    place::prepare(&options.dir)?;
    let dir = place::new_dump_dir(&options.dir, &trigger::dump_name(trigger))?;
    let store = RecordOptions {
        // The dump is bounded by the ring and the cooldown; one segment holds it all, so a
        // delta never begins a segment without its keyframe.
        retain_age: None,
        retain_bytes: None,
        segment_span: Duration::from_secs(100 * 365 * 24 * 3600),
    };
    let mut recorder = Recorder::create(&dir, store).map_err(|e| e.to_string())?;
    for record in window {
        // One record's payload made whole at a time.
        let record = record
            .encoded()
            .map_err(|e| format!("the trouble ring's file could not be read: {e}"))?;
        recorder
            .append_encoded(&record)
            .map_err(|e| e.to_string())?;
    }
    Ok(Open { dir, recorder })
}

fn prune(options: &TroubleOptions, open: Option<&std::path::Path>, report: &Report) {
    for problem in place::prune(&options.dir, options.keep_dumps, options.keep_bytes, open) {
        report(&TroubleReport::Problem(problem));
    }
}
