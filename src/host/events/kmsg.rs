//! The kernel's log, `/dev/kmsg` under the host root, read for the OOM killer's lines: whom it
//! killed (pid, command), in which memory cgroup, and when.
//!
//! Contract: [`KmsgReader::open`] opens the log non-blocking, positioned at its oldest record
//! or at its end (only what the kernel writes afterwards); [`KmsgReader::read_victims`] reads
//! every record written since the last read until the kernel says there is no more (`EAGAIN`)
//! — the position is the kernel's own per-open sequence, so nothing is read twice — and returns
//! the OOM kills among them. Records the kernel overwrote before they were read (`EPIPE`) are
//! counted in [`KmsgReader::lost`] and skipped. A kill is the line `… Killed process N (NAME)
//! …` joined with the summary line the kernel prints before it for the same pid
//! (`oom-kill:…,oom_memcg=/…,task_memcg=/…,task=NAME,pid=N,uid=U`, kernel 4.19 and later);
//! its time is the record's (µs since boot) turned into wall-clock ms through the boot time
//! (now less `/proc/uptime`). A log this user may not read (not root, `kernel.dmesg_restrict`)
//! is an error from `open`, which callers take as "no victim known". Commands and cgroup paths
//! are cleaned (`host::text`). A fixture's regular file reads the same way: its records one
//! after another. No `unsafe`: std's reads on a descriptor opened with `O_NONBLOCK`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::host::container::measure::ContainerView;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

/// One process the OOM killer killed, as the kernel logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomVictim {
    /// The record's sequence number (unique per boot).
    pub seq: u64,
    /// When the kernel logged the kill, ms since the Unix epoch.
    pub at_ms: u64,
    pub pid: i32,
    /// Its command (`comm`), cleaned.
    pub command: String,
    /// The memory cgroup whose limit was hit (summary line; cleaned).
    pub oom_memcg: Option<String>,
    /// The victim's own memory cgroup (summary line; cleaned).
    pub task_memcg: Option<String>,
    pub uid: Option<u32>,
}

impl OomVictim {
    /// True when the kernel logged the kill in cgroup `base` or below it (its own memory
    /// cgroup or the one whose limit was hit); never for the root cgroup as `base`.
    pub fn in_cgroup(&self, base: &str) -> bool {
        let base = base.trim_end_matches('/');
        [&self.task_memcg, &self.oom_memcg]
            .into_iter()
            .flatten()
            .any(|path| {
                !base.is_empty()
                    && (path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/')))
            })
    }
}

/// The cgroups the kernel log names a container's OOM kills by: its own cgroups of the
/// hierarchy carrying `memory` (v1), or of the unified one.
pub fn own_memory_cgroups(view: &ContainerView) -> Vec<String> {
    view.ownership
        .iter()
        .filter(|o| o.own)
        .filter(|o| {
            o.membership.hierarchy == 0 || o.membership.controllers.iter().any(|c| c == "memory")
        })
        .map(|o| o.path.clone())
        .collect()
}

/// Where a new reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record the kernel still holds (history).
    Oldest,
    /// After the last record written so far (what happens from now on).
    End,
}

/// The summary line of one kill (`oom-kill:…`), waiting for its `Killed process` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    pid: i32,
    task: String,
    oom_memcg: Option<String>,
    task_memcg: Option<String>,
    uid: Option<u32>,
}

/// How many summaries are kept waiting for their kill line (the kernel prints them together;
/// a few cover a read that ended between the two).
const SUMMARIES_KEPT: usize = 16;

/// Longest record the kernel hands out in one read (its `CONSOLE_EXT_LOG_MAX` is 8 KiB); a
/// shorter buffer makes the read fail with `EINVAL`.
const READ_BUFFER: usize = 16 * 1024;

/// Most bytes one [`KmsgReader::read_victims`] call reads: a log flooded by another cause must
/// not stall a tick (the kernel's ring is usually 128 KiB to a few MiB).
const MAX_BYTES_PER_READ: usize = 16 << 20;

/// An open kernel log.
#[derive(Debug)]
pub struct KmsgReader {
    path: PathBuf,
    file: File,
    /// The boot's wall-clock time, ms since the Unix epoch.
    boot_ms: u64,
    /// A record cut by the end of a read (regular files only: the device hands out whole
    /// records).
    carry: Vec<u8>,
    summaries: VecDeque<Summary>,
    lost: u64,
}

impl KmsgReader {
    /// Opens `<root>/dev/kmsg` non-blocking at `start`.
    pub fn open(root: &HostRoot, start: Start) -> Result<KmsgReader, HostError> {
        let path = root.prefix.join("dev/kmsg");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| HostError::io(&path, e))?;
        if start == Start::End {
            file.seek(SeekFrom::End(0))
                .map_err(|e| HostError::io(&path, e))?;
        }
        let now_ms = crate::units::now_ms();
        let uptime_ms =
            crate::host::process::read_uptime_seconds(root).map_or(0, |s| (s * 1000.0) as u64);
        Ok(KmsgReader {
            path,
            file,
            boot_ms: now_ms.saturating_sub(uptime_ms),
            carry: Vec::new(),
            summaries: VecDeque::new(),
            lost: 0,
        })
    }

    /// Records the kernel overwrote before this reader got to them.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Reads every record written since the last read (see the module) and returns the OOM
    /// kills among them, oldest first. An error other than "no more" ends the read early; what
    /// was read until then is returned.
    pub fn read_victims(&mut self) -> Vec<OomVictim> {
        let mut victims = Vec::new();
        let mut buffer = vec![0u8; READ_BUFFER];
        let mut read_total = 0usize;
        while read_total < MAX_BYTES_PER_READ {
            match self.file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    read_total += n;
                    self.carry.extend_from_slice(&buffer[..n]);
                    self.take_lines(&mut victims);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // The records between our position and the oldest one left were overwritten;
                // the kernel moved us to that oldest one.
                Err(e) if e.kind() == ErrorKind::BrokenPipe => self.lost += 1,
                Err(_) => break,
            }
        }
        victims
    }

    /// Parses the complete lines in `carry`.
    fn take_lines(&mut self, victims: &mut Vec<OomVictim>) {
        let Some(last_newline) = self.carry.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let rest = self.carry.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.carry, rest);
        for line in complete.split(|b| *b == b'\n') {
            // Continuation lines (` SUBSYSTEM=…`) carry the record's dictionary: not needed.
            if line.is_empty() || line[0] == b' ' {
                continue;
            }
            let text = String::from_utf8_lossy(line);
            let Some(record) = parse_record(&text) else {
                continue;
            };
            self.take_record(record, victims);
        }
    }

    fn take_record(&mut self, record: Record<'_>, victims: &mut Vec<OomVictim>) {
        if let Some(summary) = parse_summary(record.message) {
            if self.summaries.len() == SUMMARIES_KEPT {
                self.summaries.pop_front();
            }
            self.summaries.push_back(summary);
            return;
        }
        let Some((pid, name)) = parse_killed(record.message) else {
            return;
        };
        let summary = self
            .summaries
            .iter()
            .rposition(|s| s.pid == pid)
            .and_then(|at| self.summaries.remove(at));
        let command = if name.is_empty() {
            summary.as_ref().map(|s| s.task.clone()).unwrap_or_default()
        } else {
            clean_str(name)
        };
        victims.push(OomVictim {
            seq: record.seq,
            at_ms: self.boot_ms.saturating_add(record.usec / 1000),
            pid,
            command,
            oom_memcg: summary.as_ref().and_then(|s| s.oom_memcg.clone()),
            task_memcg: summary.as_ref().and_then(|s| s.task_memcg.clone()),
            uid: summary.as_ref().and_then(|s| s.uid),
        });
    }

    /// The log's path (for messages).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// One record's header fields and its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record<'a> {
    seq: u64,
    /// µs since boot.
    usec: u64,
    message: &'a str,
}

/// `PRI,SEQ,USEC,FLAGS[,…];MESSAGE` (Documentation/ABI/testing/dev-kmsg).
fn parse_record(line: &str) -> Option<Record<'_>> {
    let (header, message) = line.split_once(';')?;
    let mut fields = header.split(',');
    let _priority: u32 = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let usec = fields.next()?.parse().ok()?;
    Some(Record { seq, usec, message })
}

/// `oom-kill:constraint=…,oom_memcg=/a,task_memcg=/a/b,task=NAME,pid=N,uid=U`. The fields
/// are taken from the end (`uid`, `pid` are numbers; the command and the paths, which a
/// stranger may name with commas, lie between known keys).
fn parse_summary(message: &str) -> Option<Summary> {
    let body = message.strip_prefix("oom-kill:")?;
    let (rest, uid) = match body.rsplit_once(",uid=") {
        Some((rest, uid)) => (rest, uid.trim().parse().ok()),
        None => (body, None),
    };
    let (rest, pid) = rest.rsplit_once(",pid=")?;
    let pid = pid.trim().parse().ok()?;
    let (rest, task) = rest.rsplit_once(",task=")?;
    let (rest, task_memcg) = match rest.rsplit_once(",task_memcg=") {
        Some((rest, path)) => (rest, Some(clean_str(path))),
        None => (rest, None),
    };
    let oom_memcg = rest
        .rsplit_once(",oom_memcg=")
        .map(|(_, path)| clean_str(path));
    Some(Summary {
        pid,
        task: clean_str(task),
        oom_memcg,
        task_memcg,
        uid,
    })
}

/// `[Memory cgroup out of memory: | Out of memory: ]Killed process N (NAME) total-vm:…`: the
/// pid and the raw name.
fn parse_killed(message: &str) -> Option<(i32, &str)> {
    let (_, after) = message.split_once("Killed process ")?;
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    let pid = after[..digits].parse().ok()?;
    let rest = after[digits..].strip_prefix(" (")?;
    // The name may hold `)`: it ends before the figures that follow it, else at the last `)`.
    let end = rest
        .find(") total-vm:")
        .or_else(|| rest.rfind(')'))
        .unwrap_or(rest.len());
    Some((pid, &rest[..end]))
}

#[cfg(test)]
mod tests;
