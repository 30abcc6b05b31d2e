//! What a family is — stem, unit, type, help ([`FamilySpec`]) — and the one function that
//! writes a family's samples through `prometheus-client`. The families themselves are
//! [`families`]' table.

mod families;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

pub use families::*;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (samples `NAME_total`).
    Counter,
    Gauge,
    /// `NAME_info{…} 1`: facts as labels (a gauge in the 0.0.4 format).
    Info,
    /// Untyped: for a cAdvisor counter whose name lacks `_total` (`container_memory_failcnt`),
    /// which OpenMetrics would rename were it typed a counter.
    Unknown,
}

/// One family: its name without unit and type suffixes (the encoder adds them), its unit
/// (`seconds`, `bytes`, `ratio`), type and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilySpec {
    pub stem: &'static str,
    pub unit: Option<&'static str>,
    pub kind: Kind,
    pub help: &'static str,
}

impl FamilySpec {
    /// The name its samples carry: stem, unit, then `_total` (counters) or `_info`.
    pub fn sample_name(&self) -> String {
        let mut name = self.stem.to_string();
        if let Some(unit) = self.unit {
            name.push('_');
            name.push_str(unit);
        }
        match self.kind {
            Kind::Counter => name.push_str("_total"),
            Kind::Info => name.push_str("_info"),
            Kind::Gauge | Kind::Unknown => {}
        }
        name
    }
}

/// The labels of one sample.
pub(super) type Labels = Vec<(&'static str, String)>;

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    Int(u64),
    Float(f64),
}

impl Value {
    /// A float sample; `None` for NaN and infinities (no figure, not a sample).
    pub(super) fn float(v: f64) -> Option<Value> {
        v.is_finite().then_some(Value::Float(v))
    }

    /// Microseconds as seconds.
    pub(super) fn usec(usec: u64) -> Value {
        Value::Float(usec as f64 / 1e6)
    }
}

/// Writes `spec`'s descriptor and `samples`; nothing at all when there is no sample.
pub(super) fn write(
    encoder: &mut DescriptorEncoder,
    spec: &FamilySpec,
    samples: &[(Labels, Value)],
) -> Result<(), std::fmt::Error> {
    if samples.is_empty() {
        return Ok(());
    }
    let unit = spec.unit.map(|u| match u {
        "seconds" => Unit::Seconds,
        "bytes" => Unit::Bytes,
        other => Unit::Other(other.to_string()),
    });
    let metric_type = match spec.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Info => MetricType::Info,
        Kind::Unknown => MetricType::Unknown,
    };
    let mut family = encoder.encode_descriptor(spec.stem, spec.help, unit.as_ref(), metric_type)?;
    for (labels, value) in samples {
        if spec.kind == Kind::Info {
            family.encode_info(labels)?;
            continue;
        }
        let mut sample = family.encode_family(labels)?;
        match (spec.kind, *value) {
            (Kind::Counter, Value::Int(v)) => {
                sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
            }
            (Kind::Counter, Value::Float(v)) => {
                sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
            }
            (_, Value::Int(v)) => sample.encode_gauge(&v)?,
            (_, Value::Float(v)) => sample.encode_gauge(&v)?,
        }
    }
    Ok(())
}
