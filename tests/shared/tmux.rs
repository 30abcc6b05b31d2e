//! A detached tmux session of fixed size driving the real `isotop` binary in tests: send keys
//! or literal text, read the screen back (`capture-pane`), wait for what should appear. The
//! session is killed on drop (its server's socket file removed), even when an assertion fails.
//! Each session has its own tmux server (`-L <name>`): with one shared server, a test ending
//! the server's last session races another test starting one ("server exited unexpectedly").

use std::process::Command;
use std::time::Duration;

use super::common::{unique_name, wait_until};

/// A tmux session killed on drop.
pub struct Tmux {
    pub name: String,
    /// Files the session's command reads (its config), removed once the session is killed.
    _files: Option<tempfile::TempDir>,
}

impl Tmux {
    /// A tmux command on this session's own server.
    pub fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.name]);
        command
    }

    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        Tmux::start_keeping(width, height, command, None)
    }

    /// [`Tmux::start`], keeping `files` (what `command` reads) until the session is killed.
    pub fn start_keeping(
        width: u16,
        height: u16,
        command: &str,
        files: Option<tempfile::TempDir>,
    ) -> Tmux {
        let name = unique_name("tmux");
        let status = Command::new("tmux")
            .args(["-L", &name])
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(command)
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux starts");
        assert!(status.success(), "tmux new-session failed");
        Tmux {
            name,
            _files: files,
        }
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Esc alone: read together with a following key it would be Alt+key, so the next key
    /// waits until the screen shows the Esc was taken (`until` no longer on screen).
    pub fn escape(&self, until: &str) {
        self.keys(&["Escape"]);
        let mut last = String::new();
        let taken = wait_until(Duration::from_secs(20), || {
            last = self.screen();
            !last.contains(until)
        });
        assert!(
            taken,
            "Esc was not taken: `{until}` still on screen:\n{last}"
        );
    }

    /// Types a filter and keeps it (Enter); returns once the prompt is closed.
    pub fn filter(&self, text: &str) {
        self.keys(&["/"]);
        self.text(text);
        self.keys(&["Enter"]);
        self.expect(&format!("filter: {text}"), "the filter is kept");
    }

    /// Types text literally (no key-name lookup; text starting with `-` is text too).
    pub fn text(&self, text: &str) {
        let status = self
            .command()
            .args(["send-keys", "-l", "-t", &self.name, "--", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its attributes as escape sequences.
    pub fn screen_with_attributes(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-e", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn display(&self, format: &str) -> String {
        let out = self
            .command()
            .args(["display-message", "-p", "-t", &self.name, format])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `check` holds for the screen; panics with the screen otherwise.
    pub fn expect_screen(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let found = wait_until(Duration::from_secs(20), || {
            last = self.screen();
            check(&last)
        });
        assert!(found, "{what}: not on screen:\n{last}");
        last
    }

    /// Waits until the screen contains `needle`; panics with the screen otherwise.
    pub fn expect(&self, needle: &str, what: &str) -> String {
        self.expect_screen(&format!("{what}: `{needle}`"), |s| s.contains(needle))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server leaves its socket file behind when killed: asked for first, removed after.
        let socket = self.display("#{socket_path}");
        let _ = self.command().arg("kill-server").status();
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
    }
}
