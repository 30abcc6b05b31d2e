//! The limit prompt of the act keys (`c` `m` `p` `i`): its text as typed, Enter checking it as
//! the CLI would (`LimitLine`) before the request leaves, the `--force` confirmation, and the
//! current value each prompt starts from (the I/O prompt's: `limit_line::io_text`).

use super::Prompt;
use super::cgroup::cgroup_of;
use crate::host::cgroup::Limit;
use crate::ui::action::Action;
use crate::ui::acts::limit_line::{LimitLine, binary_size};
use crate::ui::acts::{LimitKind, Request};
use crate::ui::app::App;

impl App {
    /// Handles an action while a limit prompt or its `--force` confirmation is open.
    pub(super) fn update_limit_prompt(&mut self, prompt: Prompt, action: Action) {
        match prompt {
            Prompt::Limit {
                kind,
                id,
                name,
                mut text,
            } => match action {
                Action::TypeChar(c) if !c.is_control() => {
                    text.push(c);
                    self.prompt = Some(Prompt::Limit {
                        kind,
                        id,
                        name,
                        text,
                    });
                }
                Action::TypeBackspace => {
                    text.pop();
                    self.prompt = Some(Prompt::Limit {
                        kind,
                        id,
                        name,
                        text,
                    });
                }
                Action::Open => self.submit_limit(kind, &id, &name, text.trim()),
                Action::Back => self.message = Some(format!("{}: nothing changed", kind.label())),
                _ => {
                    // Ctrl-C quits even here; Ctrl-Z and Ctrl-L keep the prompt open.
                    match action {
                        Action::Quit => self.quit = true,
                        Action::Suspend => self.suspend = true,
                        Action::Redraw => self.redraw = true,
                        _ => {}
                    }
                    self.prompt = Some(Prompt::Limit {
                        kind,
                        id,
                        name,
                        text,
                    })
                }
            },
            Prompt::ConfirmForce {
                kind,
                id,
                name,
                text,
            } => match action {
                Action::TypeChar('y' | 'Y') => self.send_limit(kind, &id, &name, text),
                _ => self.message = Some(format!("{}: nothing changed", kind.label())),
            },
            _ => {}
        }
    }

    fn submit_limit(&mut self, kind: LimitKind, id: &str, name: &str, text: &str) {
        if text.is_empty() {
            self.message = Some(format!("{}: no value given, nothing changed", kind.label()));
            return;
        }
        let line = match LimitLine::parse(kind, text) {
            Ok((line, _, _)) => line,
            Err(e) => {
                self.message = Some(format!("{e} — nothing changed"));
                return;
            }
        };
        if line.force {
            // `--force` lets a memory limit go below the usage: said before it is sent.
            self.prompt = Some(Prompt::ConfirmForce {
                kind,
                id: id.to_string(),
                name: name.to_string(),
                text: text.to_string(),
            });
            return;
        }
        self.send_limit(kind, id, name, text.to_string());
    }

    /// Sends a checked limit line for the container or cgroup `id`.
    fn send_limit(&mut self, kind: LimitKind, id: &str, name: &str, text: String) {
        if let Some(path) = cgroup_of(id) {
            self.send(Request::LimitCgroup {
                path: path.to_string(),
                kind,
                text,
            });
            return;
        }
        match self.live_container(id) {
            Some(sample) => self.send(Request::Limit {
                view: Box::new(sample.view.clone()),
                kind,
                text,
            }),
            None => self.message = Some(format!("{name} is gone: nothing changed")),
        }
    }
}

/// The current CPU limit as the input line starts: `0.50`, `max`, or empty when unknown.
pub fn cpu_text(limit: Option<Limit<f64>>) -> String {
    match limit {
        Some(Limit::Value(cpus)) => format!("{cpus:.2}"),
        Some(Limit::Max) => "max".to_string(),
        None => String::new(),
    }
}

/// A byte limit in the largest binary unit that divides it: `256M`, `1536K`, `max`.
pub fn size_text(limit: Option<Limit<u64>>) -> String {
    match limit {
        Some(Limit::Value(bytes)) => binary_size(bytes),
        Some(Limit::Max) => "max".to_string(),
        None => String::new(),
    }
}

/// A task limit: `100` or `max`.
pub fn count_text(limit: Option<Limit<u64>>) -> String {
    match limit {
        Some(Limit::Value(n)) => n.to_string(),
        Some(Limit::Max) => "max".to_string(),
        None => String::new(),
    }
}
