//! Runtime metadata readers (placeholder; being written).
