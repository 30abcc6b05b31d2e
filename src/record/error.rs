//! What can go wrong with a store, each with the path it happened at and what to do.

use std::path::PathBuf;

/// The recorder's and the replay's errors.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading a store's file failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a store's file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another recorder holds the directory.
    #[error(
        "{} is being recorded by another isotop (its lock is held): stop that recorder or \
         record into another directory with -o",
        dir.display()
    )]
    Locked { dir: PathBuf },
    /// A segment of another format version.
    #[error(
        "{} was recorded in store format {found}; this isotop reads format {supported}: replay \
         it with the isotop that recorded it, or record anew",
        path.display()
    )]
    Version {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A file that is not a segment of an isotop store.
    #[error("{} is not an isotop recording ({why})", path.display())]
    NotAStore { path: PathBuf, why: String },
    /// The directory holds no frame.
    #[error("{} holds no recorded frame: record into it first with `isotop record -o {}`", dir.display(), dir.display())]
    Empty { dir: PathBuf },
    /// A record whose checksum matched but whose frame did not decode.
    #[error("a frame in {} does not decode ({why})", path.display())]
    Decode { path: PathBuf, why: String },
    /// A segment removed (by the recorder's retention) since the store was read.
    #[error(
        "{} was removed since the recording was opened (the recorder keeps only what --retain \
         says): read the recording again",
        path.display()
    )]
    Rotated { path: PathBuf },
    /// A record that cannot start a segment (a delta: a segment starts at a keyframe).
    #[error("a delta record cannot begin a segment in {}: a segment starts at a keyframe", dir.display())]
    DeltaFirst { dir: PathBuf },
    /// A frame that could not be encoded.
    #[error("cannot encode a frame: {0}")]
    Encode(String),
}
