//! The C allocator's knobs for a long-running process (glibc's `mallopt` and `malloc_trim`),
//! which nix and rustix do not wrap.
//!
//! Contract: [`bound_heap`] fixes glibc's arena count and its trim and mmap thresholds once,
//! before the process's threads start allocating; [`trim`] gives the pages the heap holds free
//! back to the kernel. Both are hints: a refusal, or a C library that is not glibc (where
//! neither exists), changes nothing and is no error. Neither touches memory Rust owns.

/// Bytes from which an allocation gets pages of its own (`M_MMAP_THRESHOLD`) and free bytes
/// at the heap's top kept before giving them back (`M_TRIM_THRESHOLD`): glibc's defaults,
/// 128 KiB, held fixed. Left alone, glibc raises both each time a large block is freed (up to
/// 32 MiB and 64 MiB), so a table of thousands of process records rebuilt each tick stays
/// inside the heap and the freed copy stays resident.
#[cfg(target_env = "gnu")]
const THRESHOLD_BYTES: nix::libc::c_int = 128 * 1024;

/// Arenas (`M_ARENA_MAX`): glibc makes up to 8 per core as threads contend, each keeping its
/// own free memory; a dashboard's few threads allocate little at once, so two are enough.
#[cfg(target_env = "gnu")]
const ARENAS: nix::libc::c_int = 2;

/// Bounds the heap (see the constants); call once at start, before threads are made.
/// Returns true when glibc took every setting.
pub fn bound_heap() -> bool {
    #[cfg(target_env = "gnu")]
    {
        use nix::libc;
        [
            (libc::M_ARENA_MAX, ARENAS),
            (libc::M_MMAP_THRESHOLD, THRESHOLD_BYTES),
            (libc::M_TRIM_THRESHOLD, THRESHOLD_BYTES),
        ]
        .into_iter()
        // SAFETY: mallopt takes two integers and only changes the allocator's parameters;
        // it returns 1 on success, 0 on a refused value.
        .all(|(param, value)| unsafe { libc::mallopt(param, value) } == 1)
    }
    #[cfg(not(target_env = "gnu"))]
    false
}

/// Returns the free pages of every arena to the kernel (`malloc_trim(0)`); true when some
/// were. It walks each arena's free lists: about a millisecond on a heap of tens of MB.
pub fn trim() -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: malloc_trim takes the number of bytes to keep at the top (0) and only
        // releases pages no allocation holds.
        unsafe { nix::libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(target_env = "gnu"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_env = "gnu")]
    fn glibc_takes_the_bounds_and_a_trim_after_a_large_free() {
        assert!(bound_heap());
        // Many small blocks freed together leave free pages inside the heap for trim.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|_| vec![1u8; 200]).collect();
        drop(blocks);
        trim();
    }
}
