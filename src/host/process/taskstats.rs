//! The kernel's per-task statistics over generic netlink (`TASKSTATS`, kernel doc
//! `accounting/taskstats`): for one process (its thread group), how many times its threads
//! were switched out and the CPU time they used — the sampler's "did it run" check, one
//! request and one reply instead of an open, a read and a close of `/proc/PID/schedstat` (the
//! open's path walk through `/proc` was half of the dashboard's CPU on 11,700 processes).
//!
//! Contract:
//! - [`TaskStats::open`] succeeds only where the answers mean something for the caller's
//!   `/proc`: the family resolves (the kernel has `CONFIG_TASKSTATS`, and we are in the
//!   initial network namespace, the only one it is registered in) and a first request for our
//!   own process is answered (it needs CAP_NET_ADMIN). The pids asked are the caller's pid
//!   namespace's (the kernel looks them up in ours), so callers use it only for a `/proc` of
//!   their own pid namespace.
//! - [`TaskStats::run_counters`] answers `Ok(None)` for a process that is gone (ESRCH), the
//!   counters otherwise; any other failure is an error (the caller reads `schedstat` then).
//! - [`RunCounters`] moves whenever any thread of the process ran and stopped (a context
//!   switch) or was charged a tick of CPU: equal counters between two checks mean no thread
//!   ran in between. The kernel sums the live threads only: a thread that exits takes its
//!   counts with it, which moves the sum as well (any change reads as "ran"); a zombie, with
//!   no live thread, reads as all zero.
//! - [`TaskStats::run_counters_of`] asks for many processes in one `send` of up to [`BATCH`]
//!   messages (then one `recv` a reply): what it could not get answered it leaves out, and the
//!   caller asks those one by one. A reply that comes late (a batch given up on) is told from
//!   the one awaited by its sequence number and dropped.
//! - Nothing allocates per request: one kept buffer each way.

use std::io;

use netlink_packet_core::{ErrorBuffer, NLM_F_REQUEST, NLMSG_ERROR, NetlinkBuffer, NlasIterator};
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};

/// `GENL_ID_CTRL` and its `CTRL_CMD_GETFAMILY` / `CTRL_ATTR_FAMILY_*` (linux/genetlink.h).
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// linux/taskstats.h.
const TASKSTATS_CMD_GET: u8 = 1;
const TASKSTATS_GENL_VERSION: u8 = 1;
const TASKSTATS_CMD_ATTR_TGID: u16 = 2;
const TASKSTATS_TYPE_STATS: u16 = 3;
const TASKSTATS_TYPE_AGGR_TGID: u16 = 5;
/// Offsets in `struct taskstats` (an append-only ABI; checked against the kernel's header of
/// version 13: `offsetof` of `ac_utime`, `ac_stime`, `nvcsw`, `nivcsw`).
const AC_UTIME: usize = 152;
const AC_STIME: usize = 160;
const NVCSW: usize = 272;
const NIVCSW: usize = 280;
/// Bytes of `nlmsghdr` (16) + `genlmsghdr` (4).
const HEADERS: usize = 20;
/// Longest wait for a reply before the request counts as failed.
const REPLY_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
/// Requests sent in one `send`: their replies take ~1.3 KiB of socket memory each (an skb
/// of ~450 bytes of data), far below the default 208 KiB receive buffer; 8 to 256 a send cost
/// the same in session 3's measure (bench/profiles/procread.md).
pub const BATCH: usize = 32;
/// A reply is ~450 bytes (headers, the nested attributes, the 416-byte `struct taskstats`).
const RECEIVE: usize = 8192;

/// What says whether a process ran since the last look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCounters {
    /// Voluntary + involuntary context switches of all its threads.
    pub switches: u64,
    /// User + system CPU time of all its threads, µs (charged by the tick).
    pub cpu_usec: u64,
}

/// A generic netlink socket talking to the taskstats family.
#[derive(Debug)]
pub struct TaskStats {
    socket: Socket,
    family: u16,
    seq: u32,
    request: Vec<u8>,
    reply: Vec<u8>,
}

impl TaskStats {
    /// Opens the socket, resolves the family and checks that a request is answered (see the
    /// module's contract); the error says why not.
    pub fn open() -> io::Result<TaskStats> {
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        socket.bind_auto()?;
        // The kernel answers at once; a reply that never comes must not stop the sampler.
        rustix::net::sockopt::set_socket_timeout(
            &socket,
            rustix::net::sockopt::Timeout::Recv,
            Some(REPLY_WAIT),
        )?;
        let mut stats = TaskStats {
            socket,
            family: 0,
            seq: 0,
            request: Vec::with_capacity(64),
            reply: Vec::with_capacity(RECEIVE),
        };
        stats.family = stats.resolve_family()?;
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        match stats.run_counters(me)? {
            Some(_) => Ok(stats),
            None => Err(io::Error::other("taskstats does not see this process")),
        }
    }

    /// The counters of process `pid` (its thread group); `None` when it is gone.
    pub fn run_counters(&mut self, pid: i32) -> io::Result<Option<RunCounters>> {
        self.request.clear();
        let seq = self.push_get(pid)?;
        self.socket.send(&self.request, 0)?;
        loop {
            let (answered, reply) = self.receive()?;
            if answered != seq || matches!(reply, Reply::Error(0)) {
                continue;
            }
            return self.answer(reply);
        }
    }

    /// The counters of each of `pids` into `out` (cleared first), in the order asked, as
    /// `(pid, counters or None when gone)`; a pid whose request failed otherwise is left out
    /// (see the module's contract). An error ends the batch: `out` keeps what was answered.
    pub fn run_counters_of(
        &mut self,
        pids: &[i32],
        out: &mut Vec<(i32, Option<RunCounters>)>,
    ) -> io::Result<()> {
        out.clear();
        // Sized to the batch: a first tick asks for every process, later ones for the half
        // that may have run; the list is kept between ticks, not at its largest.
        crate::units::room::keep_room(out, pids.len());
        for chunk in pids.chunks(BATCH) {
            self.request.clear();
            let first = self.seq.wrapping_add(1);
            for &pid in chunk {
                self.push_get(pid)?;
            }
            self.socket.send(&self.request, 0)?;
            let mut answers = [None; BATCH];
            let mut waiting = chunk.len();
            while waiting > 0 {
                let (seq, reply) = self.receive()?;
                let at = seq.wrapping_sub(first) as usize;
                if at >= chunk.len() || answers[at].is_some() || matches!(reply, Reply::Error(0)) {
                    continue;
                }
                waiting -= 1;
                // Another error than "gone": left out, asked again one by one.
                answers[at] = Some(self.answer(reply).ok());
            }
            for (&pid, answer) in chunk.iter().zip(answers) {
                if let Some(Some(counters)) = answer {
                    out.push((pid, counters));
                }
            }
        }
        Ok(())
    }

    /// Appends a `TASKSTATS_CMD_GET` for thread group `pid` to the request; its sequence.
    fn push_get(&mut self, pid: i32) -> io::Result<u32> {
        let tgid = u32::try_from(pid).map_err(|_| io::Error::other("negative pid"))?;
        let seq = self.next_seq();
        let start = self.request.len();
        push_request(
            &mut self.request,
            self.family,
            seq,
            TASKSTATS_CMD_GET,
            TASKSTATS_GENL_VERSION,
        );
        push_attr(
            &mut self.request,
            TASKSTATS_CMD_ATTR_TGID,
            &tgid.to_ne_bytes(),
        );
        finish(&mut self.request[start..]);
        Ok(seq)
    }

    /// The counters a reply carries; `None` for a gone process (ESRCH).
    fn answer(&self, reply: Reply) -> io::Result<Option<RunCounters>> {
        match reply {
            Reply::Error(errno) if errno == nix::libc::ESRCH => Ok(None),
            Reply::Error(errno) => Err(io::Error::from_raw_os_error(errno)),
            Reply::Payload(range) => {
                let payload = self.reply.get(range).unwrap_or_default();
                let stats = attr(payload, TASKSTATS_TYPE_AGGR_TGID)
                    .and_then(|aggr| attr(aggr, TASKSTATS_TYPE_STATS))
                    .ok_or_else(|| io::Error::other("a taskstats reply without stats"))?;
                parse_stats(stats)
                    .map(Some)
                    .ok_or_else(|| io::Error::other("a taskstats reply too short"))
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// The family id of `TASKSTATS`.
    fn resolve_family(&mut self) -> io::Result<u16> {
        let seq = self.next_seq();
        self.request.clear();
        push_request(&mut self.request, GENL_ID_CTRL, seq, CTRL_CMD_GETFAMILY, 1);
        push_attr(&mut self.request, CTRL_ATTR_FAMILY_NAME, b"TASKSTATS\0");
        finish(&mut self.request);
        self.socket.send(&self.request, 0)?;
        loop {
            let (answered, reply) = self.receive()?;
            if answered != seq {
                // An answer to an earlier request given up on.
                continue;
            }
            match reply {
                Reply::Error(0) => continue,
                Reply::Error(errno) => return Err(io::Error::from_raw_os_error(errno)),
                Reply::Payload(range) => {
                    let id = attr(
                        self.reply.get(range).unwrap_or_default(),
                        CTRL_ATTR_FAMILY_ID,
                    )
                    .and_then(|v| netlink_packet_core::parse_u16(v).ok())
                    .ok_or_else(|| io::Error::other("no taskstats family id"))?;
                    return Ok(id);
                }
            }
        }
    }

    /// The next message: the sequence number it answers, and its attributes' byte range in
    /// `self.reply` or the errno of an `NLMSG_ERROR` (0: an acknowledgement).
    fn receive(&mut self) -> io::Result<(u32, Reply)> {
        self.reply.clear();
        self.reply.reserve(RECEIVE);
        let n = self.socket.recv(&mut self.reply, 0)?;
        self.reply.truncate(n);
        let malformed = |e: netlink_packet_core::DecodeError| {
            io::Error::new(io::ErrorKind::InvalidData, e.to_string())
        };
        let message = NetlinkBuffer::new_checked(&self.reply[..]).map_err(malformed)?;
        let seq = message.sequence_number();
        if message.message_type() == NLMSG_ERROR {
            let code = ErrorBuffer::new_checked(message.payload())
                .map_err(malformed)?
                .code()
                .map_or(0, |code| code.get());
            return Ok((seq, Reply::Error(code.saturating_neg())));
        }
        let length = message.length() as usize;
        if length < HEADERS {
            return Err(io::Error::other(
                "a netlink message without a genetlink header",
            ));
        }
        Ok((seq, Reply::Payload(HEADERS..length)))
    }
}

enum Reply {
    Error(i32),
    Payload(std::ops::Range<usize>),
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    netlink_packet_core::parse_u64(bytes.get(at..at + 8)?).ok()
}

/// The counters of one `struct taskstats`; `None` when it is too short to hold them.
fn parse_stats(stats: &[u8]) -> Option<RunCounters> {
    let utime = u64_at(stats, AC_UTIME)?;
    let stime = u64_at(stats, AC_STIME)?;
    let nvcsw = u64_at(stats, NVCSW)?;
    let nivcsw = u64_at(stats, NIVCSW)?;
    Some(RunCounters {
        switches: nvcsw.wrapping_add(nivcsw),
        cpu_usec: utime.wrapping_add(stime),
    })
}

/// An `nlmsghdr` (its length filled by [`finish`]) and a `genlmsghdr`.
fn push_request(buf: &mut Vec<u8>, kind: u16, seq: u32, cmd: u8, version: u8) {
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&[cmd, version, 0, 0]);
}

/// One attribute, padded to 4 bytes.
fn push_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let length = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&length.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// Writes the message's length into its header.
fn finish(buf: &mut [u8]) {
    let length = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    buf[..4].copy_from_slice(&length.to_ne_bytes());
}

/// The value of the first attribute of type `kind` among `attrs` (its flag bits ignored);
/// `None` when absent or when an attribute before it is malformed.
fn attr(attrs: &[u8], kind: u16) -> Option<&[u8]> {
    let found = NlasIterator::new(attrs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == kind)?;
    let length = found.value_length();
    found.into_inner().get(4..4 + length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_found_past_padding_and_flags() {
        let mut buf = Vec::new();
        push_attr(&mut buf, 1, b"abc");
        push_attr(&mut buf, 2 | 0x8000, &7u32.to_ne_bytes());
        assert_eq!(buf.len(), 16);
        assert_eq!(attr(&buf, 1), Some(&b"abc"[..]));
        assert_eq!(attr(&buf, 2), Some(&7u32.to_ne_bytes()[..]));
        assert_eq!(attr(&buf, 3), None);
        // A length past the end is not trusted.
        let mut broken = buf.clone();
        broken[0] = 200;
        assert_eq!(attr(&broken, 2), None);
    }

    #[test]
    fn counters_come_from_the_abi_offsets() {
        let mut stats = vec![0u8; 416];
        stats[AC_UTIME..AC_UTIME + 8].copy_from_slice(&30u64.to_ne_bytes());
        stats[AC_STIME..AC_STIME + 8].copy_from_slice(&12u64.to_ne_bytes());
        stats[NVCSW..NVCSW + 8].copy_from_slice(&5u64.to_ne_bytes());
        stats[NIVCSW..NIVCSW + 8].copy_from_slice(&2u64.to_ne_bytes());
        assert_eq!(
            parse_stats(&stats),
            Some(RunCounters {
                switches: 7,
                cpu_usec: 42
            })
        );
        assert_eq!(parse_stats(&stats[..200]), None);
    }

    #[test]
    fn a_live_process_is_answered_and_a_gone_one_is_none() {
        let mut stats = match TaskStats::open() {
            Ok(stats) => stats,
            Err(e) => {
                eprintln!(
                    "SKIP: taskstats unavailable here ({e}): needs root in the initial network namespace"
                );
                return;
            }
        };
        let Ok(mut child) = std::process::Command::new("sleep").arg("30").spawn() else {
            eprintln!("SKIP: cannot run sleep");
            return;
        };
        let pid = child.id() as i32;
        let alive = stats.run_counters(pid).expect("answers");
        let _ = child.kill();
        let _ = child.wait();
        assert!(alive.is_some(), "a live child has counters");
        assert_eq!(stats.run_counters(pid).expect("answers"), None);
    }

    /// Waits (up to 10 s) until `pid` runs `sleep` and sleeps: its counters stop moving once
    /// the fork and exec are behind it.
    fn asleep_in_sleep(pid: u32) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.contains("(sleep) S ") {
                // The last switch out of the exec is behind it.
                std::thread::sleep(std::time::Duration::from_millis(50));
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_batch_answers_as_the_single_requests_do() {
        let Ok(mut stats) = TaskStats::open() else {
            eprintln!(
                "SKIP: taskstats unavailable here: needs root in the initial network namespace"
            );
            return;
        };
        let mut children: Vec<std::process::Child> = (0..BATCH + 5)
            .filter_map(|_| std::process::Command::new("sleep").arg("30").spawn().ok())
            .collect();
        assert_eq!(children.len(), BATCH + 5, "cannot run sleep");
        assert!(
            children.iter().all(|c| asleep_in_sleep(c.id())),
            "the sleeps did not settle"
        );
        // One gone before the batch: answered as gone, not left out.
        let mut gone = children.pop().expect("one");
        let gone_pid = gone.id() as i32;
        let _ = gone.kill();
        let _ = gone.wait();
        let mut pids: Vec<i32> = children.iter().map(|c| c.id() as i32).collect();
        pids.push(gone_pid);
        let mut out = Vec::new();
        let result = stats.run_counters_of(&pids, &mut out);
        let singles: Vec<Option<RunCounters>> = pids
            .iter()
            .map(|&pid| stats.run_counters(pid).expect("answers"))
            .collect();
        for mut child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        result.expect("the batch is answered");
        let batch_pids: Vec<i32> = out.iter().map(|(pid, _)| *pid).collect();
        assert_eq!(batch_pids, pids, "every pid answered, in order");
        // Sleepers: the same counters either way.
        let batch: Vec<Option<RunCounters>> = out.into_iter().map(|(_, c)| c).collect();
        assert_eq!(batch, singles);
        assert_eq!(batch.last(), Some(&None), "the gone one is None");
    }

    #[test]
    fn a_busy_process_moves_its_counters_and_a_sleeping_one_does_not() {
        let Ok(mut stats) = TaskStats::open() else {
            eprintln!(
                "SKIP: taskstats unavailable here: needs root in the initial network namespace"
            );
            return;
        };
        let spawn = |script: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .spawn()
        };
        let (Ok(mut busy), Ok(mut sleeper)) =
            (spawn("while :; do :; done"), spawn("exec sleep 30"))
        else {
            eprintln!("SKIP: cannot run sh");
            return;
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(asleep_in_sleep(sleeper.id()), "the sleeper did not settle");
        let before = (
            stats.run_counters(busy.id() as i32),
            stats.run_counters(sleeper.id() as i32),
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        let after = (
            stats.run_counters(busy.id() as i32),
            stats.run_counters(sleeper.id() as i32),
        );
        for child in [&mut busy, &mut sleeper] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (Ok(Some(b0)), Ok(Some(s0))) = before else {
            panic!("no counters before: {before:?}");
        };
        let (Ok(Some(b1)), Ok(Some(s1))) = after else {
            panic!("no counters after: {after:?}");
        };
        assert_ne!(b0, b1, "the busy loop ran");
        assert_eq!(s0, s1, "the sleeper did not");
    }
}
