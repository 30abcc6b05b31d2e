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
use crate::launch::lifecycle::DEFAULT_STOP_TIMEOUT;
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

/// What the `x` menu and its `y/N` are about: the container, and the entry highlighted (in the
/// menu) or picked (in the confirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRemoveMenu {
    pub id: String,
    pub name: String,
    /// It has processes: a remove stops it first.
    pub running: bool,
    pub choice: StopRemoveChoice,
}

impl StopRemoveMenu {
    /// The menu as the status line shows it, the highlighted entry in brackets.
    pub fn menu_line(&self) -> String {
        let entries: Vec<String> = StopRemoveChoice::ALL
            .iter()
            .map(|&c| {
                if c == self.choice {
                    format!("[{}]", c.label())
                } else {
                    c.label().to_string()
                }
            })
            .collect();
        format!("{}: {}", self.name, entries.join("  "))
    }

    /// The `y/N` question for the picked entry.
    pub fn confirm_line(&self) -> String {
        let name = &self.name;
        match self.choice {
            StopRemoveChoice::Remove if self.running => {
                format!("remove {name} (stopping it first)? y/N")
            }
            StopRemoveChoice::Remove => format!("remove {name}? y/N"),
            _ => format!(
                "stop {name} (TERM, KILL after {} s)? y/N",
                DEFAULT_STOP_TIMEOUT.as_secs()
            ),
        }
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
        self.prompt = Some(Prompt::StopRemove(StopRemoveMenu {
            id,
            name,
            running,
            choice: if running {
                StopRemoveChoice::Stop
            } else {
                StopRemoveChoice::Remove
            },
        }));
    }

    /// Keys while the menu is open.
    pub(super) fn update_stop_remove(&mut self, mut menu: StopRemoveMenu, action: Action) {
        let picked = match action {
            Action::TypeChar('s' | 'S') => Some(StopRemoveChoice::Stop),
            Action::TypeChar('r' | 'R') => Some(StopRemoveChoice::Remove),
            Action::TypeChar('c' | 'C') | Action::Back => Some(StopRemoveChoice::Cancel),
            Action::Open => Some(menu.choice),
            Action::Quit => {
                self.quit = true;
                None
            }
            _ => None,
        };
        let walk = match action {
            Action::Collapse | Action::Up | Action::PreviousTab => Some(false),
            Action::Expand | Action::Down | Action::NextTab | Action::TypeChar(' ') => Some(true),
            _ => None,
        };
        match picked {
            Some(StopRemoveChoice::Cancel) => self.nothing_stopped(&menu),
            Some(choice) => {
                menu.choice = choice;
                self.prompt = Some(Prompt::ConfirmStopRemove(menu));
            }
            None if self.quit => {}
            None => {
                if let Some(forward) = walk {
                    menu.choice = menu.choice.step(forward);
                }
                self.prompt = Some(Prompt::StopRemove(menu));
            }
        }
    }

    /// The `y/N` after a menu choice: only `y` sends.
    pub(super) fn confirm_stop_remove(&mut self, menu: StopRemoveMenu, action: Action) {
        let yes = matches!(action, Action::TypeChar('y' | 'Y'));
        match menu.choice {
            StopRemoveChoice::Stop if yes => self.send(Request::Stop {
                id: menu.id,
                name: menu.name,
            }),
            StopRemoveChoice::Remove if yes => self.send(Request::Remove {
                id: menu.id,
                name: menu.name,
                running: menu.running,
            }),
            _ => self.nothing_stopped(&menu),
        }
    }

    /// Esc, `c`, the cancel entry or anything but `y` at the question.
    fn nothing_stopped(&mut self, menu: &StopRemoveMenu) {
        self.message = Some(format!("{}: nothing stopped or removed", menu.name));
    }
}
