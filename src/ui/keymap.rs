//! The one keymap table: which keys do what. The same table answers key presses
//! ([`Keymap::action`]) and draws the `?` help ([`Keymap::help`]), so the two cannot disagree.
//!
//! A user's config may rebind any action by name (`[keymap] down = ["j", "down"]`): the keys
//! given replace that action's defaults. Two actions on one key is a [`KeymapError::Clash`]
//! naming both, never resolved by guessing. Text typed while something has the keys (the
//! filter, an act's input line or confirmation, the stop/remove menu, the launch form) is not
//! looked up here: plain characters are then text and only keys with a modifier, Enter, Esc,
//! arrows and the like go through the table.
//!
//! A binding has a [`Scope`]: most work everywhere; the log pane's (search, next and previous
//! match, stream, wrap, jump to a time) only while the pane is open, where they come before
//! the others (`n` is the next match there, the launch form elsewhere); a replay's (step, jump
//! to an event, go to a time, play) in `isotop replay`, where `t` goes to a time. Keys clash
//! only within one scope.

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

mod table;

pub use self::table::DEFAULT_BINDINGS;
use super::action::Action;

/// One row of the table: an action, the name a config uses for it, its help text, its
/// default keys and where they work.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub action: Action,
    pub name: &'static str,
    pub help: &'static str,
    pub keys: &'static [&'static str],
    pub scope: Scope,
}

/// Where a binding's keys work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// In every view and pane (unless a pane's own binding takes the key).
    Everywhere,
    /// While a container's log pane is open, before the bindings that work everywhere.
    LogPane,
    /// In a replay (`isotop replay`), before the bindings that work everywhere: `t` goes to a
    /// time there (the Events view's trouble-only is `T`).
    Replay,
}

/// A key with its modifiers, normalised: a character carries its case, so Shift is dropped
/// from characters (`S`, not `shift-s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let mut modifiers =
            modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers.remove(KeyModifiers::SHIFT);
        }
        Key { code, modifiers }
    }

    pub fn from_event(event: &KeyEvent) -> Key {
        Key::new(event.code, event.modifiers)
    }

    /// Reads a key as configs and the help write it: `q`, `G`, `?`, `ctrl-c`, `alt-x`,
    /// `up`, `pagedown`, `enter`, `esc`, `tab`, `backtab`, `space`, `f1`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").map(|r| r.len()) {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r..];
            } else if let Some(r) = lower.strip_prefix("alt-").map(|r| r.len()) {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r..];
            } else if let Some(r) = lower.strip_prefix("shift-").map(|r| r.len()) {
                modifiers |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            (None, _) => return Err("empty key".to_string()),
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=24) => KeyCode::F(n),
                    _ => return Err(format!("unknown key name `{rest}`")),
                },
                _ => return Err(format!("unknown key name `{rest}`")),
            },
        };
        // `shift-a` means `A`; `shift-tab` is what terminals send as BackTab.
        let code = match code {
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            other => other,
        };
        Ok(Key::new(code, modifiers))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A user keymap that cannot be used, said so the user can fix the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("key `{key}` is bound to both `{first}` and `{second}`: bind it to one action only")]
    Clash {
        key: String,
        first: String,
        second: String,
    },
    #[error("[keymap] names no action `{0}`; actions are: {1}")]
    UnknownAction(String, String),
    #[error("[keymap] {action}: cannot read key `{key}`: {why}")]
    BadKey {
        action: String,
        key: String,
        why: String,
    },
}

/// The bindings in force: the default table with the user's replacements.
#[derive(Debug, Clone)]
pub struct Keymap {
    rows: Vec<(Binding, Vec<Key>)>,
    lookup: HashMap<(Scope, Key), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        // The built-in table is checked by a test to parse and not clash.
        Keymap::with_overrides(&BTreeMap::new()).unwrap_or_else(|_| Keymap {
            rows: Vec::new(),
            lookup: HashMap::default(),
        })
    }
}

impl Keymap {
    /// The defaults with `overrides` (action name → keys) replacing those actions' keys.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<Keymap, KeymapError> {
        for name in overrides.keys() {
            if !DEFAULT_BINDINGS.iter().any(|b| b.name == name) {
                let known: Vec<&str> = DEFAULT_BINDINGS.iter().map(|b| b.name).collect();
                return Err(KeymapError::UnknownAction(name.clone(), known.join(", ")));
            }
        }
        let mut rows = Vec::with_capacity(DEFAULT_BINDINGS.len());
        let mut lookup: HashMap<(Scope, Key), Action> = HashMap::default();
        let mut owner: HashMap<(Scope, Key), &'static str> = HashMap::default();
        for binding in DEFAULT_BINDINGS {
            let texts: Vec<String> = match overrides.get(binding.name) {
                Some(keys) => keys.clone(),
                None => binding.keys.iter().map(|k| k.to_string()).collect(),
            };
            let mut keys = Vec::with_capacity(texts.len());
            for text in &texts {
                let key = Key::parse(text).map_err(|why| KeymapError::BadKey {
                    action: binding.name.to_string(),
                    key: text.clone(),
                    why,
                })?;
                let scoped = (binding.scope, key);
                if let Some(first) = owner.get(&scoped)
                    && *first != binding.name
                {
                    return Err(KeymapError::Clash {
                        key: text.clone(),
                        first: first.to_string(),
                        second: binding.name.to_string(),
                    });
                }
                owner.insert(scoped, binding.name);
                lookup.insert(scoped, binding.action);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            rows.push((*binding, keys));
        }
        Ok(Keymap { rows, lookup })
    }

    /// The action for a key press. `typing` is [`App::is_typing`](crate::ui::App::is_typing):
    /// true while the filter, an act's input line or confirmation, the stop/remove menu or the
    /// launch form has the keys. Plain characters are then [`Action::TypeChar`] and Backspace
    /// [`Action::TypeBackspace`], read by whichever has the keys.
    pub fn action(&self, event: &KeyEvent, typing: bool) -> Option<Action> {
        self.action_in(event, typing, Scope::Everywhere)
    }

    /// [`Keymap::action`] where `scope`'s bindings come first: while the log pane is open, or
    /// in a replay ([`App::key_scope`](crate::ui::App::key_scope)), its keys before the others.
    pub fn action_in(&self, event: &KeyEvent, typing: bool, scope: Scope) -> Option<Action> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let key = Key::from_event(event);
        if typing {
            let plain = !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            match key.code {
                KeyCode::Char(c) if plain => return Some(Action::TypeChar(c)),
                KeyCode::Backspace => return Some(Action::TypeBackspace),
                _ => {}
            }
        }
        self.lookup
            .get(&(scope, key))
            .or_else(|| self.lookup.get(&(Scope::Everywhere, key)))
            .copied()
    }

    /// The keys bound to an action (empty when the user unbound it).
    pub fn keys_for(&self, action: Action) -> &[Key] {
        self.rows
            .iter()
            .find(|(b, _)| b.action == action)
            .map(|(_, keys)| keys.as_slice())
            .unwrap_or(&[])
    }

    /// The help table: (keys as shown, what they do), in table order.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        self.rows
            .iter()
            .map(|(binding, keys)| {
                let shown: Vec<String> = keys.iter().map(Key::to_string).collect();
                (shown.join(" "), binding.help)
            })
            .collect()
    }

    /// [`Keymap::help`] as the `?` overlay shows it: a replay's bindings only in a replay.
    pub fn help_shown(&self, replay: bool) -> Vec<(String, &'static str)> {
        self.rows
            .iter()
            .zip(self.help())
            .filter(|((binding, _), _)| replay || binding.scope != Scope::Replay)
            .map(|(_, line)| line)
            .collect()
    }

    /// Short hint for the status line, e.g. `? help` (first key of the action).
    pub fn hint(&self, action: Action) -> Option<String> {
        self.keys_for(action).first().map(Key::to_string)
    }

    /// [`Keymap::hint`] where `scope` has its own binding of `action` (a replay's `T` for
    /// trouble-only): that one's first key.
    pub fn hint_in(&self, action: Action, scope: Scope) -> Option<String> {
        self.rows
            .iter()
            .find(|(b, _)| b.action == action && b.scope == scope)
            .and_then(|(_, keys)| keys.first())
            .map(Key::to_string)
            .or_else(|| self.hint(action))
    }
}
