//! nsfs ioctls (placeholder; being written).
