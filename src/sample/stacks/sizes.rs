//! The size side of a tick: the sampler's end of the [`sizer`](crate::sample::sizer), turning
//! the containers' stacks into requests and the sizer's events into [`Frame::layer_sizes`].
//!
//! Contract: with [`LayerSizing::Off`] nothing is sized and no thread is started. Otherwise the
//! sizer thread is started on the first tick that has a layer to size, and every tick
//! [`LayerSizes::update`] asks it for each current container's writable layer
//! ([`LayerKind::Upper`]) and, with [`LayerSizing::All`], each lower and data-only layer
//! ([`LayerKind::Lower`]) — the sizer answers from its cache until a layer is due (a lower when
//! its directory changed, the writable one every `upper_every`) — then drains its events:
//! a layer asked for the first time is `Queued`, progress makes it `Sizing` (a layer already
//! `Sized` keeps its last size while it is walked again, so the RW SIZE and its chart do not
//! blink every `upper_every`), a walk's end `Sized` with its end time, an error `Failed` with
//! the cleaned reason. Layers no container holds any more are `forget`ten (a walk under way is
//! cancelled) and leave the map. Layers are keyed by [`StackLayer::key`] (a host path; a layer
//! shared by many containers is asked for once), while the sizer is given the path this process
//! can read it at ([`HostRoot::host_path`]: isotop with `--root /host` walks `/host/...`). The
//! map is shared with every frame by `Arc` and rebuilt only on a tick where something changed.
//!
//! [`Frame::layer_sizes`]: crate::sample::Frame::layer_sizes

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::host::HostRoot;
use crate::host::stack::{LayerPosition, StackLayer};
use crate::host::text::clean_str;
use crate::host::usage::{CachePolicy, LayerKind};
use crate::sample::frame::{ContainerSample, LayerSize};
use crate::sample::sizer::{SizeEvent, SizerHandle, SizerOptions, spawn_sizer};

/// Which layers the sampler sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerSizing {
    /// None: no sizer thread (`ls`, tests, exporters that did not ask).
    #[default]
    Off,
    /// Each container's writable layer (its copy-on-write usage).
    Writable,
    /// The writable layer and every lower layer (each shared layer once).
    All,
}

/// The sizes of the current containers' layers (see the module contract).
#[derive(Debug)]
pub struct LayerSizes {
    sizing: LayerSizing,
    upper_every: Duration,
    sizer: Option<SizerHandle>,
    /// Why the sizer thread could not be started (then nothing is sized).
    start_error: Option<String>,
    /// What the frames carry, by layer key.
    sizes: Arc<BTreeMap<PathBuf, LayerSize>>,
    /// The path each layer asked for is read at → its key.
    asked: HashMap<PathBuf, PathBuf>,
}

impl LayerSizes {
    /// Sizes `sizing`'s layers, the writable ones again every `upper_every`.
    pub fn new(sizing: LayerSizing, upper_every: Duration) -> Self {
        LayerSizes {
            sizing,
            upper_every,
            sizer: None,
            start_error: None,
            sizes: Arc::default(),
            asked: HashMap::default(),
        }
    }

    /// The thread id of the sizer, once started.
    pub fn sizer_tid(&self) -> Option<i32> {
        self.sizer.as_ref().map(|s| s.priority().tid)
    }

    /// Asks for this tick's layers, takes in what the sizer answered, and returns the map for
    /// the frame (the same `Arc` as last tick when nothing changed).
    pub fn update(
        &mut self,
        root: &HostRoot,
        containers: &[ContainerSample],
        warnings: &mut Vec<String>,
    ) -> Arc<BTreeMap<PathBuf, LayerSize>> {
        if self.sizing == LayerSizing::Off {
            return Arc::clone(&self.sizes);
        }
        let wanted = self.wanted(containers);
        // Layers no container holds any more: their walks cancelled, their sizes dropped.
        let mut changes: Vec<(PathBuf, Option<LayerSize>)> = self
            .sizes
            .keys()
            .filter(|key| !wanted.contains_key(*key))
            .map(|key| (key.clone(), None))
            .collect();
        self.asked.retain(|readable, key| {
            let keep = wanted.contains_key(key);
            if let (false, Some(sizer)) = (keep, &self.sizer) {
                sizer.forget(readable.clone());
            }
            keep
        });
        if !wanted.is_empty() && self.sizer.is_none() && self.start_error.is_none() {
            self.start();
        }
        warnings.extend(self.start_error.clone());
        if let Some(sizer) = &self.sizer {
            for (key, kind) in &wanted {
                if !key.is_absolute() {
                    let reason = "its directory is relative to one isotop does not know";
                    changes.push((
                        key.clone(),
                        Some(LayerSize::Failed {
                            reason: reason.to_string(),
                        }),
                    ));
                    continue;
                }
                let readable = root.host_path(key);
                sizer.measure(readable.clone(), *kind);
                if self.asked.insert(readable, key.clone()).is_none() {
                    changes.push((key.clone(), Some(LayerSize::Queued)));
                }
            }
            while let Some(event) = sizer.try_next() {
                changes.extend(self.answer(event));
            }
        }
        self.apply(changes);
        Arc::clone(&self.sizes)
    }

    /// The layers to size this tick, by key; a layer writable in any container is `Upper`.
    fn wanted(&self, containers: &[ContainerSample]) -> HashMap<PathBuf, LayerKind> {
        let mut wanted = HashMap::default();
        let stacks = containers.iter().filter_map(|c| c.stack.as_deref());
        for layer in stacks.flat_map(|s| &s.layers) {
            let Some(kind) = self.kind_of(layer) else {
                continue;
            };
            let entry = wanted.entry(layer.key().to_path_buf()).or_insert(kind);
            if kind == LayerKind::Upper {
                *entry = kind;
            }
        }
        wanted
    }

    fn kind_of(&self, layer: &StackLayer) -> Option<LayerKind> {
        match (layer.position, self.sizing) {
            (LayerPosition::Writable, LayerSizing::Writable | LayerSizing::All) => {
                Some(LayerKind::Upper)
            }
            (LayerPosition::Lower(_) | LayerPosition::DataOnly(_), LayerSizing::All) => {
                Some(LayerKind::Lower)
            }
            _ => None,
        }
    }

    fn start(&mut self) {
        let options = SizerOptions {
            cache: CachePolicy {
                upper_every: self.upper_every,
                ..CachePolicy::default()
            },
            ..SizerOptions::default()
        };
        match spawn_sizer(options) {
            Ok(sizer) => self.sizer = Some(sizer),
            Err(e) => {
                self.start_error = Some(format!(
                    "layer sizes not computed: cannot start the sizer thread: {e}"
                ));
            }
        }
    }

    /// What one event changes: `(key, new state)`; nothing for a layer no longer asked for.
    fn answer(&self, event: SizeEvent) -> Option<(PathBuf, Option<LayerSize>)> {
        let (readable, size) = match event {
            SizeEvent::Progress { path, so_far } => {
                let key = self.asked.get(&path)?;
                if let Some(LayerSize::Sized { .. }) = self.sizes.get(key) {
                    return None;
                }
                (path, LayerSize::Sizing { so_far })
            }
            SizeEvent::Sized {
                path,
                usage,
                cached,
                ..
            } => {
                let key = self.asked.get(&path)?;
                let at_ms = match self.sizes.get(key) {
                    // Remembered, not walked again: keep when it was walked.
                    Some(LayerSize::Sized { usage: u, at_ms }) if cached && *u == usage => *at_ms,
                    _ => crate::units::now_ms(),
                };
                (path, LayerSize::Sized { usage, at_ms })
            }
            SizeEvent::Failed { path, error, .. } => {
                let reason = clean_str(&error.to_string());
                (path, LayerSize::Failed { reason })
            }
        };
        let key = self.asked.get(&readable)?;
        Some((key.clone(), Some(size)))
    }

    /// Applies the changes that change something, copying the map (when a frame still holds
    /// it) only then.
    fn apply(&mut self, changes: Vec<(PathBuf, Option<LayerSize>)>) {
        for (key, size) in changes {
            if self.sizes.get(&key) == size.as_ref() {
                continue;
            }
            let sizes = Arc::make_mut(&mut self.sizes);
            match size {
                Some(size) => {
                    sizes.insert(key, size);
                }
                None => {
                    sizes.remove(&key);
                }
            }
        }
    }
}
