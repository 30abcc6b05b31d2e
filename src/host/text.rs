//! Untrusted text: names, cmdlines and labels are written by containers, i.e. by strangers.
//!
//! [`clean`] turns arbitrary bytes into text safe to put on a terminal: invalid UTF-8 becomes
//! U+FFFD and every control character (C0, DEL, C1, including ESC that starts terminal escape
//! sequences) becomes `?`. Readers store cleaned text only, so nothing downstream can forget.

/// Cleans bytes from the host (a comm, a cmdline argument, a label) for display.
pub fn clean(bytes: &[u8]) -> String {
    clean_str(&String::from_utf8_lossy(bytes))
}

/// Cleans text that is already valid UTF-8 but may hold control characters.
pub fn clean_str(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Like [`clean_str`] but keeps line breaks and tabs: for multi-line text a terminal shows as
/// lines (a container's log output, an error message that quotes an image's command).
pub fn clean_lines(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(clean(b"evil\x1b[2Jname\x07"), "evil?[2Jname?");
        assert_eq!(clean_str("tab\there\u{9b}x"), "tab?here?x");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(clean(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        assert_eq!(
            clean("nginx: worker — ünïcode".as_bytes()),
            "nginx: worker — ünïcode"
        );
    }

    #[test]
    fn clean_lines_keeps_newlines_and_tabs() {
        assert_eq!(clean_lines("a\tb\n\x1b[2Jc\r\x07"), "a\tb\n?[2Jc??");
    }
}
