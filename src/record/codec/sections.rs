//! A frame cut into the sections a record compresses one by one, and put back together.
//!
//! [`Section::Head`] is every field but the big lists (the frame's summary, pods, events,
//! layer sizes, net map, warnings, and the namespace table's host reference and warnings);
//! [`Section::Cgroups`], [`Section::Namespaces`], [`Section::Processes`],
//! [`Section::Containers`] and [`Section::Networks`] are `cgroups`, `namespaces.namespaces`,
//! `processes`, `containers` and `networks`. Each is MessagePack with named fields (`rmp-serde`'s `to_vec_named`,
//! self-describing like `remote::wire`, so flattened structs and optional fields read back).
//! Format 2 had no containers and networks sections (the head held them); [`join`] reads both.
//! A light frame is the head, the cgroups, the containers and the networks: what the charts' history needs, without the two
//! lists that make up most of a frame's bytes (11,700 processes are ~9 MB of MessagePack).
//!
//! [`visit`] hands a frame's sections to a [`Sink`] item by item (the head as a map of its
//! fields, each list as an array of its elements), so the encoder can tell each item's
//! fingerprint and write only those that changed (`patch`).

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

use super::patch::Shape;

/// The parts of a record's payload, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Head = 0,
    Cgroups = 1,
    Namespaces = 2,
    Processes = 3,
    /// Format 3 on.
    Containers = 4,
    /// Format 3 on.
    Networks = 5,
}

/// How many sections a payload holds (format 3; format 2: the first four).
pub(crate) const SECTIONS: usize = 6;

impl Section {
    /// Every section, in payload order.
    pub(crate) const ALL: [Section; SECTIONS] = [
        Section::Head,
        Section::Cgroups,
        Section::Namespaces,
        Section::Processes,
        Section::Containers,
        Section::Networks,
    ];
    /// What a light frame needs.
    pub(crate) const LIGHT: [Section; 4] = [
        Section::Head,
        Section::Cgroups,
        Section::Containers,
        Section::Networks,
    ];
}

/// Where [`visit`] hands a frame's items.
pub(crate) trait Sink {
    /// Section `section` begins: a container of `shape` holding `count` items.
    fn begin(&mut self, section: Section, shape: Shape, count: usize) -> Result<(), String>;
    /// The section's next item: a map's field `key` and its value, or a list's element.
    fn item<T: Serialize + ?Sized>(&mut self, key: Option<&str>, value: &T) -> Result<(), String>;
    /// The processes section's next item (the encoder knows a process record seen before by its
    /// `Arc`): by default any item.
    fn process(&mut self, sample: &ProcessSample) -> Result<(), String> {
        self.item(None, sample)
    }
    /// The cgroups section's next item (the encoder knows a reading seen before by its
    /// `Arc`): by default any item.
    fn cgroup(&mut self, sample: &CgroupSample) -> Result<(), String> {
        self.item(None, sample)
    }
    /// The containers section's next item (the encoder knows a stack seen before by its
    /// `Arc`): by default any item.
    fn container(&mut self, sample: &ContainerSample) -> Result<(), String> {
        self.item(None, sample)
    }
    /// The namespaces section, whole (the encoder knows a table seen before by its `Arc`): by
    /// default its items one by one.
    fn namespaces(&mut self, table: &Arc<NamespaceTable>) -> Result<(), String>
    where
        Self: Sized,
    {
        list(self, Section::Namespaces, &table.namespaces)
    }
    /// The section is complete.
    fn end(&mut self) -> Result<(), String>;
}

/// The head as read.
#[derive(Deserialize)]
struct HeadIn {
    seq: u64,
    taken_at_ms: u64,
    interval_ms: Option<u64>,
    host: HostSummary,
    /// Format 2's place for them (format 3: their own section).
    #[serde(default)]
    containers: Vec<ContainerSample>,
    pods: Vec<PodSample>,
    warnings: Vec<String>,
    layer_sizes: BTreeMap<PathBuf, LayerSize>,
    /// Format 2's place for them (format 3: their own section).
    #[serde(default)]
    networks: Vec<NetnsSample>,
    net_map: Option<NetMap>,
    events: Vec<Event>,
    namespaces_host: HostReference,
    namespaces_warnings: Vec<String>,
}

/// Hands `frame`'s sections to `sink`, in [`Section::ALL`]'s order, item by item.
pub(crate) fn visit(frame: &Frame, sink: &mut impl Sink) -> Result<(), String> {
    sink.begin(Section::Head, Shape::Map, 11)?;
    sink.item(Some("seq"), &frame.seq)?;
    sink.item(Some("taken_at_ms"), &frame.taken_at_ms)?;
    sink.item(Some("interval_ms"), &frame.interval_ms)?;
    sink.item(Some("host"), &frame.host)?;
    sink.item(Some("pods"), &frame.pods)?;
    sink.item(Some("warnings"), &frame.warnings)?;
    sink.item(Some("layer_sizes"), &*frame.layer_sizes)?;
    sink.item(Some("net_map"), &frame.net_map.as_deref())?;
    sink.item(Some("events"), &frame.events)?;
    sink.item(Some("namespaces_host"), &frame.namespaces.host)?;
    sink.item(Some("namespaces_warnings"), &frame.namespaces.warnings)?;
    sink.end()?;
    sink.begin(Section::Cgroups, Shape::Array, frame.cgroups.len())?;
    for sample in frame.cgroups.iter() {
        sink.cgroup(sample)?;
    }
    sink.end()?;
    sink.namespaces(&frame.namespaces)?;
    sink.begin(Section::Processes, Shape::Array, frame.processes.len())?;
    for sample in &frame.processes {
        sink.process(sample)?;
    }
    sink.end()?;
    sink.begin(Section::Containers, Shape::Array, frame.containers.len())?;
    for sample in &frame.containers {
        sink.container(sample)?;
    }
    sink.end()?;
    list(sink, Section::Networks, &frame.networks)
}

/// Hands `items` to `sink` as section `section`, one by one.
pub(super) fn list<T: Serialize>(
    sink: &mut impl Sink,
    section: Section,
    items: &[T],
) -> Result<(), String> {
    sink.begin(section, Shape::Array, items.len())?;
    for item in items {
        sink.item(None, item)?;
    }
    sink.end()
}

/// The frame decoded sections hold. `head` is required; a missing list (`None`) is left empty:
/// a light frame has no processes and no namespaces. `containers` and `networks` are `None`
/// for format 2 (the head holds them).
pub(crate) fn join(
    head: &[u8],
    cgroups: Option<&[u8]>,
    namespaces: Option<&[u8]>,
    processes: Option<&[u8]>,
    containers: Option<&[u8]>,
    networks: Option<&[u8]>,
) -> Result<Frame, String> {
    let mut head: HeadIn = decode(head, "head")?;
    if let Some(bytes) = containers {
        head.containers = decode(bytes, "containers")?;
    }
    if let Some(bytes) = networks {
        head.networks = decode(bytes, "networks")?;
    }
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
        cgroups: cgroups.into(),
        namespaces: std::sync::Arc::new(NamespaceTable {
            host: head.namespaces_host,
            namespaces,
            warnings: head.namespaces_warnings,
        }),
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
