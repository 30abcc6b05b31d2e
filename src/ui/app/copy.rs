//! The `y` key's side of [`App::update`]: a small menu on the status line — the selected
//! row's id, name, pid or cgroup path, only those it has — and the pick, cleaned of every
//! character a terminal would act on (the text comes from the containers themselves), left for
//! the app loop to put on the clipboard ([`App::take_clipboard`]; the terminal module writes
//! it as OSC 52). Copying is no act: it works when not root and `--read-only`. Pure state.

use super::App;
use super::acts::Prompt;
use super::rows::ContainerRow;
use crate::host::text::must_escape;
use crate::ui::action::{Action, Tab};

/// What can be copied of a row, in the order ←/→ walk them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyField {
    Id,
    Name,
    Pid,
    Cgroup,
    /// An interface's address (the Network view's rows).
    Address,
}

impl CopyField {
    /// Every field, in menu order. The views but Network offer the first four (their rows
    /// zip with this list); Network's rows name their fields.
    pub const ALL: [CopyField; 5] = [
        CopyField::Id,
        CopyField::Name,
        CopyField::Pid,
        CopyField::Cgroup,
        CopyField::Address,
    ];

    /// The word the menu and the status line use.
    pub fn word(self) -> &'static str {
        match self {
            CopyField::Id => "id",
            CopyField::Name => "name",
            CopyField::Pid => "pid",
            CopyField::Cgroup => "cgroup",
            CopyField::Address => "address",
        }
    }

    /// The key that picks it in the menu.
    pub fn key(self) -> char {
        match self {
            CopyField::Id => 'i',
            CopyField::Name => 'n',
            CopyField::Pid => 'p',
            CopyField::Cgroup => 'c',
            CopyField::Address => 'a',
        }
    }
}

/// The open `y` menu: what the selected row offers, and the entry highlighted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyMenu {
    /// The row as the menu names it.
    pub title: String,
    /// The fields the row has, with their text (already cleaned).
    pub choices: Vec<(CopyField, String)>,
    /// Index into `choices`.
    pub highlighted: usize,
}

impl CopyMenu {
    /// `copy web: [i id]  n name  p pid  c cgroup`.
    pub fn menu_line(&self) -> String {
        let entries: Vec<String> = self
            .choices
            .iter()
            .enumerate()
            .map(|(at, (field, _))| {
                let entry = format!("{} {}", field.key(), field.word());
                if at == self.highlighted {
                    format!("[{entry}]")
                } else {
                    entry
                }
            })
            .collect();
        format!("copy {}: {}", self.title, entries.join("  "))
    }
}

/// What a row offers to copy, field by field (`None`: it has no such field).
pub(super) type Offer = Vec<(CopyField, Option<String>)>;

/// `text` without the characters a terminal (or a shell it is pasted into) would act on.
pub fn clipboard_text(text: &str) -> String {
    text.chars().filter(|&c| !must_escape(c)).collect()
}

impl App {
    /// Takes the text the `y` menu picked, for the app loop to put on the clipboard.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// `y`: the copy menu for the selected row.
    pub(super) fn copy_menu(&mut self) {
        let Some((title, choices)) = self.copy_choices() else {
            self.message = Some("nothing selected to copy".to_string());
            return;
        };
        // Cleaned once, for the message and the menu alike.
        let title = clipboard_text(&title);
        let choices: Vec<(CopyField, String)> = choices
            .into_iter()
            .filter_map(|(field, text)| {
                let text = clipboard_text(&text?);
                (!text.is_empty()).then_some((field, text))
            })
            .collect();
        if choices.is_empty() {
            self.message = Some(format!("{title}: nothing to copy"));
            return;
        }
        self.prompt = Some(Prompt::Copy(CopyMenu {
            title,
            choices,
            highlighted: 0,
        }));
    }

    /// Keys while the menu is open: a field's key or Enter copies, ←/→ walk, Esc cancels.
    pub(super) fn update_copy(&mut self, mut menu: CopyMenu, action: Action) {
        let picked = match action {
            Action::TypeChar(c) => menu
                .choices
                .iter()
                .position(|(field, _)| field.key() == c.to_ascii_lowercase()),
            Action::Open => Some(menu.highlighted),
            _ => None,
        };
        if let Some(at) = picked {
            let (field, text) = menu.choices.swap_remove(at);
            self.message = Some(format!("copied {} of {}: {text}", field.word(), menu.title));
            self.clipboard = Some(text);
            return;
        }
        let len = menu.choices.len();
        match action {
            Action::Back => self.message = Some("copy: cancelled".to_string()),
            Action::Quit => self.quit = true,
            Action::Collapse | Action::Up | Action::PreviousTab => {
                menu.highlighted = (menu.highlighted + len - 1) % len;
                self.prompt = Some(Prompt::Copy(menu));
            }
            Action::Expand | Action::Down | Action::NextTab | Action::TypeChar(' ') => {
                menu.highlighted = (menu.highlighted + 1) % len;
                self.prompt = Some(Prompt::Copy(menu));
            }
            _ => self.prompt = Some(Prompt::Copy(menu)),
        }
    }

    /// The selected row's title and what it offers (uncleaned; `None` when absent).
    fn copy_choices(&self) -> Option<(String, Offer)> {
        let frame = self.frame.as_ref()?;
        let selected = self.lists[self.tab.index()].selected;
        let row = |fields: [Option<String>; 4]| {
            CopyField::ALL.into_iter().zip(fields).collect::<Vec<_>>()
        };
        match self.tab {
            Tab::Containers => {
                let sample = match self.rows.containers.get(selected)? {
                    ContainerRow::Live(i) => frame.containers.get(*i)?,
                    ContainerRow::Gone => &self.gone.as_ref()?.sample,
                    ContainerRow::Pod(p) => {
                        let pod = frame.pods.get(*p)?;
                        return Some((
                            pod.label.clone(),
                            row([
                                pod.pod.uid.clone(),
                                Some(pod.pod.name.clone()),
                                None,
                                pod.cgroup_path.clone(),
                            ]),
                        ));
                    }
                };
                let c = &sample.view.container;
                Some((
                    c.name.clone(),
                    row([
                        Some(c.id.clone()),
                        Some(c.name.clone()),
                        c.init_pid.map(|p| p.to_string()),
                        c.cgroup_path.clone(),
                    ]),
                ))
            }
            Tab::Cgroups => {
                let g = frame.cgroups.get(self.rows.cgroups.get(selected)?.index)?;
                Some((
                    g.path.clone(),
                    row([
                        g.container_id.clone(),
                        Some(g.name.clone()),
                        None,
                        Some(g.path.clone()),
                    ]),
                ))
            }
            Tab::Namespaces => {
                let ns = frame
                    .namespaces
                    .namespaces
                    .get(*self.rows.namespaces.get(selected)?)?;
                Some((
                    format!("{} {}", ns.kind.name(), ns.inode),
                    row([
                        Some(ns.inode.to_string()),
                        ns.command.as_deref().map(String::from),
                        ns.pid.map(|pid| pid.to_string()),
                        None,
                    ]),
                ))
            }
            Tab::Processes => {
                let p = frame
                    .processes
                    .get(self.rows.processes.get(selected)?.index)?;
                let process = &p.process;
                Some((
                    format!("{} {}", process.pid, process.comm),
                    row([
                        p.container_id.as_deref().map(str::to_string),
                        Some(process.comm.to_string()),
                        Some(process.pid.to_string()),
                        // The unified hierarchy's path when there is one (v2, hybrid).
                        process
                            .cgroups
                            .iter()
                            .find(|m| m.hierarchy == 0)
                            .or(process.cgroups.first())
                            .map(|m| m.path.clone()),
                    ]),
                ))
            }
            Tab::Network => self.network_copy_choices(),
            Tab::Events => {
                let event = &self.selected_event()?.event;
                let pid = match event.kind {
                    crate::host::events::EventKind::OomKill { pid, .. } => pid,
                    _ => None,
                };
                Some((
                    event.subject.name.clone(),
                    row([
                        event.subject.container_id.clone(),
                        Some(event.subject.name.clone()),
                        pid.map(|p| p.to_string()),
                        event.subject.cgroup.clone(),
                    ]),
                ))
            }
        }
    }
}
