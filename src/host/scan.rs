//! One consistent read of the host (placeholder; being written).
pub struct Snapshot;
pub fn scan() {}
