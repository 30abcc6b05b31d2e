//! The dashboard's config file: TOML at `$XDG_CONFIG_HOME/isotop/config.toml` (usually
//! `~/.config/isotop/config.toml`), documented in `assets/config.toml`. Every key is optional;
//! a missing file at the default place means the defaults, while a file named on the command
//! line must exist. `[containers] hide` names Containers view columns not to draw. Mistakes (unknown keys, bad values, a keymap clash) are errors that name
//! the file and what to change, never silently ignored. `[layers]` says which layers the
//! sampler sizes in the background (`size`: all, writable, off) and how often a writable
//! layer is walked again (`writable_every`, seconds). `[events]` sets when throttling and
//! pressure become events (`throttled_percent`, `pressure_percent`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::app::rows::CONTAINER_COLUMNS;
use super::error::UiError;
use super::keymap::Keymap;
use super::theme::ThemeName;
use crate::sample::{EventThresholds, LayerSizing, SamplerOptions};

/// The documented default config, shipped in the repository.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../assets/config.toml");

/// Settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time between samples.
    pub refresh: Duration,
    /// How far back the detail charts can look.
    pub history: Duration,
    pub theme: ThemeName,
    pub keymap: Keymap,
    /// Containers view columns not to draw (sort indices of `rows::CONTAINER_COLUMNS`), from
    /// `[containers] hide = ["PSI IO", ...]`.
    pub hidden_container_columns: Vec<usize>,
    /// Said in the status line at start (e.g. the default config file was unreadable).
    pub notes: Vec<String>,
    /// Watch only (`read_only = true`, or `--read-only`): every act is refused.
    pub read_only: bool,
    /// Which layers the sampler sizes (`[layers] size`; the dashboard's default: all).
    pub layer_sizing: LayerSizing,
    /// How long a writable layer's size stays fresh (`[layers] writable_every`, seconds).
    pub writable_every: Duration,
    /// When throttling and pressure become events (`[events]`).
    pub event_thresholds: EventThresholds,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            refresh: Duration::from_secs(1),
            history: Duration::from_secs(600),
            theme: ThemeName::Dark,
            keymap: Keymap::default(),
            hidden_container_columns: Vec::new(),
            notes: Vec::new(),
            read_only: false,
            layer_sizing: LayerSizing::All,
            writable_every: Duration::from_secs(60),
            event_thresholds: EventThresholds::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Seconds.
    refresh: Option<f64>,
    /// Minutes.
    history_minutes: Option<f64>,
    theme: Option<String>,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    keymap: BTreeMap<String, KeyList>,
    #[serde(default)]
    containers: ContainersSection,
    #[serde(default)]
    layers: LayersSection,
    #[serde(default)]
    events: EventsSection,
}

/// `[events]`: when throttling and pressure become events.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsSection {
    /// Percent of CFS periods throttled.
    throttled_percent: Option<f64>,
    /// Percent, PSI `some avg10`.
    pressure_percent: Option<f64>,
}

/// `[layers]`: sizing the containers' layers in the background.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayersSection {
    /// `"all"`, `"writable"` or `"off"`.
    size: Option<LayerSizing>,
    /// Seconds.
    writable_every: Option<f64>,
}

/// `[containers]`: the Containers view.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContainersSection {
    /// Column titles not to draw (case-insensitive), e.g. `["PSI IO", "REFUSED"]`.
    #[serde(default)]
    hide: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl Config {
    /// The sampler's options this config asks for (the rest are the sampler's defaults).
    pub fn sampler_options(&self) -> SamplerOptions {
        SamplerOptions {
            layer_sizing: self.layer_sizing,
            writable_every: self.writable_every,
            events: self.event_thresholds,
            ..SamplerOptions::default()
        }
    }

    /// `$XDG_CONFIG_HOME/isotop/config.toml` (dirs' config dir), if a home is known.
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("isotop").join("config.toml"))
    }

    /// Loads `explicit` (must exist) or the default path (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<Config, UiError> {
        match explicit {
            Some(p) => Config::load_from(p, true),
            None => match Config::default_path() {
                Some(p) => Config::load_from(&p, false),
                None => Ok(Config::default()),
            },
        }
    }

    /// Loads `path`. A file the user named (`must_exist`) must be readable; the default one may
    /// be absent, and when it is unreadable (e.g. another user's home under `sudo -u`), the
    /// dashboard still starts with the defaults and says so, rather than refusing to run.
    pub fn load_from(path: &Path, must_exist: bool) -> Result<Config, UiError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(e) if !must_exist => Ok(Config {
                notes: vec![format!(
                    "config {} not read ({e}): using the defaults",
                    path.display()
                )],
                ..Config::default()
            }),
            Err(e) => Err(UiError::Config {
                path: path.to_path_buf(),
                message: format!("cannot read it: {e}"),
            }),
        }
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, UiError> {
        let config_error = |message: String| UiError::Config {
            path: path.to_path_buf(),
            message,
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| config_error(e.to_string()))?;
        let mut config = Config::default();
        if let Some(seconds) = file.refresh {
            config.refresh = seconds_in_range(seconds, 0.1, 3600.0).ok_or_else(|| {
                config_error(format!(
                    "refresh = {seconds}: give seconds between 0.1 and 3600"
                ))
            })?;
        }
        if let Some(minutes) = file.history_minutes {
            config.history =
                seconds_in_range(minutes * 60.0, 60.0, 24.0 * 3600.0).ok_or_else(|| {
                    config_error(format!(
                        "history_minutes = {minutes}: give minutes between 1 and 1440"
                    ))
                })?;
        }
        if let Some(theme) = file.theme {
            config.theme = ThemeName::parse(&theme).ok_or_else(|| {
                config_error(format!(
                    "theme = \"{theme}\": use \"dark\", \"light\" or \"mono\""
                ))
            })?;
        }
        config.read_only = file.read_only;
        if let Some(sizing) = file.layers.size {
            config.layer_sizing = sizing;
        }
        if let Some(seconds) = file.layers.writable_every {
            config.writable_every =
                seconds_in_range(seconds, 1.0, 24.0 * 3600.0).ok_or_else(|| {
                    config_error(format!(
                        "[layers] writable_every = {seconds}: give seconds between 1 and 86400"
                    ))
                })?;
        }
        let percent = |value: Option<f64>, key: &str, default: f64| match value {
            None => Ok(default),
            Some(p) if p.is_finite() && (1.0..=100.0).contains(&p) => Ok(p),
            Some(p) => Err(config_error(format!(
                "[events] {key} = {p}: give a percent between 1 and 100"
            ))),
        };
        let defaults = EventThresholds::default();
        config.event_thresholds = EventThresholds {
            throttled_percent: percent(
                file.events.throttled_percent,
                "throttled_percent",
                defaults.throttled_percent,
            )?,
            pressure_percent: percent(
                file.events.pressure_percent,
                "pressure_percent",
                defaults.pressure_percent,
            )?,
        };
        config.hidden_container_columns =
            container_columns(&file.containers.hide).map_err(config_error)?;
        let overrides: BTreeMap<String, Vec<String>> = file
            .keymap
            .into_iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    KeyList::One(k) => vec![k],
                    KeyList::Many(ks) => ks,
                };
                (action, keys)
            })
            .collect();
        config.keymap = Keymap::with_overrides(&overrides).map_err(|source| UiError::Keymap {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(config)
    }
}

/// The sort indices of the Containers view columns titled `titles` (case-insensitive); an
/// unknown title is an error listing the known ones.
fn container_columns(titles: &[String]) -> Result<Vec<usize>, String> {
    titles
        .iter()
        .map(|title| {
            CONTAINER_COLUMNS
                .iter()
                .position(|c| c.eq_ignore_ascii_case(title.trim()))
                .ok_or_else(|| {
                    format!(
                        "[containers] hide: {title:?} is not a column; use some of {}",
                        CONTAINER_COLUMNS.map(|c| format!("{c:?}")).join(", ")
                    )
                })
        })
        .collect()
}

/// A duration from seconds when finite and within `[min, max]`.
pub fn seconds_in_range(seconds: f64, min: f64, max: f64) -> Option<Duration> {
    (seconds.is_finite() && (min..=max).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}
