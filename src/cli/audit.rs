//! `isotop log [-n N] [--json]`: the audit log, oldest first (the last N with `-n`), as an
//! aligned table or the JSON lines as stored.

use super::table::Table;
use super::{CliError, LogArgs, print_text};
use crate::control::audit;

pub(crate) fn run(args: &LogArgs) -> Result<(), CliError> {
    let path = audit::log_path();
    let (mut entries, skipped) = audit::read_from(&path)?;
    if let Some(n) = args.lines {
        let excess = entries.len().saturating_sub(n);
        entries.drain(..excess);
    }
    if args.json {
        let mut text = String::new();
        for e in &entries {
            text.push_str(&serde_json::to_string(e).map_err(|e| CliError::Output(e.to_string()))?);
            text.push('\n');
        }
        return print_text(&text);
    }
    if entries.is_empty() {
        return print_text(&format!("the audit log {} is empty\n", path.display()));
    }
    let mut table = Table::new(&["TIME", "USER", "TARGET", "WHAT", "OLD", "NEW", "RESULT"]);
    for e in &entries {
        table.push(vec![
            e.time.clone(),
            crate::host::text::clean_str(&e.user),
            super::target::shown(&e.target),
            crate::host::text::clean_str(&e.what),
            e.old
                .as_deref()
                .map_or("-".into(), crate::host::text::clean_str),
            e.new
                .as_deref()
                .map_or("-".into(), crate::host::text::clean_str),
            crate::host::text::clean_str(&e.result),
        ]);
    }
    let mut text = table.render();
    if skipped > 0 {
        text.push_str(&format!(
            "({skipped} unreadable line(s) in {} skipped)\n",
            path.display()
        ));
    }
    print_text(&text)
}
