//! What a store keeps: segments older than the age bound, and the oldest while the store is
//! over the size bound, are removed — never the segment being written. A segment's age is that
//! of its newest frame, taken as the first time of the segment after it (its name), so a
//! segment goes once everything in it is older than the bound; "now" is the newest frame's
//! time, so a store recorded in the past (a test, a clock set back) is judged by its own clock.
//! The size bound counts segments and index files; it is kept to within one segment (a
//! recorder starts a new segment every eighth of the bound, see `store`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RecordError;
use super::recording::segment_paths;
use super::segment::{self, first_ms};

/// What retention removed, and the store's size after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) removed: Vec<PathBuf>,
    /// Bytes of the segments and indexes left.
    pub(crate) bytes: u64,
}

/// Removes from `dir` what `age` and `bytes` do not keep, `open` (the segment being written)
/// aside, `now_ms` being the newest frame's time. The directory is synced after a removal.
pub(crate) fn enforce(
    dir: &Path,
    open: Option<&Path>,
    now_ms: u64,
    age: Option<Duration>,
    bytes: Option<u64>,
) -> Result<Kept, RecordError> {
    let segments = segment_paths(dir)?;
    let sizes: Vec<u64> = segments.iter().map(|p| stored_bytes(p)).collect();
    let mut total: u64 = sizes.iter().sum();
    let age_ms = age.map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
    let mut kept = Kept::default();
    for (i, path) in segments.iter().enumerate() {
        if Some(path.as_path()) == open {
            break;
        }
        // Its newest frame is no later than the next segment's first.
        let newest_ms = segments
            .get(i + 1)
            .and_then(|next| first_ms(next))
            .unwrap_or(now_ms);
        let too_old = age_ms.is_some_and(|age| now_ms.saturating_sub(newest_ms) > age);
        let too_big = bytes.is_some_and(|limit| total > limit);
        if !(too_old || too_big) {
            break;
        }
        remove(path)?;
        total = total.saturating_sub(sizes[i]);
        kept.removed.push(path.clone());
    }
    if !kept.removed.is_empty() {
        super::store::sync_dir(dir)?;
    }
    kept.bytes = total;
    Ok(kept)
}

/// A segment's bytes with its index's.
pub(crate) fn stored_bytes(segment: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    size(segment) + size(&segment::index_path(segment))
}

/// Removes a segment, then its index (a crash between the two leaves an index alone, which
/// the next recorder removes).
fn remove(segment: &Path) -> Result<(), RecordError> {
    for path in [segment.to_path_buf(), segment::index_path(segment)] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(RecordError::Write { path, source }),
        }
    }
    Ok(())
}
