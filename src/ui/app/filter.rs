//! The filter prompt (`/`): typed characters narrow every view as they come; Enter keeps
//! the filter, Esc clears it.

use super::App;
use crate::ui::action::Action;

impl App {
    /// Handles an action while the filter prompt is open; false lets it through.
    pub(super) fn update_filter_prompt(&mut self, action: Action) -> bool {
        match action {
            // Control characters never reach the screen, even from the operator's own keys.
            Action::TypeChar(c) if c.is_control() => {}
            Action::TypeChar(c) => {
                self.filter.push(c);
                self.rebuild();
            }
            Action::TypeBackspace => {
                self.filter.pop();
                self.rebuild();
            }
            Action::Open => self.editing_filter = false,
            Action::Back => {
                self.editing_filter = false;
                self.filter.clear();
                self.rebuild();
            }
            _ => return false,
        }
        true
    }
}
