//! STUB (helper C replaces): the per-container supervisor process.
