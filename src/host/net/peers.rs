//! Who is wired to whom: each veth's other end, and each macvlan's, ipvlan's or vlan's lower
//! device, found in whichever namespace holds it.
//!
//! A link names its other end by an interface index (`IFLA_LINK`) and, when that end is in
//! another namespace, by the id the reading namespace gives that namespace
//! (`IFLA_LINK_NETNSID`). Neither identifies a namespace by itself: indexes repeat across
//! namespaces (every one has `lo` at 1; two containers' `eth0` may both be 2) and a netnsid
//! means something only inside the namespace that assigned it. So:
//! 1. a veth `a` (index `i`, link `p`) in namespace A can only pair with a veth of index `p`
//!    whose own link is `i`, in another namespace: the candidates;
//! 2. each candidate pair is confirmed by asking, inside the namespace of one end, which id it
//!    gives the other (`RTM_GETNSID` with that namespace's descriptor): it must be the id the
//!    end's link names. The question is asked from the side holding more veths (the host, for
//!    bridges of containers), so one walk enters few namespaces and asks one question per pair.
//!
//! Lower devices are confirmed the same way among the namespaces holding an interface of that
//! index (at most [`LOWER_CANDIDATES`], physical devices first).
//!
//! Contract: [`resolve`] fills [`Interface::peer`] and [`Interface::lower`] of the readings where
//! an end is confirmed, never guesses, and adds a note for each link whose other end is in no
//! namespace read (held only by an open descriptor, or gone). It never fails.

use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};

use super::link::{Endpoint, Interface, InterfaceKind};
use super::namespaces::{self, NetnsHandle};
use super::read::{NetRead, NetnsReading, walk};
use crate::host::HostRoot;

/// How many namespaces are asked about one lower device's index before giving up.
pub const LOWER_CANDIDATES: usize = 16;

/// One end of a link: reading and interface positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct End {
    ns: usize,
    at: usize,
}

/// A link to confirm: `from`'s link is expected to be `to`, which the asking namespace
/// (`ask`, one of the two) names `nsid`.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    from: End,
    to: End,
    ask: usize,
    other: usize,
    nsid: i32,
}

/// Resolves every veth peer and lower device across `read`'s namespaces; `handles` are those
/// the namespaces were read through (for opening them again to ask their ids).
pub fn resolve(root: &HostRoot, handles: &[NetnsHandle], read: &mut NetRead<NetnsReading>) {
    resolve_local(&mut read.namespaces);
    let candidates = cross_candidates(&read.namespaces);
    let answers = ask_ids(
        root,
        handles,
        &read.namespaces,
        &candidates,
        &mut read.notes,
    );
    apply(&mut read.namespaces, &candidates, &answers);
    read.notes.extend(unresolved(&read.namespaces));
}

/// Links the candidates the answers confirm: a veth and its peer both ways, a lower device
/// one way. The first confirmed candidate of an end wins; an end already linked is not
/// linked again.
fn apply(
    readings: &mut [NetnsReading],
    candidates: &[Candidate],
    answers: &HashMap<(u64, u64), Option<i32>>,
) {
    let mut linked: BTreeSet<End> = BTreeSet::new();
    for candidate in candidates {
        let veth = interface(readings, candidate.from).kind == InterfaceKind::Veth;
        if linked.contains(&candidate.from) || (veth && linked.contains(&candidate.to)) {
            continue;
        }
        let asked = readings[candidate.ask].inode;
        let other = readings[candidate.other].inode;
        if answers.get(&(asked, other)).copied().flatten() != Some(candidate.nsid) {
            continue;
        }
        let to = endpoint(readings, candidate.to);
        if veth {
            let back = endpoint(readings, candidate.from);
            interface_mut(readings, candidate.to).peer = Some(back);
            interface_mut(readings, candidate.from).peer = Some(to);
            linked.insert(candidate.to);
        } else {
            interface_mut(readings, candidate.from).lower = Some(to);
        }
        linked.insert(candidate.from);
    }
}

/// A note for each cross-namespace link left without its other end.
fn unresolved(readings: &[NetnsReading]) -> Vec<String> {
    let mut notes = Vec::new();
    for reading in readings {
        for interface in &reading.interfaces {
            if let Some(target) = interface.link
                && let Some(nsid) = target.netnsid
                && interface.peer.is_none()
                && interface.lower.is_none()
            {
                notes.push(format!(
                    "{} {} (index {}) in network namespace {}: its other end (index {}, netnsid \
                     {nsid}) is in a namespace no process or mount holds, or that is gone",
                    interface.kind.name(),
                    interface.name,
                    interface.ifindex,
                    reading.inode,
                    target.ifindex,
                ));
            }
        }
    }
    notes
}

/// Links whose other end is in the same namespace (no netnsid): looked up by index there.
fn resolve_local(readings: &mut [NetnsReading]) {
    for reading in readings.iter_mut() {
        let by_index: HashMap<u32, String> = reading
            .interfaces
            .iter()
            .map(|i| (i.ifindex, i.name.clone()))
            .collect();
        let inode = reading.inode;
        for interface in &mut reading.interfaces {
            let Some(target) = interface.link.filter(|t| t.netnsid.is_none()) else {
                continue;
            };
            let Some(name) = by_index.get(&target.ifindex) else {
                continue;
            };
            let end = Endpoint {
                netns: inode,
                ifindex: target.ifindex,
                name: name.clone(),
            };
            if interface.kind == InterfaceKind::Veth {
                interface.peer = Some(end);
            } else {
                interface.lower = Some(end);
            }
        }
    }
}

/// Every candidate pairing of a cross-namespace link, in the order they are tried.
fn cross_candidates(readings: &[NetnsReading]) -> Vec<Candidate> {
    // Veths with a peer elsewhere, by (own index, peer index).
    let mut veths: HashMap<(u32, u32), Vec<End>> = HashMap::default();
    let mut per_namespace = vec![0usize; readings.len()];
    for (ns, reading) in readings.iter().enumerate() {
        for (at, interface) in reading.interfaces.iter().enumerate() {
            if interface.kind == InterfaceKind::Veth
                && let Some(target) = interface.link.filter(|t| t.netnsid.is_some())
            {
                veths
                    .entry((interface.ifindex, target.ifindex))
                    .or_default()
                    .push(End { ns, at });
                per_namespace[ns] += 1;
            }
        }
    }
    let mut candidates = Vec::new();
    for (ns, reading) in readings.iter().enumerate() {
        for (at, interface) in reading.interfaces.iter().enumerate() {
            let Some(target) = interface.link else {
                continue;
            };
            let Some(nsid) = target.netnsid else {
                continue;
            };
            let from = End { ns, at };
            if interface.kind == InterfaceKind::Veth {
                let ends = veths.get(&(target.ifindex, interface.ifindex));
                for &to in ends.into_iter().flatten().filter(|to| to.ns != ns) {
                    // Each pair once, asked from the side with more veths.
                    if (to.ns, to.at) < (ns, at) {
                        continue;
                    }
                    let asks_here = (per_namespace[ns], std::cmp::Reverse(ns))
                        >= (per_namespace[to.ns], std::cmp::Reverse(to.ns));
                    let (ask, other, asked_nsid, from, to) = if asks_here {
                        (ns, to.ns, nsid, from, to)
                    } else {
                        let back = readings[to.ns].interfaces[to.at].link;
                        let Some(back_nsid) = back.and_then(|l| l.netnsid) else {
                            continue;
                        };
                        (to.ns, ns, back_nsid, to, from)
                    };
                    candidates.push(Candidate {
                        from,
                        to,
                        ask,
                        other,
                        nsid: asked_nsid,
                    });
                }
            } else {
                candidates.extend(
                    lower_candidates(readings, ns, target.ifindex)
                        .into_iter()
                        .map(|to| Candidate {
                            from,
                            to,
                            ask: ns,
                            other: to.ns,
                            nsid,
                        }),
                );
            }
        }
    }
    candidates
}

/// The interfaces of index `ifindex` in namespaces other than `ns`, physical devices (no
/// driver kind) first, at most [`LOWER_CANDIDATES`].
fn lower_candidates(readings: &[NetnsReading], ns: usize, ifindex: u32) -> Vec<End> {
    let mut found: Vec<(bool, End)> = readings
        .iter()
        .enumerate()
        .filter(|(other, _)| *other != ns)
        .filter_map(|(other, reading)| {
            let at = reading
                .interfaces
                .iter()
                .position(|i| i.ifindex == ifindex)?;
            let virtual_device = reading.interfaces[at].driver.is_some();
            Some((virtual_device, End { ns: other, at }))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .take(LOWER_CANDIDATES)
        .map(|(_, end)| end)
        .collect()
}

/// Asks each asking namespace the id it gives each other one: (asking inode, other inode) →
/// the id, `None` when it gives none or the question failed (a note).
fn ask_ids(
    root: &HostRoot,
    handles: &[NetnsHandle],
    readings: &[NetnsReading],
    candidates: &[Candidate],
    notes: &mut Vec<String>,
) -> HashMap<(u64, u64), Option<i32>> {
    let by_inode: HashMap<u64, &NetnsHandle> = handles.iter().map(|h| (h.inode, h)).collect();
    let mut questions: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for c in candidates {
        questions
            .entry(readings[c.ask].inode)
            .or_default()
            .insert(readings[c.other].inode);
    }
    let askers: Vec<NetnsHandle> = questions
        .keys()
        .filter_map(|inode| by_inode.get(inode).map(|h| (*h).clone()))
        .collect();
    let walked = walk(root, &askers, "asking namespace ids", |socket, _, asker| {
        let mut answers = Vec::new();
        for other in questions.get(&asker).into_iter().flatten() {
            let id = by_inode
                .get(other)
                .and_then(|handle| namespaces::open(root, handle).ok())
                .and_then(|(fd, _)| {
                    use std::os::fd::AsFd;
                    socket.nsid_of(fd.as_fd()).ok().flatten()
                });
            answers.push(((asker, *other), id));
        }
        Ok(answers)
    });
    notes.extend(walked.notes);
    walked.namespaces.into_iter().flatten().collect()
}

fn interface(readings: &[NetnsReading], end: End) -> &Interface {
    &readings[end.ns].interfaces[end.at]
}

fn interface_mut(readings: &mut [NetnsReading], end: End) -> &mut Interface {
    &mut readings[end.ns].interfaces[end.at]
}

fn endpoint(readings: &[NetnsReading], end: End) -> Endpoint {
    let interface = interface(readings, end);
    Endpoint {
        netns: readings[end.ns].inode,
        ifindex: interface.ifindex,
        name: interface.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(
        ifindex: u32,
        name: &str,
        kind: InterfaceKind,
        link: Option<(u32, Option<i32>)>,
    ) -> Interface {
        Interface::for_test(ifindex, name, kind, link)
    }

    fn ns(inode: u64, interfaces: Vec<Interface>) -> NetnsReading {
        NetnsReading::for_test(inode, interfaces)
    }

    /// c:x(2)↔f:y(2) and d:x(2)↔e:y(2): every index and peer index alike; each namespace
    /// names its peer's namespace 0.
    fn twin_pairs() -> Vec<NetnsReading> {
        let veth = |name| iface(2, name, InterfaceKind::Veth, Some((2, Some(0))));
        vec![
            ns(10, vec![veth("x")]),
            ns(11, vec![veth("x")]),
            ns(12, vec![veth("y")]),
            ns(13, vec![veth("y")]),
        ]
    }

    fn peer_of(readings: &[NetnsReading], ns: usize) -> Option<(u64, &str)> {
        readings[ns].interfaces[0]
            .peer
            .as_ref()
            .map(|p| (p.netns, p.name.as_str()))
    }

    #[test]
    fn only_the_answers_decide_between_alike_candidates() {
        let mut readings = twin_pairs();
        let candidates = cross_candidates(&readings);
        // Every other namespace is a candidate of each: 6 unordered pairs.
        assert_eq!(candidates.len(), 6);
        // What the kernel would answer: 10 names 13 as 0, 11 names 12 as 0; the rest are
        // other ids.
        let mut answers = HashMap::default();
        for a in 10..14u64 {
            for b in 10..14u64 {
                let id = if (a, b) == (10, 13)
                    || (a, b) == (13, 10)
                    || (a, b) == (11, 12)
                    || (a, b) == (12, 11)
                {
                    0
                } else {
                    5
                };
                answers.insert((a, b), Some(id));
            }
        }
        apply(&mut readings, &candidates, &answers);
        assert_eq!(peer_of(&readings, 0), Some((13, "y")));
        assert_eq!(peer_of(&readings, 3), Some((10, "x")));
        assert_eq!(peer_of(&readings, 1), Some((12, "y")));
        assert_eq!(peer_of(&readings, 2), Some((11, "x")));
        assert!(unresolved(&readings).is_empty());
    }

    #[test]
    fn no_answer_links_nothing_and_says_so() {
        let mut readings = twin_pairs();
        let candidates = cross_candidates(&readings);
        apply(&mut readings, &candidates, &HashMap::default());
        assert!((0..4).all(|ns| peer_of(&readings, ns).is_none()));
        let notes = unresolved(&readings);
        assert_eq!(notes.len(), 4);
        assert!(
            notes[0].contains("veth x (index 2) in network namespace 10"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn the_side_with_more_veths_is_asked() {
        // The host (1) has two veths to two containers (2, 3); each container names the host 0,
        // the host names them 4 and 7.
        let readings = vec![
            ns(
                1,
                vec![
                    iface(20, "veth-a", InterfaceKind::Veth, Some((2, Some(4)))),
                    iface(21, "veth-b", InterfaceKind::Veth, Some((2, Some(7)))),
                ],
            ),
            ns(
                2,
                vec![iface(2, "eth0", InterfaceKind::Veth, Some((20, Some(0))))],
            ),
            ns(
                3,
                vec![iface(2, "eth0", InterfaceKind::Veth, Some((21, Some(0))))],
            ),
        ];
        let candidates = cross_candidates(&readings);
        assert_eq!(candidates.len(), 2);
        assert!(candidates.iter().all(|c| c.ask == 0));
        let nsids: Vec<(usize, i32)> = candidates.iter().map(|c| (c.other, c.nsid)).collect();
        assert_eq!(nsids, vec![(1, 4), (2, 7)]);
    }

    #[test]
    fn same_namespace_links_and_lower_devices() {
        let mut readings = vec![
            ns(
                1,
                vec![
                    iface(1, "lo", InterfaceKind::Loopback, None),
                    iface(2, "eth0", InterfaceKind::Other, None),
                    iface(3, "va", InterfaceKind::Veth, Some((4, None))),
                    iface(4, "vb", InterfaceKind::Veth, Some((3, None))),
                ],
            ),
            ns(
                2,
                vec![iface(5, "mv0", InterfaceKind::Macvlan, Some((2, Some(0))))],
            ),
        ];
        resolve_local(&mut readings);
        assert_eq!(
            readings[0].interfaces[2]
                .peer
                .as_ref()
                .map(|p| p.name.as_str()),
            Some("vb")
        );
        assert_eq!(
            readings[0].interfaces[3]
                .peer
                .as_ref()
                .map(|p| p.name.as_str()),
            Some("va")
        );
        let candidates = cross_candidates(&readings);
        assert_eq!(candidates.len(), 1);
        let answers: HashMap<_, _> = [((2, 1), Some(0))].into_iter().collect();
        apply(&mut readings, &candidates, &answers);
        let lower = readings[1].interfaces[0].lower.as_ref().unwrap();
        assert_eq!((lower.netns, lower.name.as_str()), (1, "eth0"));
        assert!(readings[1].interfaces[0].peer.is_none());
    }
}
