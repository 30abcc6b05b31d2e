//! `isotop target` (placeholder; being written).
