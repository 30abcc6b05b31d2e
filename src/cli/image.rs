//! `isotop image ls [--json]` and `isotop image prune [--json]`: the layer cache of isotop's
//! own runtime (`/var/lib/isotop/layers`), what each layer is, which containers use it, and
//! removing the ones none uses. Both need root (the cache is root-only) and, like `isotop
//! run`, first repair the cache directories' modes and sweep what killed unpacks left.
//!
//! JSON: `ls` prints a list of layers (`digest`, `path`, `diff_id`, `disk_bytes`, `entries`,
//! `whiteouts`, `created_ms`, `source`, `used_by` [{`id`, `name`, `status`}]); `prune`
//! prints {`removed`: [layer], `kept`: [layer], `freed_bytes`, `swept`: [path]}.

use super::format::{bytes, duration};
use super::launch::launch_error;
use super::table::Table;
use super::{CliError, ImageArgs, ImageCommand, print_json, print_text, short_id};
use crate::host::HostRoot;
use crate::host::text::clean_str;
use crate::launch::layer::inventory::{self, CachedLayer};
use crate::launch::store::now_ms;

/// `isotop image ...`.
pub fn run(root: &HostRoot, args: &ImageArgs) -> Result<(), CliError> {
    match &args.command {
        ImageCommand::Ls(ls) => {
            let layers = inventory::list(root).map_err(launch_error)?;
            if ls.json {
                print_json(&layers)
            } else {
                print_text(&table(&layers))
            }
        }
        ImageCommand::Prune(prune) => {
            let pruned = inventory::prune(root).map_err(launch_error)?;
            if prune.json {
                return print_json(&pruned);
            }
            let mut text = String::new();
            for layer in &pruned.removed {
                text.push_str(&format!(
                    "removed {} ({})\n",
                    layer.digest,
                    bytes(layer.disk_bytes)
                ));
            }
            text.push_str(&format!(
                "{} layers removed, {} freed; {} kept (in use)\n",
                pruned.removed.len(),
                bytes(pruned.freed_bytes),
                pruned.kept.len()
            ));
            print_text(&text)
        }
    }
}

fn table(layers: &[CachedLayer]) -> String {
    if layers.is_empty() {
        return "no cached layers\n".into();
    }
    let mut table = Table::new(&[
        "DIGEST",
        ">SIZE",
        ">ENTRIES",
        ">WHITEOUTS",
        ">AGE",
        "USED BY",
    ]);
    let now = now_ms();
    for layer in layers {
        let digest = layer.digest.trim_start_matches("sha256:");
        let users: Vec<String> = layer
            .used_by
            .iter()
            .map(|u| format!("{} ({})", clean_str(&u.name), short_id(&u.id)))
            .collect();
        table.push(vec![
            digest.chars().take(12).collect(),
            bytes(layer.disk_bytes),
            layer.entries.to_string(),
            layer.whiteouts.to_string(),
            duration(now.saturating_sub(layer.created_ms) as f64 / 1000.0),
            if users.is_empty() {
                "-".into()
            } else {
                users.join(", ")
            },
        ]);
    }
    table.render()
}
