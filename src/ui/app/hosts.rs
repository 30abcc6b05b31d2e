//! Which host the dashboard shows and how its connection fares: the App's side of remote
//! hosts (`isotop --host …`). The app loop keeps one App per host and tells each its label and
//! place ([`App::set_host`]) and each change of its connection ([`App::on_connection`]); `H`
//! asks the loop to show the next host ([`App::take_host_switch`]). While a connection is down
//! the last frame stays on screen, marked stale ([`App::is_stale`]), and the status line says
//! why and when the next try is ([`App::connection_line`]). The local host has no label and
//! is never stale. Pure state: nothing here touches a connection.

use std::time::Duration;

use super::App;
use crate::host::text::clean_str;

/// A remote host's connection, as its source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// ssh is starting, or the agent has not said hello yet.
    Connecting,
    /// The agent said hello: frames flow. `reconnected` after a loss; `read_only` when the
    /// agent refuses acts (`isotop --read-only agent`).
    Connected { reconnected: bool, read_only: bool },
    /// The connection dropped (`why`); the next try is in `retry_in`.
    Lost { why: String, retry_in: Duration },
    /// No more tries (another protocol version, not an isotop agent): `why`.
    Failed(String),
}

/// The App's view of the host it shows.
#[derive(Debug, Clone, Default)]
pub struct HostState {
    /// `user@host:port`; `None` for this host.
    label: Option<String>,
    /// This host's place among the hosts given (0-based) and their number.
    index: usize,
    count: usize,
    connection: Option<Connection>,
    /// `H` was pressed: the loop shows the next host.
    switch: bool,
}

impl App {
    /// The loop tells the App which host it shows: `label` (`None`: this host), its place
    /// `index` among `count` hosts.
    pub fn set_host(&mut self, label: Option<String>, index: usize, count: usize) {
        self.host.label = label.map(|l| clean_str(&l));
        self.host.index = index;
        self.host.count = count;
    }

    /// The remote host's label (`None` on this host).
    pub fn host_label(&self) -> Option<&str> {
        self.host.label.as_deref()
    }

    /// This host's place (1-based) and the number of hosts, when there are several.
    pub fn host_position(&self) -> Option<(usize, usize)> {
        (self.host.count > 1).then_some((self.host.index + 1, self.host.count))
    }

    /// The connection changed: the status line says so, and the frame on screen is stale
    /// until the agent is back.
    pub fn on_connection(&mut self, connection: Connection) {
        let label = self.host.label.clone().unwrap_or_default();
        match &connection {
            Connection::Connected {
                reconnected,
                read_only,
            } => {
                if *read_only {
                    self.set_read_only(true);
                }
                if *reconnected {
                    self.message = Some(format!("host {label}: reconnected"));
                }
            }
            Connection::Lost { .. } | Connection::Failed(_) => {
                self.message = None;
            }
            Connection::Connecting => {}
        }
        self.host.connection = Some(connection);
    }

    /// A line a source sent to be said: a remote agent's (cleaned: it came over the wire),
    /// prefixed with its host; this host's dump on trouble's.
    pub fn on_notice(&mut self, text: &str) {
        self.message = Some(match &self.host.label {
            Some(label) => format!("host {label}: {}", clean_str(text)),
            // This host's own (the dump on trouble's).
            None => clean_str(text).to_string(),
        });
    }

    /// True while the frame on screen is the last one of a connection that is down.
    pub fn is_stale(&self) -> bool {
        matches!(
            self.host.connection,
            Some(Connection::Lost { .. } | Connection::Failed(_))
        ) && self.frame.is_some()
    }

    /// What the status line says of the connection while it is not up: connecting, lost and
    /// retrying, or given up.
    pub fn connection_line(&self) -> Option<String> {
        let label = self.host.label.as_deref()?;
        Some(match self.host.connection.as_ref()? {
            Connection::Connecting => format!("host {label}: connecting…"),
            Connection::Lost { why, retry_in } => format!(
                "host {label}: connection lost ({}), retrying in {}s",
                clean_str(why),
                retry_in.as_secs_f64().ceil()
            ),
            Connection::Failed(why) => format!("host {label}: {}", clean_str(why)),
            Connection::Connected { .. } => return None,
        })
    }

    /// `H`: the next host, when there are several.
    pub(super) fn switch_host(&mut self) {
        if self.host.count > 1 {
            self.host.switch = true;
        } else {
            self.message = Some(
                "one host: give --host more than once (or ISOTOP_HOST=a,b) to switch with H"
                    .to_string(),
            );
        }
    }

    /// Takes a pending `H` for the loop.
    pub fn take_host_switch(&mut self) -> bool {
        std::mem::take(&mut self.host.switch)
    }

    /// True (and the status line says why) when `n` is pressed on a remote host: the launch
    /// form reads an image and paths on this host.
    pub(super) fn refuse_remote_launch(&mut self) -> bool {
        let remote = self.host.label.is_some();
        if remote {
            self.message = Some(
                "launch works on this host only: its image and paths are read here — run \
                 `isotop run` on the remote host"
                    .to_string(),
            );
        }
        remote
    }
}
