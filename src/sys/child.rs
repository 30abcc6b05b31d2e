//! The fork-and-report-error protocol: how `enter` and `launch` learn why a child they
//! started did not reach `exec`.
//!
//! Contract: [`ReportPipe::new`] makes a close-on-exec pipe; [`ReportPipe::spawn`] forks or
//! clones (see [`crate::sys::process`] for what the child body may do) and hands the body a
//! [`Reporter`] on the write end, moved above 0-2 so the child's stdio cannot take its
//! number. A child step that fails sends one fixed 12-byte [`Report`] (step, index, errno as
//! native-endian 32-bit words: one write, far below `PIPE_BUF`, never split) and exits 127
//! ([`Reporter::fail`]). The parent's [`ReportReader::read`] reads to end of file: a whole
//! record is the failure, end of file without one means every copy of the write end closed —
//! the exec happened (it closes close-on-exec descriptors) or the child died without a word.
//! What `step` and `index` mean is the caller's.

use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::{fd, process};

/// One failed step: which (the caller's numbering), on which item, with which errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub step: u32,
    pub index: u32,
    pub errno: Errno,
}

impl Report {
    /// Bytes on the pipe.
    pub const SIZE: usize = 12;

    fn encode(self) -> [u8; Report::SIZE] {
        let mut record = [0u8; Report::SIZE];
        record[..4].copy_from_slice(&self.step.to_ne_bytes());
        record[4..8].copy_from_slice(&self.index.to_ne_bytes());
        record[8..].copy_from_slice(&(self.errno as i32).to_ne_bytes());
        record
    }

    fn decode(record: &[u8; Report::SIZE]) -> Report {
        let word = |i: usize| [record[i], record[i + 1], record[i + 2], record[i + 3]];
        Report {
            step: u32::from_ne_bytes(word(0)),
            index: u32::from_ne_bytes(word(4)),
            errno: Errno::from_raw(i32::from_ne_bytes(word(8))),
        }
    }
}

/// The child's end of the pipe, as a number valid in the child's descriptor table. Copy: a
/// grandchild forked by the child reports on the same pipe.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    fd: RawFd,
}

impl Reporter {
    /// Writes `report` (errors ignored: the parent then sees end of file). Child-safe.
    pub fn send(self, report: Report) {
        let _ = fd::write_all(self.fd, &report.encode());
    }

    /// Writes `report` and exits 127 at once. Child-safe.
    pub fn fail(self, report: Report) -> ! {
        self.send(report);
        process::exit_now(127)
    }

    /// Closes this process's copy (a child that forks the process that will exec: only that
    /// one may hold the pipe open). Child-safe.
    pub fn close(self) {
        fd::close(self.fd)
    }
}

/// The parent's end: read once the child was released.
#[derive(Debug)]
pub struct ReportReader {
    fd: OwnedFd,
}

impl ReportReader {
    /// Reads to end of file (retrying EINTR): `Some` for a whole record, `None` when the pipe
    /// closed before one.
    pub fn read(&self) -> nix::Result<Option<Report>> {
        let mut record = [0u8; Report::SIZE];
        let mut filled = 0;
        while filled < record.len() {
            match fd::read(self.fd.as_raw_fd(), &mut record[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        Ok((filled == record.len()).then(|| Report::decode(&record)))
    }
}

/// How the child is made.
pub enum Start<'s> {
    /// `fork`: same namespaces.
    Fork,
    /// `clone` into the namespaces of `flags`, on `stack`.
    Clone {
        flags: CloneFlags,
        stack: &'s mut [u8],
    },
}

/// A report pipe not yet given to a child.
#[derive(Debug)]
pub struct ReportPipe {
    reader: OwnedFd,
    writer: OwnedFd,
}

impl ReportPipe {
    /// `pipe2(O_CLOEXEC)`.
    pub fn new() -> nix::Result<ReportPipe> {
        let (reader, writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        Ok(ReportPipe { reader, writer })
    }

    /// Starts the child, which closes its copy of the read end and runs `body` with the
    /// write end; the parent closes its write end and gets the child's pid and the reader.
    pub fn spawn(
        self,
        start: Start<'_>,
        body: impl FnOnce(Reporter) -> Infallible,
    ) -> nix::Result<(Pid, ReportReader)> {
        let reader = self.reader.as_raw_fd();
        let writer = self.writer.as_raw_fd();
        let child = move || -> Infallible {
            fd::close(reader);
            body(Reporter {
                fd: above_stdio(writer),
            })
        };
        let pid = match start {
            Start::Fork => process::fork_child(child),
            Start::Clone { flags, stack } => process::clone_child(flags, stack, child),
        }?;
        drop(self.writer);
        Ok((pid, ReportReader { fd: self.reader }))
    }
}

/// A process started with 0-2 closed may have got the pipe there; the child's stdio will
/// take those numbers, so the write end moves out of the way (the low copy is closed, so
/// only the moved one holds the pipe). On failure it stays where it is. Child-safe.
fn above_stdio(writer: RawFd) -> RawFd {
    if !(0..=2).contains(&writer) {
        return writer;
    }
    match fd::dup_above(writer, 3) {
        Ok(moved) => {
            fd::close(writer);
            moved
        }
        Err(_) => writer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{WaitStatus, waitpid};

    #[test]
    fn a_record_survives_the_pipe() {
        let report = Report {
            step: 7,
            index: 3,
            errno: Errno::EACCES,
        };
        assert_eq!(Report::decode(&report.encode()), report);
    }

    #[test]
    fn a_failing_child_reports_and_an_exec_closes_the_pipe_empty() {
        let failing = ReportPipe::new().unwrap();
        let (pid, reader) = failing
            .spawn(Start::Fork, |reporter| {
                reporter.fail(Report {
                    step: 2,
                    index: 5,
                    errno: Errno::ENOENT,
                })
            })
            .unwrap();
        let report = reader.read().unwrap();
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 127));
        assert_eq!(
            report,
            Some(Report {
                step: 2,
                index: 5,
                errno: Errno::ENOENT
            })
        );

        let argv = process::ArgVector::new([c"/bin/true"]);
        let execing = ReportPipe::new().unwrap();
        let (pid, reader) = execing
            .spawn(Start::Fork, |reporter| {
                let errno = process::execv(c"/bin/true", &argv);
                reporter.fail(Report {
                    step: 1,
                    index: 0,
                    errno,
                })
            })
            .unwrap();
        let report = reader.read().unwrap();
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
        assert_eq!(report, None);
    }
}
