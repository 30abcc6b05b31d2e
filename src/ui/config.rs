//! The dashboard's config file: TOML at `$XDG_CONFIG_HOME/isotop/config.toml` (usually
//! `~/.config/isotop/config.toml`), documented in `assets/config.toml`. Every key is optional;
//! a missing file at the default place means the defaults, while a file named on the command
//! line must exist. `[containers] hide` names Containers view columns not to draw. Mistakes (unknown keys, bad values, a keymap clash) are errors that name
//! the file and what to change, never silently ignored. `[layers]` says which layers the
//! sampler sizes in the background (`size`: all, writable, off) and how often a writable
//! layer is walked again (`writable_every`, seconds). `[events]` sets when throttling and
//! pressure become events (`throttled_percent`, `pressure_percent`). `[trouble]` sets the dump on
//! trouble (`record::trouble`): on or off (`dump`), the minutes and MiB kept in memory, where
//! dumps go, the cooldown, how many and how many MiB are kept, which events dump (`on`) and
//! throttling's and pressure's thresholds for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::app::rows::CONTAINER_COLUMNS;
use super::error::UiError;
use super::keymap::Keymap;
use super::theme::ThemeName;
use crate::host::HostRoot;
use crate::record::trouble::{Triggers, TroubleOptions};
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
    /// Dump on trouble (`[trouble]`): `None` when `dump = false`. Its `dir` is empty unless
    /// the file names one ([`Config::trouble_options`] fills in the state directory's).
    pub trouble: Option<TroubleOptions>,
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
            trouble: Some(TroubleOptions::new(PathBuf::new())),
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
    #[serde(default)]
    trouble: TroubleSection,
}

/// `[trouble]`: the dump on trouble.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TroubleSection {
    dump: Option<bool>,
    minutes: Option<f64>,
    ring_mib: Option<u64>,
    dir: Option<PathBuf>,
    cooldown_seconds: Option<f64>,
    keep: Option<usize>,
    keep_mib: Option<u64>,
    /// Of `oom_kill`, `exit`, `throttled`, `pressure`.
    on: Option<Vec<String>>,
    throttled_percent: Option<f64>,
    pressure_percent: Option<f64>,
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

    /// The dump on trouble's options, `None` when off; dumps go to the config's `dir`, else
    /// `<state dir>/trouble` (`/var/lib/isotop/trouble` for root, the user's XDG state
    /// directory's `isotop/trouble` for others).
    pub fn trouble_options(&self, root: &HostRoot) -> Option<TroubleOptions> {
        let mut options = self.trouble.clone()?;
        if options.dir.as_os_str().is_empty() {
            options.dir = crate::control::limits::journal::state_dir(root).join("trouble");
        }
        Some(options)
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
        config.trouble = trouble(file.trouble).map_err(config_error)?;
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

/// The `[trouble]` table as options (`None`: `dump = false`), or what to change.
fn trouble(section: TroubleSection) -> Result<Option<TroubleOptions>, String> {
    if section.dump == Some(false) {
        return Ok(None);
    }
    let mut options = TroubleOptions::new(section.dir.unwrap_or_default());
    if let Some(minutes) = section.minutes {
        options.window =
            seconds_in_range(minutes * 60.0, 60.0, 24.0 * 3600.0).ok_or_else(|| {
                format!("[trouble] minutes = {minutes}: give minutes between 1 and 1440")
            })?;
    }
    let mib = |value: Option<u64>, key: &str, default: u64| match value {
        None => Ok(default),
        Some(m) if (1..=1 << 20).contains(&m) => Ok(m << 20),
        Some(m) => Err(format!(
            "[trouble] {key} = {m}: give MiB between 1 and 1048576"
        )),
    };
    options.ring_bytes = mib(section.ring_mib, "ring_mib", options.ring_bytes)?;
    options.keep_bytes = mib(section.keep_mib, "keep_mib", options.keep_bytes)?;
    if let Some(seconds) = section.cooldown_seconds {
        options.cooldown = seconds_in_range(seconds, 0.0, 24.0 * 3600.0).ok_or_else(|| {
            format!("[trouble] cooldown_seconds = {seconds}: give seconds between 0 and 86400")
        })?;
    }
    if let Some(keep) = section.keep {
        options.keep_dumps = Some(keep)
            .filter(|k| (1..=10_000).contains(k))
            .ok_or_else(|| format!("[trouble] keep = {keep}: give a count between 1 and 10000"))?;
    }
    let percent = |value: Option<f64>, key: &str| match value {
        None => Ok(0.0),
        Some(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Ok(p),
        Some(p) => Err(format!(
            "[trouble] {key} = {p}: give a percent between 0 and 100"
        )),
    };
    let throttled = percent(section.throttled_percent, "throttled_percent")?;
    let pressure = percent(section.pressure_percent, "pressure_percent")?;
    let on = section.on.unwrap_or_else(|| {
        ["oom_kill", "exit", "throttled", "pressure"]
            .map(String::from)
            .to_vec()
    });
    let mut triggers = Triggers {
        oom_kill: false,
        exit_nonzero: false,
        throttled_percent: None,
        pressure_percent: None,
    };
    for name in &on {
        match name.as_str() {
            "oom_kill" => triggers.oom_kill = true,
            "exit" => triggers.exit_nonzero = true,
            "throttled" => triggers.throttled_percent = Some(throttled),
            "pressure" => triggers.pressure_percent = Some(pressure),
            other => {
                return Err(format!(
                    "[trouble] on: {other:?} is not a trigger; use some of \"oom_kill\", \"exit\", \
                     \"throttled\", \"pressure\""
                ));
            }
        }
    }
    options.triggers = triggers;
    Ok(Some(options))
}

/// A duration from seconds when finite and within `[min, max]`.
pub fn seconds_in_range(seconds: f64, min: f64, max: f64) -> Option<Duration> {
    (seconds.is_finite() && (min..=max).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}
