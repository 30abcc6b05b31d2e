//! Untrusted text: names, cmdlines and labels are written by containers, i.e. by strangers.
//!
//! [`clean`] turns arbitrary bytes into text safe to put on a terminal: invalid UTF-8 becomes
//! U+FFFD and every control character (C0, DEL, C1, including ESC that starts terminal escape
//! sequences) becomes `?`, and so does every bidirectional control (the embeddings, overrides
//! and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C): they
//! are invisible, yet reorder what follows them on the line, so a name could make the columns
//! after it read backwards or pass one id off as another ("Trojan Source", CVE-2021-42574).
//! The same goes for every other invisible character: format characters (category Cf: zero-width
//! space, joiners, word joiner, BOM, soft hyphen, tags, …), the line and paragraph separators
//! (Zl, Zp) and the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), which render as nothing
//! and would let `web` and `w\u{200B}eb` look alike.
//! Readers store cleaned text only, so nothing downstream can forget; text that reaches the
//! terminal from elsewhere (an error, an id taken from a cgroup path) goes through here too.

/// Cleans bytes from the host (a comm, a cmdline argument, a label) for display.
pub fn clean(bytes: &[u8]) -> String {
    clean_str(&String::from_utf8_lossy(bytes))
}

/// Cleans text that is already valid UTF-8 but may hold control characters.
pub fn clean_str(text: &str) -> String {
    // Sized up front: collecting chars reserves a quarter of the bytes and doubles, leaving up
    // to twice the bytes held (cleaned paths and commands are kept by the thousand).
    let mut out = String::with_capacity(text.len());
    out.extend(text.chars().map(|c| if must_escape(c) { '?' } else { c }));
    out
}

/// True for what must never reach a terminal as is: control characters (Unicode category Cc),
/// the bidirectional controls and every other invisible character (see the module doc).
pub fn must_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// Format characters (Cf), line and paragraph separators (Zl, Zp) and the Hangul fillers.
fn is_invisible(c: char) -> bool {
    use finl_unicode::categories::CharacterCategories;
    c.is_format()
        || c.is_separator_line()
        || c.is_separator_paragraph()
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// The bidirectional formatting characters of Unicode's Bidi_Control property.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Like [`clean_str`] but keeps line breaks and tabs: for multi-line text a terminal shows as
/// lines (a container's log output, an error message that quotes an image's command).
pub fn clean_lines(text: &str) -> String {
    text.chars()
        .map(|c| {
            if must_escape(c) && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Makes serialized JSON safe for a terminal without changing what it says: every character
/// [`must_escape`] but the line breaks between values becomes a `\uXXXX` escape. serde_json
/// escapes C0 inside strings already, so what is left (DEL, C1, bidi controls, invisible
/// characters) can only be inside strings, where the escape means the same character; one
/// outside the BMP (a tag character) is escaped as its UTF-16 surrogate pair, as JSON wants.
pub fn escape_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if must_escape(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleaned_string_holds_no_more_than_its_bytes() {
        // Thousands are kept (cgroup source paths, process names): no doubling's slack.
        let path = "/sys/fs/cgroup/memory/isotop-cgpop-30769-1796566523985186580/c123/memory.stat";
        let cleaned = clean_str(path);
        assert_eq!(cleaned, path);
        assert_eq!(cleaned.capacity(), path.len());
        let evil = "name\u{202e}\x1b[2J\u{200b}tail";
        let cleaned = clean_str(evil);
        assert_eq!(cleaned, "name??[2J?tail");
        assert!(cleaned.capacity() <= evil.len());
    }

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

    /// Each of `chars` becomes `?` in all three cleaners.
    fn every_cleaner_replaces(chars: &[char]) {
        for &c in chars {
            let text = format!("web{c}cba");
            assert_eq!(clean_str(&text), "web?cba", "U+{:04X}", c as u32);
            assert_eq!(clean(text.as_bytes()), "web?cba", "U+{:04X}", c as u32);
            assert_eq!(clean_lines(&text), "web?cba", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn bidi_controls_are_replaced() {
        // Every character of Unicode's Bidi_Control property, in both cleaners.
        let bidi = [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ];
        every_cleaner_replaces(&bidi);
        // Neighbours that are not bidi controls stay (Arabic letters); the zero-width joiner
        // is an invisible format character (see below).
        assert_eq!(clean_str("a\u{200D}b \u{0627}"), "a?b \u{0627}");
    }

    #[test]
    fn invisible_format_characters_and_fillers_are_replaced() {
        // Zero-width space/non-joiner/joiner, word joiner and invisible operators, BOM, soft
        // hyphen, line and paragraph separators, Hangul fillers, Mongolian vowel separator,
        // a tag character (outside the BMP).
        let invisible = [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{E0041}',
        ];
        every_cleaner_replaces(&invisible);
        // Visible neighbours stay: a hyphen, a Hangul syllable, an ideographic space.
        assert_eq!(clean_str("a-b 한\u{3000}x"), "a-b 한\u{3000}x");
        // Escaped in JSON as valid escapes (a surrogate pair outside the BMP).
        let value = serde_json::json!({"name": "a\u{200B}b\u{E0041}c"});
        let safe = escape_json(&serde_json::to_string(&value).unwrap());
        assert!(
            !safe.chars().any(|c| must_escape(c) && c != '\n'),
            "{safe:?}"
        );
        assert!(
            safe.contains("\\u200b") && safe.contains("\\udb40\\udc41"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn escape_json_keeps_the_text_and_hides_it_from_the_terminal() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{9b}c\u{7f}\x1b"});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = escape_json(&pretty);
        assert!(
            !safe.chars().any(|c| must_escape(c) && c != '\n'),
            "{safe:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        assert!(safe.contains("\\u202e"), "{safe}");
    }

    #[test]
    fn clean_lines_keeps_newlines_and_tabs() {
        assert_eq!(clean_lines("a\tb\n\x1b[2Jc\r\x07"), "a\tb\n?[2Jc??");
    }
}
