//! A synchronous `NETLINK_ROUTE` socket and the few requests the read side makes on it: dump
//! the links, addresses, main-table routes and 64-bit counters of the namespace the socket was
//! opened in, and ask which id that namespace gives another one (`RTM_GETNSID`).
//!
//! Contract: a socket belongs to the network namespace of the thread that opened it, for its
//! whole life (the kernel fixes it at `socket()`), so the caller opens one after joining each
//! namespace. Replies are framed here (`netlink-packet-core`'s buffer) and each message's payload
//! handed to the noun's own tolerant decoder (`link`, `address`, `route`): a message they reject
//! is counted in [`Dump::skipped`], never an error. A dump the kernel marks inconsistent
//! (`NLM_F_DUMP_INTR`: interfaces came or went while it ran) is retried up to
//! [`DUMP_ATTEMPTS`] times and then returned with [`Dump::interrupted`] set. Errors are the
//! kernel's (`EPERM`, `ENOBUFS`, …) as `io::Error`s; nothing here panics.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    Parseable,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::stats::{StatsAttribute, StatsFilterMask, StatsMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::address::{self, Address};
use super::counters::Counters;
use super::link::{self, Interface};
use super::route::{self, Route};

/// How many times a dump the kernel flags as interrupted is asked again.
pub const DUMP_ATTEMPTS: usize = 3;
/// The receive buffer: the kernel fills dump replies up to 32 KiB (`NLMSG_GOODSIZE` or more
/// when the reader's buffer is larger), so 64 KiB always holds one.
const RECEIVE_BUFFER: usize = 64 * 1024;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_DUMP_INTR: u16 = 16;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const RTM_NEWNSID: u16 = 88;
const RTM_NEWSTATS: u16 = 92;

/// What a dump returned.
#[derive(Debug)]
pub struct Dump<T> {
    pub items: Vec<T>,
    /// Messages the decoder could not read (left out).
    pub skipped: usize,
    /// The kernel still flagged the last attempt as inconsistent.
    pub interrupted: bool,
}

/// A `NETLINK_ROUTE` socket in the namespace its opener was in.
pub struct RouteSocket {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl<T> Default for Dump<T> {
    fn default() -> Self {
        Dump {
            items: Vec::new(),
            skipped: 0,
            interrupted: false,
        }
    }
}

impl RouteSocket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<RouteSocket> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(RouteSocket {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(RECEIVE_BUFFER),
        })
    }

    /// Every interface with its attributes and `IFLA_STATS64` counters (`RTM_GETLINK`).
    pub fn links(&mut self) -> io::Result<Dump<Interface>> {
        let request = RouteNetlinkMessage::GetLink(LinkMessage::default());
        self.dump_retrying(request, RTM_NEWLINK, link::decode)
    }

    /// Every address of every interface, IPv4 and IPv6 (`RTM_GETADDR`), with its interface's
    /// index.
    pub fn addresses(&mut self) -> io::Result<Dump<(u32, Address)>> {
        let request = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        self.dump_retrying(request, RTM_NEWADDR, address::decode)
    }

    /// The main table's routes, IPv4 and IPv6 (`RTM_GETROUTE`).
    pub fn routes(&mut self) -> io::Result<Dump<Route>> {
        let request = RouteNetlinkMessage::GetRoute(RouteMessage::default());
        let dump = self.dump_retrying(request, RTM_NEWROUTE, |payload| {
            Some(route::decode(payload))
        })?;
        // `None` from the decoder here means "another table", not "unreadable".
        Ok(Dump {
            items: dump.items.into_iter().flatten().collect(),
            skipped: dump.skipped,
            interrupted: dump.interrupted,
        })
    }

    /// Only the 64-bit counters of every interface, by index (`RTM_GETSTATS` with
    /// `IFLA_STATS_LINK_64`): about a tenth of the bytes of a link dump.
    pub fn counters(&mut self) -> io::Result<Dump<(u32, Counters)>> {
        let mut message = StatsMessage::default();
        message.header.filter_mask = StatsFilterMask::Link64;
        let request = RouteNetlinkMessage::GetStats(message);
        self.dump_retrying(request, RTM_NEWSTATS, |payload| {
            let message = StatsMessage::parse(payload).ok()?;
            message.attributes.iter().find_map(|a| match a {
                StatsAttribute::Link64(stats) => {
                    Some((message.header.ifindex, Counters::from(stats)))
                }
                _ => None,
            })
        })
    }

    /// The id this socket's namespace gives the namespace open as `other` (`RTM_GETNSID` with
    /// `NETNSA_FD`): what its veths' `IFLA_LINK_NETNSID` say when their peer is there. `None`
    /// when it has given that namespace no id.
    pub fn nsid_of(&mut self, other: BorrowedFd<'_>) -> io::Result<Option<i32>> {
        let mut message = NsidMessage::default();
        let fd = u32::try_from(other.as_raw_fd()).map_err(io::Error::other)?;
        message.attributes = vec![NsidAttribute::Fd(fd)];
        let sequence = self.send(RouteNetlinkMessage::GetNsId(message), NLM_F_REQUEST)?;
        let mut id = None;
        self.receive(sequence, RTM_NEWNSID, &mut |payload| {
            if let Ok(reply) = NsidMessage::parse(payload) {
                id = reply.attributes.iter().find_map(|a| match a {
                    NsidAttribute::Id(id) => Some(*id),
                    _ => None,
                });
            }
        })?;
        Ok(id.filter(|&id| id >= 0))
    }

    fn dump_retrying<T>(
        &mut self,
        request: RouteNetlinkMessage,
        reply_type: u16,
        decode: impl Fn(&[u8]) -> Option<T>,
    ) -> io::Result<Dump<T>> {
        let mut dump = Dump::default();
        for _ in 0..DUMP_ATTEMPTS {
            dump = Dump::default();
            let sequence = self.send(request.clone(), NLM_F_REQUEST | NLM_F_DUMP)?;
            let interrupted =
                self.receive(sequence, reply_type, &mut |payload| match decode(payload) {
                    Some(item) => dump.items.push(item),
                    None => dump.skipped += 1,
                })?;
            dump.interrupted = interrupted;
            if !dump.interrupted {
                break;
            }
        }
        Ok(dump)
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut packet =
            NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(message));
        packet.header.flags = flags;
        packet.header.sequence_number = self.sequence;
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(self.sequence)
    }

    /// Reads replies to `sequence` until the kernel says it is done (`NLMSG_DONE` for a dump,
    /// the one reply or an error otherwise), passing each payload of `reply_type` to `each`.
    /// Returns whether any reply carried `NLM_F_DUMP_INTR`.
    fn receive(
        &mut self,
        sequence: u32,
        reply_type: u16,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<bool> {
        let mut interrupted = false;
        loop {
            self.buffer.clear();
            self.buffer.reserve(RECEIVE_BUFFER);
            let received = self.socket.recv(&mut self.buffer, nix::libc::MSG_TRUNC)?;
            if received > self.buffer.len() {
                return Err(io::Error::other(format!(
                    "a netlink reply of {received} bytes does not fit {RECEIVE_BUFFER}"
                )));
            }
            let mut offset = 0;
            while offset < self.buffer.len() {
                let frame = NetlinkBuffer::new_checked(&self.buffer[offset..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let length = frame.length() as usize;
                offset += length.next_multiple_of(4).max(16);
                if frame.sequence_number() != sequence {
                    continue; // a late reply to an earlier request
                }
                interrupted |= frame.flags() & NLM_F_DUMP_INTR != 0;
                match frame.message_type() {
                    NLMSG_NOOP => {}
                    NLMSG_DONE | NLMSG_ERROR => {
                        let code = frame
                            .payload()
                            .first_chunk::<4>()
                            .map_or(0, |b| i32::from_ne_bytes(*b));
                        return if code < 0 {
                            Err(io::Error::from_raw_os_error(-code))
                        } else {
                            Ok(interrupted)
                        };
                    }
                    kind if kind == reply_type => {
                        each(frame.payload());
                        if frame.flags() & netlink_packet_core::NLM_F_MULTIPART == 0 {
                            return Ok(interrupted); // a single reply ends the request
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
