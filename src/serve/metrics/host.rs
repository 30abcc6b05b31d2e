//! The host's and the exporter's own families: `machine_cpu_cores`, `machine_memory_bytes`,
//! namespaces by type, events seen and dumps on trouble written since the exporter started, the sampler's tick, the build,
//! and (per scrape) the frame's age.

use prometheus_client::encoding::DescriptorEncoder;

use super::Extras;
use super::spec::{self, Labels, Value, write};
use crate::host::namespace::NsKind;
use crate::sample::Frame;

/// One unlabelled sample, when there is a figure.
fn single(value: Option<Value>) -> Vec<(Labels, Value)> {
    value.map(|v| (Vec::new(), v)).into_iter().collect()
}

pub(super) fn encode(
    encoder: &mut DescriptorEncoder,
    frame: &Frame,
    extras: &Extras,
) -> Result<(), std::fmt::Error> {
    let host = &frame.host;
    // The CPUs `/proc/stat` lists, from the first frame on (the per-core shares need two).
    let cores = host.cpus as u64;
    write(
        encoder,
        &spec::MACHINE_CPU_CORES,
        &single((cores > 0).then_some(Value::Int(cores))),
    )?;
    let memory = host.memory_total_bytes;
    write(
        encoder,
        &spec::MACHINE_MEMORY,
        &single((memory > 0).then_some(Value::Int(memory))),
    )?;
    let namespaces: Vec<(Labels, Value)> = NsKind::ALL
        .into_iter()
        .map(|kind| {
            let count = frame
                .namespaces
                .namespaces
                .iter()
                .filter(|n| n.kind == kind)
                .count();
            (
                vec![("type", kind.name().to_string())],
                Value::Int(count as u64),
            )
        })
        .filter(|(_, count)| *count != Value::Int(0))
        .collect();
    write(encoder, &spec::NAMESPACES, &namespaces)?;
    let events: Vec<(Labels, Value)> = extras
        .events_total
        .iter()
        .map(|(kind, n)| (vec![("kind", kind.clone())], Value::Int(*n)))
        .collect();
    write(encoder, &spec::EVENTS, &events)?;
    write(
        encoder,
        &spec::TROUBLE_DUMPS,
        &single(extras.trouble_dumps.map(Value::Int)),
    )?;
    write(
        encoder,
        &spec::TICK,
        &single(extras.tick_seconds.and_then(Value::float)),
    )?;
    let build = vec![
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("commit", super::build_commit().to_string()),
    ];
    write(encoder, &spec::BUILD, &[(build, Value::Int(1))])
}

/// `isotop_scrape_frame_age_seconds`.
pub(super) fn encode_age(encoder: &mut DescriptorEncoder, age: f64) -> Result<(), std::fmt::Error> {
    write(encoder, &spec::FRAME_AGE, &single(Value::float(age)))
}
