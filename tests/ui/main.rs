//! Tests of the dashboard: `App::update` without a terminal, screens drawn on ratatui's
//! `TestBackend` against insta snapshots (`snapshots/`), the config file, and the real binary
//! driven in tmux.
//!
//! The tmux tests that start containers are `#[ignore = "needs root"]`: run them as root with
//! `cargo test --locked -- --include-ignored`.

mod support;

mod acts;
mod acts_cgroups;
mod acts_io;
mod app;
mod chart_cursor;
mod config;
mod conveniences;
mod events;
mod history_watch;
mod hosts;
mod launch;
mod layers;
mod log_pane;
mod mounts;
mod network;
mod replay_app;
mod replay_cli;
mod rw_size;
mod snapshots;
mod stop_remove;
mod tmux;
mod tmux_acts;
mod tmux_cgroup_acts;
mod tmux_chart_cursor;
mod tmux_copy;
mod tmux_events;
mod tmux_io;
mod tmux_launch;
mod tmux_layers;
mod tmux_logs;
mod tmux_network;
mod tmux_remote;
mod tmux_replay;
mod tmux_signals;
mod tmux_trouble;
mod traffic;
mod trouble_config;
