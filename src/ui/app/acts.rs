//! The act keys' side of [`App::update`]: which container an act is for (on the Cgroups view,
//! the cgroup itself: [`cgroup`]), the input line a limit key opens (prefilled with the
//! current value; it takes the CLI's options too, `LimitLine`; typed, checked and confirmed
//! in [`limit`]), the kill confirmation, the [`Request`] handed to the app loop, and the act's
//! result coming back ([`App::on_outcome`]). Pure state: nothing here reads or writes the host.
//! The `n` form and the `x` menu are in [`super::launch`] and [`super::stop_remove`].
mod cgroup;
mod limit;

use self::cgroup::cgroup_of;
pub use self::limit::{count_text, cpu_text, size_text};
use super::App;
use super::copy::CopyMenu;
use super::selection::Target;
use super::stop_remove::StopRemoveMenu;
use crate::host::container::measure::ContainerState;
use crate::host::text::clean_str;
use crate::sample::ContainerSample;
use crate::ui::Tab;
use crate::ui::action::Action;
use crate::ui::acts::limit_line::io_text;
use crate::ui::acts::{KillSignal, LimitKind, Outcome, Request};

/// Said for every act key when isotop is not root.
pub const NOT_ROOT_ACT: &str = "not root: read-only — run isotop as root to act";

/// Said for every act key (and refused at [`App::send`]) when isotop runs `--read-only`.
pub const READ_ONLY_ACT: &str = "read-only: isotop was started with --read-only (or read_only in the config); no act is possible";

/// A prompt on the status line that takes the keys until Enter or Esc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Editing a limit of container `id`; `text` starts as the current value.
    Limit {
        kind: LimitKind,
        id: String,
        name: String,
        text: String,
    },
    /// A limit line with `--force`, asking first: `y` sends it.
    ConfirmForce {
        kind: LimitKind,
        id: String,
        name: String,
        text: String,
    },
    /// `kill NAME with SIGNAL? y/N`.
    ConfirmKill {
        id: String,
        name: String,
        signal: KillSignal,
    },
    /// `x` on an isotop container: stop, remove or cancel.
    StopRemove(StopRemoveMenu),
    /// `y`: what of the selected row to copy to the clipboard.
    Copy(CopyMenu),
    /// `stop NAME? y/N` or `remove NAME? y/N`.
    ConfirmStopRemove(StopRemoveMenu),
}

impl Prompt {
    /// The prompt's text as the status line shows it (without the cursor).
    pub fn line(&self) -> String {
        match self {
            Prompt::Limit {
                kind, name, text, ..
            } => format!("{name} {}: {text}", kind.label()),
            Prompt::ConfirmForce { name, .. } => format!(
                "force {name}'s memory limit even below its usage? The kernel reclaims what it \
                 can, then OOM-kills processes in it. y/N"
            ),
            Prompt::ConfirmKill { name, signal, .. } => {
                format!("kill {name} with {}? y/N", signal.name())
            }
            Prompt::StopRemove(menu) => menu.menu_line(),
            Prompt::ConfirmStopRemove(menu) => menu.confirm_line(),
            Prompt::Copy(menu) => menu.menu_line(),
        }
    }
}

impl App {
    /// The open prompt, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// True while typed characters are text (the filter, an act prompt, the launch form, the
    /// log pane's search or time, a replay's time), not keys.
    pub fn is_typing(&self) -> bool {
        self.editing_filter
            || self.prompt.is_some()
            || self.form_open()
            || self.log_pane_typing()
            || self.replay_typing()
    }

    /// Takes the act the app loop should run next.
    pub fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    /// True from a request until its outcome is back.
    pub fn act_running(&self) -> bool {
        self.act_running
    }

    /// The app loop reports what an act did.
    pub fn on_outcome(&mut self, outcome: Outcome) {
        self.act_running = false;
        self.kill_again = None;
        let launch = self.take_launch_in_flight();
        self.message = Some(match outcome {
            Outcome::Started { id, name } => {
                self.on_started(id, name);
                return;
            }
            // Act messages can quote an image's command or a container's name: cleaned for
            // the terminal here, where every act's outcome becomes the status line.
            Outcome::Failed(text) if launch => {
                format!("{} — n reopens the form", clean_str(&text))
            }
            Outcome::Done(text) | Outcome::Failed(text) => clean_str(&text),
            Outcome::SurvivedTerm { id, text } => {
                self.kill_again = Some(id);
                clean_str(&text)
            }
            Outcome::InitIgnoredTerm { id, name } => {
                self.kill_again = Some(id);
                // The key point first: long names and the filter may cut the line short.
                format!(
                    "init ignored TERM — press K again for KILL ({name}'s init is PID 1 of its \
                     pid namespace, which ignores signals it has no handler for)"
                )
            }
        });
    }

    /// Handles an action while a prompt is open (every action: the prompt has the keys).
    pub(super) fn update_prompt(&mut self, prompt: Prompt, action: Action) {
        match prompt {
            prompt @ (Prompt::Limit { .. } | Prompt::ConfirmForce { .. }) => {
                self.update_limit_prompt(prompt, action)
            }
            Prompt::ConfirmKill { id, name, signal } if cgroup_of(&id).is_some() => match action {
                Action::TypeChar('y' | 'Y') => self.send(Request::KillCgroup {
                    path: cgroup_of(&id).unwrap_or_default().to_string(),
                    signal,
                }),
                _ => self.message = Some(format!("kill {name}: cancelled")),
            },
            Prompt::ConfirmKill { id, name, signal } => match action {
                Action::TypeChar('y' | 'Y') => match self.live_container(&id) {
                    Some(sample) => self.send(Request::Kill {
                        view: Box::new(sample.view.clone()),
                        signal,
                    }),
                    None => self.message = Some(format!("{name} is gone: nothing to kill")),
                },
                _ => self.message = Some(format!("kill {name}: cancelled")),
            },
            Prompt::StopRemove(menu) => self.update_stop_remove(menu, action),
            Prompt::ConfirmStopRemove(menu) => self.confirm_stop_remove(menu, action),
            Prompt::Copy(menu) => self.update_copy(menu, action),
        }
    }

    /// An act key outside any prompt.
    pub(super) fn act(&mut self, action: Action) {
        if !self.may_act() {
            return;
        }
        if action == Action::Undo {
            self.send(Request::Undo);
            return;
        }
        if self.tab == Tab::Cgroups {
            self.act_on_cgroup(action);
            return;
        }
        if self.tab == Tab::Network {
            self.act_on_network(action);
            return;
        }
        let sample = match self.act_target() {
            Ok(sample) => sample.clone(),
            Err(why) => {
                self.message = Some(why);
                return;
            }
        };
        let id = sample.view.container.id.clone();
        let name = sample.view.container.name.clone();
        let limit = |kind, text| Prompt::Limit {
            kind,
            id: id.clone(),
            name: name.clone(),
            text,
        };
        match action {
            Action::LimitCpu => {
                self.prompt = Some(limit(LimitKind::Cpu, cpu_text(sample.cpu_limit_cpus)))
            }
            Action::LimitMemory => {
                self.prompt = Some(limit(
                    LimitKind::Memory,
                    size_text(sample.memory_limit_bytes),
                ))
            }
            Action::LimitPids => {
                self.prompt = Some(limit(LimitKind::Pids, count_text(sample.pids_limit)))
            }
            Action::LimitIo => {
                self.prompt = Some(limit(LimitKind::Io, io_text(sample.io_limits.as_ref())))
            }
            Action::FreezeToggle => {
                let frozen = sample.view.state != ContainerState::Frozen;
                self.send(Request::Freeze {
                    view: Box::new(sample.view),
                    frozen,
                });
            }
            Action::Kill => {
                let signal = if self.kill_again.as_deref() == Some(id.as_str()) {
                    KillSignal::Kill
                } else {
                    KillSignal::Term
                };
                self.prompt = Some(Prompt::ConfirmKill {
                    id: id.clone(),
                    name: name.clone(),
                    signal,
                });
            }
            Action::Enter => self.send(Request::Enter {
                view: Box::new(sample.view),
            }),
            _ => {}
        }
    }

    /// True when isotop runs `--read-only` or replays a recording.
    pub fn is_read_only(&self) -> bool {
        self.read_only || self.is_replay()
    }

    /// `--read-only`: from now on every act is refused ([`READ_ONLY_ACT`]). The app loop sets
    /// it once, before the first key.
    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    /// True (and the status line says "read-only", or that a replay acts on nothing) when
    /// isotop runs `--read-only` or replays a recording.
    pub(super) fn refuse_read_only(&mut self) -> bool {
        let refused = self.is_read_only();
        if refused {
            self.message = Some(if self.is_replay() {
                super::replay::REPLAY_ACT.to_string()
            } else {
                READ_ONLY_ACT.to_string()
            });
        }
        refused
    }

    /// False (and the status line says why) when read-only, not root or while an act runs.
    pub(super) fn may_act(&mut self) -> bool {
        if self.refuse_read_only() {
            return false;
        }
        if let Some(frame) = &self.frame
            && !frame.host.is_root
        {
            self.message = Some(NOT_ROOT_ACT.to_string());
            return false;
        }
        if self.act_running {
            self.message = Some("an act is still running: wait for its outcome".to_string());
            return false;
        }
        true
    }

    /// Hands `request` to the app loop: the one door every act of the dashboard leaves by, so
    /// `--read-only` is enforced here whatever key or prompt led to it.
    pub(super) fn send(&mut self, request: Request) {
        if self.refuse_read_only() {
            return;
        }
        self.message = Some(match &request {
            Request::Limit { view, kind, text } => {
                format!(
                    "{}: setting {} to {text}…",
                    view.container.name,
                    kind.label()
                )
            }
            Request::Undo => "undoing the last change…".to_string(),
            Request::LimitCgroup { path, kind, text } => {
                format!("cgroup {path}: setting {} to {text}…", kind.label())
            }
            Request::FreezeCgroup { path, frozen } => format!(
                "{} cgroup {path}…",
                if *frozen { "freezing" } else { "thawing" }
            ),
            Request::KillCgroup { path, signal } => {
                format!("sending {} to cgroup {path}…", signal.name())
            }
            Request::Freeze { view, frozen } => format!(
                "{} {}…",
                if *frozen { "freezing" } else { "thawing" },
                view.container.name
            ),
            Request::Kill { view, signal } => {
                format!("sending {} to {}…", signal.name(), view.container.name)
            }
            Request::Enter { view } => format!("entering {}…", view.container.name),
            Request::Launch { spec } => format!(
                "launching {}…",
                match (&spec.name, spec.command.is_empty()) {
                    (Some(name), _) => name.clone(),
                    (None, false) => spec.command.join(" "),
                    (None, true) => "the image's command (else /bin/sh)".to_string(),
                }
            ),
            Request::Stop { name, .. } => format!("stopping {name}…"),
            Request::Remove { name, .. } => format!("removing {name}…"),
        });
        self.act_running = true;
        self.request = Some(request);
    }

    /// The container an act is for: the selection (a process's container on the Processes
    /// view); a reason when there is none.
    fn act_target(&self) -> Result<&ContainerSample, String> {
        match self.detail_target() {
            Some(Target::Container(id)) => self.live_container(&id).ok_or_else(|| {
                let name = self
                    .gone
                    .as_ref()
                    .filter(|g| g.sample.view.container.id == id)
                    .map(|g| g.sample.view.container.name.clone())
                    .unwrap_or(id);
                format!("{name} is gone: nothing to act on")
            }),
            Some(_) => Err("select a container: acts work on containers".to_string()),
            None if self.pod_selected() => Err(
                "a pod: acts work on its containers — unfold it (space) and select one".to_string(),
            ),
            None => Err("nothing selected: select a container to act on".to_string()),
        }
    }

    /// True when the selection is a pod's row.
    fn pod_selected(&self) -> bool {
        self.tab == crate::ui::action::Tab::Containers
            && matches!(
                self.rows
                    .containers
                    .get(self.lists[self.tab.index()].selected),
                Some(super::rows::ContainerRow::Pod(_))
            )
    }

    pub(super) fn live_container(&self, id: &str) -> Option<&ContainerSample> {
        self.frame
            .as_ref()?
            .containers
            .iter()
            .find(|c| c.view.container.id == id)
    }
}
