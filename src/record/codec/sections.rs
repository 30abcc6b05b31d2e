//! A frame cut into the sections a record compresses one by one, and put back together.
//!
//! [`Section::Head`] is every field but the three big lists (the frame's summary, containers,
//! pods, events, networks, layer sizes, net map, warnings, and the namespace table's host
//! reference and warnings); [`Section::Cgroups`], [`Section::Namespaces`] and
//! [`Section::Processes`] are `cgroups`, `namespaces.namespaces` and `processes`. Each is
//! MessagePack with named fields (`rmp-serde`'s `to_vec_named`, self-describing like
//! `remote::wire`, so flattened structs and optional fields read back). A light frame is the
//! head and the cgroups alone: what the charts' history needs, without the two lists that make
//! up nearly all of a frame's bytes (11,700 processes are ~14 MB of MessagePack, the head of
//! 400 containers a few hundred KB).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::host::events::Event;
use crate::host::namespace::{HostReference, NamespaceTable};
use crate::host::net::map::NetMap;
use crate::sample::frame::NetnsSample;
use crate::sample::pods::PodSample;
use crate::sample::{CgroupSample, ContainerSample, Frame, HostSummary, LayerSize, ProcessSample};

/// The parts of a record's payload, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Head = 0,
    Cgroups = 1,
    Namespaces = 2,
    Processes = 3,
}

/// How many sections a payload holds.
pub(crate) const SECTIONS: usize = 4;

impl Section {
    /// Every section, in payload order.
    pub(crate) const ALL: [Section; SECTIONS] = [
        Section::Head,
        Section::Cgroups,
        Section::Namespaces,
        Section::Processes,
    ];
    /// What a light frame needs.
    pub(crate) const LIGHT: [Section; 2] = [Section::Head, Section::Cgroups];
}

/// The head as written: borrowed from the frame.
#[derive(Serialize)]
struct HeadOut<'a> {
    seq: u64,
    taken_at_ms: u64,
    interval_ms: Option<u64>,
    host: &'a HostSummary,
    containers: &'a [ContainerSample],
    pods: &'a [PodSample],
    warnings: &'a [String],
    layer_sizes: &'a BTreeMap<PathBuf, LayerSize>,
    networks: &'a [NetnsSample],
    net_map: Option<&'a NetMap>,
    events: &'a [Event],
    namespaces_host: &'a HostReference,
    namespaces_warnings: &'a [String],
}

/// The head as read.
#[derive(Deserialize)]
struct HeadIn {
    seq: u64,
    taken_at_ms: u64,
    interval_ms: Option<u64>,
    host: HostSummary,
    containers: Vec<ContainerSample>,
    pods: Vec<PodSample>,
    warnings: Vec<String>,
    layer_sizes: BTreeMap<PathBuf, LayerSize>,
    networks: Vec<NetnsSample>,
    net_map: Option<NetMap>,
    events: Vec<Event>,
    namespaces_host: HostReference,
    namespaces_warnings: Vec<String>,
}

/// `frame`'s sections as MessagePack, in [`Section::ALL`]'s order.
pub(crate) fn split(frame: &Frame) -> Result<[Vec<u8>; SECTIONS], String> {
    let head = HeadOut {
        seq: frame.seq,
        taken_at_ms: frame.taken_at_ms,
        interval_ms: frame.interval_ms,
        host: &frame.host,
        containers: &frame.containers,
        pods: &frame.pods,
        warnings: &frame.warnings,
        layer_sizes: &frame.layer_sizes,
        networks: &frame.networks,
        net_map: frame.net_map.as_deref(),
        events: &frame.events,
        namespaces_host: &frame.namespaces.host,
        namespaces_warnings: &frame.namespaces.warnings,
    };
    Ok([
        encode(&head)?,
        encode(&frame.cgroups)?,
        encode(&frame.namespaces.namespaces)?,
        encode(&frame.processes)?,
    ])
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(value).map_err(|e| e.to_string())
}

/// The frame decoded sections hold. `head` is required; a missing list (`None`) is left empty:
/// a light frame has no processes and no namespaces.
pub(crate) fn join(
    head: &[u8],
    cgroups: Option<&[u8]>,
    namespaces: Option<&[u8]>,
    processes: Option<&[u8]>,
) -> Result<Frame, String> {
    let head: HeadIn = decode(head, "head")?;
    let cgroups: Vec<CgroupSample> = cgroups
        .map(|bytes| decode(bytes, "cgroups"))
        .transpose()?
        .unwrap_or_default();
    let namespaces = namespaces
        .map(|bytes| decode(bytes, "namespaces"))
        .transpose()?
        .unwrap_or_default();
    let processes: Vec<ProcessSample> = processes
        .map(|bytes| decode(bytes, "processes"))
        .transpose()?
        .unwrap_or_default();
    Ok(Frame {
        seq: head.seq,
        taken_at_ms: head.taken_at_ms,
        interval_ms: head.interval_ms,
        host: head.host,
        containers: head.containers,
        pods: head.pods,
        cgroups,
        namespaces: NamespaceTable {
            host: head.namespaces_host,
            namespaces,
            warnings: head.namespaces_warnings,
        },
        processes,
        warnings: head.warnings,
        layer_sizes: Arc::new(head.layer_sizes),
        networks: head.networks,
        net_map: head.net_map.map(Arc::new),
        events: head.events,
    })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| format!("its {what}: {e}"))
}
