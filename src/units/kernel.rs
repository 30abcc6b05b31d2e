//! The kernel's own units, asked of `sysconf` with the value every Linux uses when it cannot
//! be asked: bytes per memory page (`stat`'s rss and v1 memory limits count pages) and clock
//! ticks per second (`USER_HZ`, the unit of `stat`'s times).

use nix::unistd::{SysconfVar, sysconf};

/// The kernel's page size in bytes (4096 when it cannot be asked).
pub fn page_size() -> u64 {
    ask(SysconfVar::PAGE_SIZE).unwrap_or(4096)
}

/// Clock ticks per second (`USER_HZ`), the unit of `stat` times (100 when it cannot be asked).
pub fn clock_ticks_per_second() -> u64 {
    ask(SysconfVar::CLK_TCK).unwrap_or(100)
}

/// A positive `sysconf` value, or `None`.
fn ask(var: SysconfVar) -> Option<u64> {
    sysconf(var)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two_of_at_least_4_kib() {
        let page = page_size();
        assert!(page >= 4096 && page.is_power_of_two(), "{page}");
    }

    #[test]
    fn clock_ticks_are_positive() {
        // 100 on every mainstream architecture; positive everywhere.
        assert!(clock_ticks_per_second() > 0);
    }
}
