//! The kernel's own units, asked of `sysconf` with the value every Linux uses when it cannot
//! be asked: bytes per memory page (`stat`'s rss and v1 memory limits count pages).

/// The kernel's page size in bytes (4096 when it cannot be asked).
pub fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_size_is_a_power_of_two_of_at_least_4_kib() {
        let page = super::page_size();
        assert!(page >= 4096 && page.is_power_of_two(), "{page}");
    }
}
