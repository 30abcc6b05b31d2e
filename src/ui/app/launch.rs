//! The `n` key's side of [`App::update`]: the launch form takes every key while it is open
//! (Tab/Shift-Tab/↑/↓ move between fields, ←/→ or space choose the network, Enter submits,
//! Esc cancels); a submit that does not check out keeps the form open with the error under
//! its field; one that does becomes a [`Request::Launch`]. When the launch reports the new
//! container, the App waits for the sampler to show it and then selects it in the Containers
//! view, giving up after [`WANTED_PATIENCE_MS`] of frame time. Pure state, like the other
//! acts: the app loop runs the request.

use super::App;
use super::launch_form::{FormError, LaunchForm};
use crate::ui::action::{Action, Tab};
use crate::ui::acts::Request;
use crate::units::short_id;

/// How long (frame time, ms) a started container may take to show up before the App stops
/// waiting to select it.
pub const WANTED_PATIENCE_MS: u64 = 10_000;

/// Said under the form when isotop is not root.
pub const LAUNCH_NEEDS_ROOT: &str = "not root: launching needs root — run isotop as root";

/// The launch side of the App's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct LaunchState {
    /// The open form.
    form: Option<LaunchForm>,
    /// What the last submitted form held: `n` reopens it after that launch failed.
    draft: Option<LaunchForm>,
    /// True from a launch request until its outcome.
    in_flight: bool,
    /// The container a launch started, to select once a frame shows it.
    wanted: Option<Wanted>,
}

/// A started container the App is waiting to see in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub id: String,
    pub name: String,
    /// `taken_at_ms` of the first frame after the start (None before any frame).
    since_ms: Option<u64>,
}

impl App {
    /// The open launch form, if any.
    pub fn launch_form(&self) -> Option<&LaunchForm> {
        self.launch.form.as_ref()
    }

    /// The started container waiting to be selected, if any.
    pub fn wanted(&self) -> Option<&Wanted> {
        self.launch.wanted.as_ref()
    }

    pub(super) fn form_open(&self) -> bool {
        self.launch.form.is_some()
    }

    /// Takes the open form for [`App::update_form`] (which puts it back unless it closed).
    pub(super) fn take_form(&mut self) -> Option<LaunchForm> {
        self.launch.form.take()
    }

    /// `n`: opens the form (with what was typed last time when that launch failed).
    pub(super) fn open_launch_form(&mut self) {
        if self.act_running() {
            self.message = Some("an act is still running: wait for its outcome".to_string());
            return;
        }
        let mut form = self.launch.draft.clone().unwrap_or_default();
        form.error = None;
        form.needs_root = self.frame.as_ref().is_some_and(|f| !f.host.is_root);
        self.launch.form = Some(form);
    }

    /// Every action while the form is open.
    pub(super) fn update_form(&mut self, mut form: LaunchForm, action: Action) {
        match action {
            Action::TypeChar(c) => form.type_char(c),
            Action::TypeBackspace => form.backspace(),
            Action::NextTab | Action::Down => form.focus = form.focus.next(),
            Action::PreviousTab | Action::Up => form.focus = form.focus.previous(),
            Action::Collapse => form.cycle_net(false),
            Action::Expand => form.cycle_net(true),
            Action::Back => {
                self.message = Some("launch: cancelled".to_string());
                return;
            }
            Action::Open => {
                self.submit_form(form);
                return;
            }
            // Ctrl-C quits even here; Ctrl-Z and Ctrl-L keep the form open.
            Action::Quit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Redraw => self.redraw = true,
            _ => {}
        }
        self.launch.form = Some(form);
    }

    fn submit_form(&mut self, mut form: LaunchForm) {
        let checked = if form.needs_root {
            Err(FormError {
                field: None,
                text: LAUNCH_NEEDS_ROOT.to_string(),
            })
        } else {
            form.to_spec()
        };
        match checked {
            Ok(spec) => {
                form.error = None;
                self.launch.draft = Some(form);
                self.launch.in_flight = true;
                self.launch.wanted = None;
                self.send(Request::Launch {
                    spec: Box::new(spec),
                });
            }
            Err(error) => {
                if let Some(field) = error.field {
                    form.focus = field;
                }
                form.error = Some(error);
                self.launch.form = Some(form);
            }
        }
    }

    /// Takes the launch's part of an outcome: true when it was a launch's.
    pub(super) fn take_launch_in_flight(&mut self) -> bool {
        std::mem::take(&mut self.launch.in_flight)
    }

    /// A launch started `id`: wait for a frame to show it, then select it.
    pub(super) fn on_started(&mut self, id: String, name: String) {
        self.message = Some(format!("started {name} ({})", short_id(&id)));
        self.launch.draft = None;
        self.launch.wanted = Some(Wanted {
            id,
            name,
            since_ms: self.frame.as_ref().map(|f| f.taken_at_ms),
        });
        self.select_wanted();
    }

    /// Selects the wanted container once the frame has it (clearing a filter that hides
    /// it); gives up after [`WANTED_PATIENCE_MS`] of frame time, saying so.
    pub(super) fn select_wanted(&mut self) {
        let Some(wanted) = self.launch.wanted.as_mut() else {
            return;
        };
        let Some(frame) = &self.frame else {
            return;
        };
        let now = frame.taken_at_ms;
        let since = *wanted.since_ms.get_or_insert(now);
        let id = wanted.id.clone();
        if !self.rows.container_by_id.contains_key(&id) {
            if now.saturating_sub(since) >= WANTED_PATIENCE_MS {
                let name = wanted.name.clone();
                self.launch.wanted = None;
                self.message = Some(format!(
                    "{name} has not shown up in {} s: it may have exited already \
                     (isotop ls --all, isotop logs {name})",
                    WANTED_PATIENCE_MS / 1000
                ));
            }
            return;
        }
        self.launch.wanted = None;
        if self.find_row(Tab::Containers, &id).is_none() && !self.filter.is_empty() {
            // The filter hides it: the operator asked for this container, show it.
            self.filter.clear();
            self.rebuild();
        }
        if let Some(row) = self.find_row(Tab::Containers, &id) {
            self.show_tab(Tab::Containers);
            self.select(row);
        }
    }
}
