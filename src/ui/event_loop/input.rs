//! What a terminal event means to the dashboard: the action it becomes (keys through the
//! keymap table, the left click and the wheel from the mouse) and whether it may change the
//! screen; and whether another is already waiting (the loop draws after it). Pure functions of the event and the App's state, so the loop's draw rule is tested
//! without a terminal.

use crossterm::event::{Event, MouseButton, MouseEventKind};

use crate::ui::action::Action;
use crate::ui::app::App;
use crate::ui::keymap::Keymap;

/// Whether a terminal event may change the screen: it became an action, or the terminal was
/// resized (drawn again at the new size). A mouse move, a focus change or an unbound key
/// changes nothing.
pub fn needs_draw(event: &Event, action: Option<&Action>) -> bool {
    action.is_some() || matches!(event, Event::Resize(..))
}

/// The action for a terminal event: keys through the keymap, left clicks and the wheel from
/// the mouse; a resize needs no action (the loop draws again on it: [`needs_draw`]).
pub fn action_for(event: &Event, app: &App, keymap: &Keymap) -> Option<Action> {
    match event {
        Event::Key(key) => keymap.action_in(key, app.is_typing(), app.key_scope()),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
                column: mouse.column,
                row: mouse.row,
            }),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            _ => None,
        },
        _ => None,
    }
}

/// At most this many terminal events are taken in a row before the screen is drawn: a key
/// held down or a flood of mouse moves still shows.
pub const INPUTS_BEFORE_DRAWING: u32 = 64;

/// Whether a terminal event is already waiting (typed or pasted text arrives as one read of
/// many keys): the loop takes it before drawing, so text costs one drawing and not one a
/// character — on a slow host or terminal a drawing a key made a typed filter lag by seconds.
/// Never waits: crossterm's zero-time poll answers false while its event-stream thread holds
/// the reader (it does only while nothing is waiting), and an error is "nothing waiting".
pub fn input_waiting() -> bool {
    crossterm::event::poll(std::time::Duration::ZERO).unwrap_or(false)
}
