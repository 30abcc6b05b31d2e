//! A frame as metrics: OpenMetrics text (`application/openmetrics-text; version=1.0.0`) or the
//! Prometheus text format 0.0.4, both written by `prometheus-client`'s encoders.
//!
//! Contract: [`encode_frame`] is a pure function of one [`Frame`] and the exporter's own
//! counts ([`Extras`]): the same frame gives the same text. Every figure is one the frame
//! holds — `host::container::measure`'s reading of a container's own cgroups, its figures and
//! `sample::rates`' shares — never read again from the host; a figure the frame does not have
//! (`None`, a limit that is `max`) is left out of the text, never written as 0. Container
//! series carry cAdvisor's names, types, units and labels (`id` the container's own cgroup
//! path, `name`, `image`, plus `runtime`; `namespace`, `pod`, `container` for Kubernetes
//! containers) so dashboards built on cAdvisor work; isotop's own figures are `isotop_*`. Label
//! values are cleaned of control characters (`host::text`) and escaped by the encoder (`\\`,
//! `"`, line feed). The text of a frame ends without OpenMetrics' `# EOF`: [`encode_tail`]
//! writes what changes per scrape (the frame's age) and the end, so a frame's text is encoded
//! once and shared by every scrape of it (`serve::latest`).

mod container;
mod host;
mod spec;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use crate::sample::Frame;

pub use spec::{FAMILIES, FamilySpec, Kind};

/// The two exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenMetrics 1.0.0 text: counters as `NAME_total`, units declared, `# EOF` at the end.
    OpenMetrics,
    /// The Prometheus text format 0.0.4: no `# UNIT`, no `# EOF`, info metrics as gauges.
    Prometheus,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text` (with a quality above 0), else Prometheus 0.0.4 — what
    /// every Prometheus since 2.5 understands and what a browser or `curl` gets.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let wants_openmetrics = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut params = range.split(';').map(str::trim);
                let media = params.next().unwrap_or("");
                let refused = params.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if wants_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// What the exporter counts itself, beside the frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// Events seen in the frames since the exporter started, by kind (`oom_kill`, …).
    pub events_total: BTreeMap<String, u64>,
    /// Seconds from the start of the frame's tick until the frame reached the exporter: the
    /// tick's own time plus the hand-over (`None` when the clock went back).
    pub tick_seconds: Option<f64>,
    /// Dumps on trouble written since the exporter started (`None`: `--no-trouble`).
    pub trouble_dumps: Option<u64>,
}

/// The commit this binary was built from, as the build recorded it in `ISOTOP_COMMIT`.
pub fn build_commit() -> &'static str {
    env!("ISOTOP_COMMIT")
}

/// One frame's families: the registry's one collector.
#[derive(Debug)]
struct FrameFamilies {
    frame: Arc<Frame>,
    extras: Extras,
}

impl Collector for FrameFamilies {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        container::encode(&mut encoder, &self.frame)?;
        host::encode(&mut encoder, &self.frame, &self.extras)
    }
}

/// The frame's age, the one family that changes between scrapes of one frame.
#[derive(Debug)]
struct FrameAge(f64);

impl Collector for FrameAge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        host::encode_age(&mut encoder, self.0)
    }
}

/// Writes `registry` in `format`, without OpenMetrics' `# EOF`.
fn encode_registry(registry: &Registry, format: Format) -> String {
    let mut text = String::new();
    // Writing to a String fails only when a collector fails, and ours write to it alone.
    let written = match format {
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode_registry(&mut text, registry)
        }
        Format::Prometheus => {
            prometheus_client::encoding::prometheus_text::encode(&mut text, registry)
        }
    };
    if written.is_err() {
        text.clear();
    }
    text
}

/// The metrics of `frame` in `format`, without the per-scrape tail ([`encode_tail`]).
pub fn encode_frame(frame: &Arc<Frame>, extras: &Extras, format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FrameFamilies {
        frame: Arc::clone(frame),
        extras: extras.clone(),
    }));
    encode_registry(&registry, format)
}

/// What follows a frame's text in one scrape: `isotop_scrape_frame_age_seconds` (how old the
/// frame is as it is served, seconds) and, in OpenMetrics, `# EOF`.
pub fn encode_tail(age_seconds: f64, format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FrameAge(age_seconds.max(0.0))));
    let mut text = encode_registry(&registry, format);
    if format == Format::OpenMetrics {
        let _ = text.write_str("# EOF\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn openmetrics_only_when_asked_for() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0, text/plain")),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate(Some("Application/OpenMetrics-Text")),
            Format::OpenMetrics
        );
    }
}
