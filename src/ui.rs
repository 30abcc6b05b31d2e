//! SEE: the dashboard (`isotop` with no subcommand). It renders [`crate::sample::Frame`]s and
//! the [`crate::sample::History`] the app loop keeps; it never reads `/proc` or `/sys`.
//!
//! Shape: one owner of state. The app loop ([`run`]) owns the [`App`] and the history; it
//! feeds frames from the sampler's channel and turns key and mouse events into [`Action`]s
//! through the one [`keymap::Keymap`] table; the `App` changes only by its messages from the
//! loop ([`App::update`] for actions, `on_frame`, `on_outcome` and the like for the rest), all
//! tested without a terminal; [`views::draw`] only reads. [`terminal`] makes sure the
//! terminal is given back on quit, error, panic, Ctrl-Z and the ending signals (SIGTERM,
//! SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2; isotop then exits with 128 + the signal).

pub mod action;
pub mod acts;
pub mod app;
pub mod config;
pub mod error;
pub mod event_loop;
pub mod keymap;
pub mod log_feed;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;

pub use action::{Action, Tab};
pub use app::App;
pub use config::Config;
pub use error::UiError;
pub use event_loop::source::{FrameSource, SourceEvent};
pub use event_loop::{Options, run, run_on};
pub use keymap::Keymap;
pub use theme::Theme;
