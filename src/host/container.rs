//! Containers of every runtime (placeholder; being written).
