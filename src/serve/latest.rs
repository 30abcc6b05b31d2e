//! The sampler on its thread and its latest frame, shared with every scrape.
//!
//! Contract: [`spawn`] starts a sampler (`sample::spawn_sampler`) and a task that takes each
//! frame it makes and publishes it ([`Latest::publish`]): one `Arc<Current>` swapped per tick,
//! so a scrape takes a reference to the frame of the moment and never waits for a tick, and no
//! scrape reads the host. Each [`Current`] encodes its frame's text once per format, when first
//! asked ([`Current::text`]: concurrent scrapes of one frame wait for the one encoding, on
//! tokio's blocking pool, and share its bytes); [`Latest::encodings`] counts them. Events are
//! counted by kind across frames (`isotop_events_total`). With the dump on trouble on, the
//! same task offers each frame to it (`record::trouble`, sharing the frame: no copy), and its
//! dumps are counted (`isotop_trouble_dumps_total`). When the sampler stops (no procfs, a
//! bug) the last frame is still served, ageing, and [`Latest::health`] says why.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use tokio::sync::OnceCell;

use super::metrics::{self, Extras, Format};
use crate::record::trouble::TroubleRecorder;
use crate::sample::{Frame, Sampler, spawn_sampler};
use crate::units::clock::now_ms;

/// How many intervals old a frame may be before the exporter is unhealthy.
pub const STALE_INTERVALS: u32 = 3;

/// One frame as served, with its texts once encoded.
#[derive(Debug)]
pub struct Current {
    pub frame: Arc<Frame>,
    /// When it reached the exporter.
    pub received: Instant,
    extras: Extras,
    openmetrics: OnceCell<Bytes>,
    prometheus: OnceCell<Bytes>,
}

impl Current {
    /// The frame's text in `format`, without the per-scrape tail: encoded by the first scrape
    /// that asks, shared with the rest. `None` when the encoding failed (a bug: the caller
    /// answers 500).
    pub async fn text(&self, format: Format, counter: &AtomicU64) -> Option<Bytes> {
        let cell = match format {
            Format::OpenMetrics => &self.openmetrics,
            Format::Prometheus => &self.prometheus,
        };
        let frame = Arc::clone(&self.frame);
        let extras = self.extras.clone();
        cell.get_or_try_init(|| async move {
            counter.fetch_add(1, Ordering::Relaxed);
            let encoded = tokio::task::spawn_blocking(move || {
                Bytes::from(metrics::encode_frame(&frame, &extras, format))
            });
            encoded.await
        })
        .await
        .ok()
        .cloned()
    }

    /// How long ago it arrived.
    pub fn age(&self) -> Duration {
        self.received.elapsed()
    }
}

/// Whether the exporter serves fresh figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Fresh(String),
    Stale(String),
}

#[derive(Debug, Default)]
struct State {
    current: Option<Arc<Current>>,
    closed: Option<String>,
    events_total: BTreeMap<String, u64>,
    /// `None` while the dump on trouble is off.
    trouble_dumps: Option<u64>,
}

/// The latest frame and what the exporter knows of the sampler.
#[derive(Debug)]
pub struct Latest {
    state: Mutex<State>,
    interval: Duration,
    started: Instant,
    encodings: AtomicU64,
}

impl Latest {
    /// Nothing yet, for a sampler ticking every `interval`.
    pub fn new(interval: Duration) -> Latest {
        Latest {
            state: Mutex::new(State::default()),
            interval,
            started: Instant::now(),
            encodings: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoned only by a panic while holding it; the state is plain values: keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `frame`, arrived now, the one scrapes are served from; counts its events.
    pub fn publish(&self, frame: impl Into<Arc<Frame>>) {
        let frame: Arc<Frame> = frame.into();
        let tick_seconds = now_ms()
            .checked_sub(frame.taken_at_ms)
            .map(|ms| ms as f64 / 1000.0);
        let mut state = self.lock();
        for event in &frame.events {
            *state
                .events_total
                .entry(event.kind.name().to_string())
                .or_default() += 1;
        }
        let extras = Extras {
            events_total: state.events_total.clone(),
            tick_seconds,
            trouble_dumps: state.trouble_dumps,
        };
        state.current = Some(Arc::new(Current {
            frame,
            received: Instant::now(),
            extras,
            openmetrics: OnceCell::new(),
            prometheus: OnceCell::new(),
        }));
    }

    /// The dump on trouble is on: its dumps are counted from 0.
    pub fn count_dumps(&self) {
        self.lock().trouble_dumps.get_or_insert(0);
    }

    /// A dump on trouble was written.
    pub fn dumped(&self) {
        *self.lock().trouble_dumps.get_or_insert(0) += 1;
    }

    /// The sampler stopped: `reason` is what `/healthz` says from now on.
    pub fn close(&self, reason: String) {
        self.lock().closed.get_or_insert(reason);
    }

    /// The frame of the moment (`None` before the first tick ends).
    pub fn current(&self) -> Option<Arc<Current>> {
        self.lock().current.clone()
    }

    /// The frame of the moment's text in `format` (see [`Current::text`]).
    pub async fn text(&self, current: &Current, format: Format) -> Option<Bytes> {
        current.text(format, &self.encodings).await
    }

    /// Frames' texts encoded so far (one per frame and format asked for).
    pub fn encodings(&self) -> u64 {
        self.encodings.load(Ordering::Relaxed)
    }

    /// Fresh while the latest frame is younger than [`STALE_INTERVALS`] intervals; otherwise
    /// why not.
    pub fn health(&self) -> Health {
        let state = self.lock();
        let limit = self.interval * STALE_INTERVALS;
        if let Some(reason) = &state.closed {
            return Health::Stale(reason.clone());
        }
        match &state.current {
            None => Health::Stale(format!(
                "no frame yet: the sampler's first tick has not ended ({:.1} s since start)",
                self.started.elapsed().as_secs_f64()
            )),
            Some(c) if c.age() > limit => Health::Stale(format!(
                "the latest frame (#{}) is {:.1} s old, more than {STALE_INTERVALS} intervals \
                 of {:.1} s: the sampler is behind",
                c.frame.seq,
                c.age().as_secs_f64(),
                self.interval.as_secs_f64()
            )),
            Some(c) => Health::Fresh(format!(
                "ok: frame #{} is {:.1} s old (interval {:.1} s)",
                c.frame.seq,
                c.age().as_secs_f64(),
                self.interval.as_secs_f64()
            )),
        }
    }
}

/// Starts `sampler` every `interval` and a task on the current tokio runtime that publishes
/// its frames to `latest` (and offers them to `trouble`) until the sampler stops.
pub fn spawn(
    sampler: Sampler,
    interval: Duration,
    latest: Arc<Latest>,
    trouble: Option<TroubleRecorder>,
) {
    let mut handle = spawn_sampler(sampler, interval);
    tokio::spawn(async move {
        while let Some(frame) = handle.frames.recv().await {
            let frame = Arc::new(frame);
            if let Some(trouble) = &trouble {
                trouble.offer(Arc::clone(&frame));
            }
            latest.publish(frame);
        }
        let reason = handle
            .frames
            .closed_reason()
            .unwrap_or_else(|| "sampling stopped".to_string());
        latest.close(reason);
    });
}
