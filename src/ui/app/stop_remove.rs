//! The `x` key's side of [`App::update`]: on one of isotop's own containers (runtime
//! `isotop`), a small menu on the status line — stop, remove (stopping it first when it runs),
//! cancel — then a `y/N` confirmation, then a [`Request::Stop`] or [`Request::Remove`]. A
//! container of another runtime is refused with a plain message (its runtime manages it; `K`
//! kills it). The selected container may have vanished (its command exited): it can still be
//! removed. Pure state: the app loop runs the request.

use super::App;
use super::acts::Prompt;
use super::selection::Target;
use crate::host::container::Runtime;
use crate::ui::action::Action;
use crate::ui::acts::Request;

/// The menu's entries, in the order ←/→ walk them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRemoveChoice {
    Stop,
    Remove,
    Cancel,
}

impl StopRemoveChoice {
    pub const ALL: [StopRemoveChoice; 3] = [
        StopRemoveChoice::Stop,
        StopRemoveChoice::Remove,
        StopRemoveChoice::Cancel,
    ];

    /// The entry as the menu shows it.
    pub fn label(self) -> &'static str {
        match self {
            StopRemoveChoice::Stop => "s stop",
            StopRemoveChoice::Remove => "r remove",
            StopRemoveChoice::Cancel => "c cancel",
        }
    }

    fn step(self, forward: bool) -> StopRemoveChoice {
        let all = StopRemoveChoice::ALL;
        let i = all.iter().position(|&c| c == self).unwrap_or(0);
        let step = if forward { 1 } else { all.len() - 1 };
        all[(i + step) % all.len()]
    }
}

impl App {
    /// `x`: the stop / remove menu for the selected isotop container.
    pub(super) fn stop_remove_menu(&mut self) {
        if !self.may_act() {
            return;
        }
        let Some(Target::Container(id)) = self.detail_target() else {
            self.message = Some("select a container: x stops or removes containers".to_string());
            return;
        };
        let live = self.live_container(&id).map(|s| &s.view);
        let gone = self
            .gone
            .as_ref()
            .map(|g| &g.sample.view)
            .filter(|v| v.container.id == id);
        let Some(view) = live.or(gone) else {
            self.message = Some(format!("{id} is gone: nothing to act on"));
            return;
        };
        let name = view.container.name.clone();
        if view.container.runtime != Runtime::Isotop {
            self.message = Some(format!(
                "x stops and removes only isotop's own containers; {name} belongs to {} \
                 (K kills it)",
                view.container.runtime.name()
            ));
            return;
        }
        let running = live.is_some();
        self.prompt = Some(Prompt::StopRemove {
            id,
            name,
            running,
            choice: if running {
                StopRemoveChoice::Stop
            } else {
                StopRemoveChoice::Remove
            },
        });
    }

    /// Keys while the menu is open.
    pub(super) fn update_stop_remove(
        &mut self,
        id: String,
        name: String,
        running: bool,
        choice: StopRemoveChoice,
        action: Action,
    ) {
        let picked = match action {
            Action::FilterChar('s' | 'S') => Some(StopRemoveChoice::Stop),
            Action::FilterChar('r' | 'R') => Some(StopRemoveChoice::Remove),
            Action::FilterChar('c' | 'C') | Action::Back => Some(StopRemoveChoice::Cancel),
            Action::Open => Some(choice),
            Action::Quit => {
                self.quit = true;
                None
            }
            _ => None,
        };
        let walk = match action {
            Action::Collapse | Action::Up | Action::PreviousTab => Some(false),
            Action::Expand | Action::Down | Action::NextTab | Action::FilterChar(' ') => Some(true),
            _ => None,
        };
        match picked {
            Some(StopRemoveChoice::Cancel) => {
                self.message = Some(format!("{name}: nothing stopped or removed"));
            }
            Some(choice) => {
                self.prompt = Some(Prompt::ConfirmStopRemove {
                    id,
                    name,
                    running,
                    choice,
                });
            }
            None if self.quit => {}
            None => {
                let choice = walk.map_or(choice, |forward| choice.step(forward));
                self.prompt = Some(Prompt::StopRemove {
                    id,
                    name,
                    running,
                    choice,
                });
            }
        }
    }

    /// The `y/N` after a menu choice: only `y` sends.
    pub(super) fn confirm_stop_remove(
        &mut self,
        id: String,
        name: String,
        running: bool,
        choice: StopRemoveChoice,
        action: Action,
    ) {
        match (action, choice) {
            (Action::FilterChar('y' | 'Y'), StopRemoveChoice::Stop) => {
                self.send(Request::Stop { id, name })
            }
            (Action::FilterChar('y' | 'Y'), StopRemoveChoice::Remove) => {
                self.send(Request::Remove { id, name, running })
            }
            _ => self.message = Some(format!("{name}: nothing stopped or removed")),
        }
    }
}
