//! A path relative to `/proc` (`"1234/stat"`, `"1234/ns/net"`) built in a stack buffer: the
//! per-process reads of the sampler and of `isotop ns` name their files without an allocation.

use std::ffi::CStr;

/// A path relative to `/proc` (`"1234/ns/net"`), NUL-terminated in a stack buffer: no
/// allocation per syscall.
pub(crate) struct ProcPath {
    buf: [u8; 40],
    len: usize,
}

impl ProcPath {
    /// `PID/SUFFIX`; a suffix too long for the buffer is cut (never the case for ours).
    pub(crate) fn new(pid: i32, suffix: &str) -> ProcPath {
        let mut path = ProcPath {
            buf: [0; 40],
            len: 0,
        };
        let mut digits = [0u8; 12];
        let mut at = digits.len();
        let mut n = pid.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        path.push(&digits[at..]);
        path.push(b"/");
        path.push(suffix.as_bytes());
        path
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        // One byte stays for the NUL.
        let room = self.buf.len() - 1 - self.len;
        let take = bytes.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
    }

    pub(crate) fn as_c_str(&self) -> &CStr {
        // The buffer is zeroed and `push` never writes the last byte, so a NUL follows; a NUL
        // inside (none of our parts has one) would only shorten the path.
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names() {
        assert_eq!(ProcPath::new(0, "stat").as_c_str(), c"0/stat");
        assert_eq!(
            ProcPath::new(4_194_304, "schedstat").as_c_str(),
            c"4194304/schedstat"
        );
        let mut link = ProcPath::new(7, "ns/");
        link.push(b"pid_for_children");
        assert_eq!(link.as_c_str(), c"7/ns/pid_for_children");
    }
}
