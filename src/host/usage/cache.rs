//! Sizes remembered per layer directory, so a layer is walked once, not every tick.
//!
//! Contract: an entry is keyed by the directory's (device, inode) and remembers the
//! directory's change and modification times ([`LayerKey`]) when it was measured. A
//! [`LayerKind::Lower`] layer is read-only under overlay, so its size stays [`Lookup::Fresh`]
//! for as long as its key is unchanged (a new entry at its top, a chmod, a different directory
//! at the same path: stale). A [`LayerKind::Upper`] (writable) layer changes deep inside without
//! touching its own times, so it is fresh only for [`CachePolicy::upper_every`] after it was
//! measured — the slower cadence it is re-measured on. At most [`CachePolicy::capacity`]
//! layers are kept, the least recently looked-up dropped first. Pure values: the cache is
//! owned by one thread (the sizer worker) and never shared.

use foldhash::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{self, AtFlags, CWD, FileType};

use super::{Usage, UsageError};

/// Which layer of an overlay a directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// A read-only (image) layer: measured once.
    Lower,
    /// The writable layer (copy-on-write usage): re-measured every [`CachePolicy::upper_every`].
    Upper,
}

/// A layer directory's identity and times, from one `stat` (no symlink followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKey {
    pub dev: u64,
    pub ino: u64,
    /// `st_ctime` (seconds, nanoseconds).
    pub ctime: (i64, i64),
    /// `st_mtime` (seconds, nanoseconds).
    pub mtime: (i64, i64),
}

impl LayerKey {
    /// Reads the key of the directory at `path`.
    pub fn of(path: &Path) -> Result<LayerKey, UsageError> {
        let stat = fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| UsageError::from_errno(path, e))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            return Err(UsageError::NotADirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(LayerKey {
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
        })
    }

    fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// How long sizes stay fresh and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// An upper layer's size is re-measured after this long.
    pub upper_every: Duration,
    /// Layers remembered at most.
    pub capacity: usize,
}

impl Default for CachePolicy {
    /// Upper layers every 60 s; 4,096 layers (a few hundred bytes each).
    fn default() -> Self {
        CachePolicy {
            upper_every: Duration::from_secs(60),
            capacity: 4096,
        }
    }
}

/// One remembered size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub usage: Usage,
    /// The directory's key when the walk began.
    pub key: LayerKey,
    /// When the walk ended.
    pub at: Instant,
}

/// What the cache knows of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Still true: no need to walk.
    Fresh(Measured),
    /// Known but out of date: show it, walk again.
    Stale(Measured),
    /// Never measured (or forgotten).
    Missing,
}

/// Sizes per layer directory (see the module's contract).
#[derive(Debug, Default)]
pub struct UsageCache {
    policy: CachePolicy,
    entries: HashMap<(u64, u64), (Measured, Instant)>,
}

impl UsageCache {
    pub fn new(policy: CachePolicy) -> Self {
        UsageCache {
            policy,
            entries: HashMap::default(),
        }
    }

    /// What is known of the layer whose key is `key`, as of `now`.
    pub fn lookup(&mut self, key: &LayerKey, kind: LayerKind, now: Instant) -> Lookup {
        let Some((measured, used)) = self.entries.get_mut(&key.identity()) else {
            return Lookup::Missing;
        };
        *used = now;
        let fresh = match kind {
            LayerKind::Lower => measured.key == *key,
            LayerKind::Upper => {
                now.saturating_duration_since(measured.at) < self.policy.upper_every
            }
        };
        if fresh {
            Lookup::Fresh(*measured)
        } else {
            Lookup::Stale(*measured)
        }
    }

    /// Remembers `usage`, measured from a walk that began when the directory's key was `key`.
    pub fn store(&mut self, key: LayerKey, usage: Usage, now: Instant) {
        if self.entries.len() >= self.policy.capacity && !self.entries.contains_key(&key.identity())
        {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(identity, _)| *identity);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let measured = Measured {
            usage,
            key,
            at: now,
        };
        self.entries.insert(key.identity(), (measured, now));
    }

    /// Drops what is known of the layer (it failed to size, or it is gone).
    pub fn forget(&mut self, key: &LayerKey) {
        self.entries.remove(&key.identity());
    }

    /// Layers remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
