//! Readers every byte of an image passes through: [`Watched`] stops at SIGINT/SIGTERM/SIGHUP
//! (see [`super::interrupt`]), [`Bounded`] at the operator's decompressed-size limit.
//!
//! Both fail the read with an error of their own kind (`Other`, never `Interrupted`, which
//! `io::copy` and the tar reader would retry) and remember why, so the caller can turn the
//! failure into a clear [`ImageError`](super::ImageError) instead of "corrupt".

use std::io::{self, Read, Seek, SeekFrom};

use super::interrupt;

/// How many reads may pass between two polls of the signal watch: the tar reader reads
/// 512-byte headers one by one, and a poll is a syscall.
const READS_PER_POLL: u32 = 64;

/// Fails every read once a watched signal arrived.
pub struct Watched<R> {
    inner: R,
    reads: u32,
}

impl<R> Watched<R> {
    pub fn new(inner: R) -> Self {
        Watched { inner, reads: 0 }
    }
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.reads >= READS_PER_POLL {
            self.reads = 0;
            if let Some(signal) = interrupt::poll() {
                return Err(io::Error::other(format!("interrupted by {signal}")));
            }
        }
        self.inner.read(buf)
    }
}

/// Seeking reads nothing: a plain outer tar skips member data this way.
impl<R: Seek> Seek for Watched<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

/// Fails the read that would pass `limit` bytes in total.
pub struct Bounded<R> {
    inner: R,
    limit: u64,
    passed: u64,
    exceeded: bool,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            limit,
            passed: 0,
            exceeded: false,
        }
    }

    /// True once a read was refused for passing the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.exceeded {
            return Err(io::Error::other("over the size limit"));
        }
        // One byte past the limit is asked for, so a stream of exactly `limit` bytes passes
        // and a longer one is seen to be longer.
        let room = self.limit.saturating_sub(self.passed).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.passed += n as u64;
        if self.passed > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("over the size limit"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_passes_exactly_the_limit_and_refuses_more() {
        let data = vec![1u8; 1000];
        let mut ok = Bounded::new(&data[..], 1000);
        assert_eq!(io::copy(&mut ok, &mut io::sink()).unwrap(), 1000);
        assert!(!ok.exceeded());
        let mut over = Bounded::new(&data[..], 999);
        assert!(io::copy(&mut over, &mut io::sink()).is_err());
        assert!(over.exceeded());
    }

    #[test]
    fn watched_reads_through_without_a_watch() {
        let data = vec![1u8; 100_000];
        let mut reader = Watched::new(&data[..]);
        let mut small = [0u8; 10];
        let mut total = 0;
        loop {
            let n = reader.read(&mut small).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, data.len());
    }
}
