//! The dashboard's `[trouble]` table: on by default with the documented bounds (the shipped
//! `assets/config.toml` says the same), `dump = false` turns it off, each key sets its option,
//! a bad value or trigger is an error naming the key, and dumps go to the state directory's
//! `trouble/` unless `dir` says otherwise.

use std::path::{Path, PathBuf};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::record::trouble::{Triggers, TroubleOptions};
use isotop::ui::config::{Config, DEFAULT_CONFIG_TOML};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("test.toml")).map_err(|e| e.to_string())
}

#[test]
fn on_by_default_as_the_shipped_config_says() {
    let defaults = Config::default();
    let shipped = Config::parse(DEFAULT_CONFIG_TOML, Path::new("assets/config.toml")).unwrap();
    assert_eq!(shipped.trouble, defaults.trouble);
    let options = defaults.trouble.clone().unwrap();
    assert_eq!(options.window, Duration::from_secs(600));
    assert_eq!(options.ring_bytes, 64 << 20);
    assert_eq!(options.cooldown, Duration::from_secs(60));
    assert_eq!((options.keep_dumps, options.keep_bytes), (20, 1 << 30));
    assert_eq!(options.triggers, Triggers::default());
    // The state directory's trouble/ (root: /var/lib/isotop/trouble under the host root).
    let root = HostRoot::under(Path::new("/host"));
    let dir = Config::default().trouble_options(&root).unwrap().dir;
    assert!(dir.ends_with("isotop/trouble"), "{}", dir.display());
    if std::env::var_os("ISOTOP_STATE_DIR").is_none() && nix::unistd::geteuid().is_root() {
        assert_eq!(dir, PathBuf::from("/host/var/lib/isotop/trouble"));
    }
}

#[test]
fn each_key_sets_its_option_and_dump_false_turns_it_off() {
    assert_eq!(parse("[trouble]\ndump = false\n").unwrap().trouble, None);
    let config = parse(
        "[trouble]\nminutes = 2\nring_mib = 8\ndir = \"/srv/dumps\"\ncooldown_seconds = 0\n\
         keep = 3\nkeep_mib = 100\non = [\"oom_kill\", \"throttled\"]\nthrottled_percent = 90\n",
    )
    .unwrap();
    let root = HostRoot::under(Path::new("/host"));
    let options = config.trouble_options(&root).unwrap();
    let mut want = TroubleOptions::new(PathBuf::from("/srv/dumps"));
    want.window = Duration::from_secs(120);
    want.ring_bytes = 8 << 20;
    want.cooldown = Duration::ZERO;
    want.keep_dumps = 3;
    want.keep_bytes = 100 << 20;
    want.triggers = Triggers {
        oom_kill: true,
        exit_nonzero: false,
        throttled_percent: Some(90.0),
        pressure_percent: None,
    };
    assert_eq!(options, want);
}

#[test]
fn bad_values_name_their_key() {
    for (text, says) in [
        ("minutes = 0", "[trouble] minutes = 0"),
        ("ring_mib = 0", "[trouble] ring_mib = 0"),
        ("keep = 0", "[trouble] keep = 0"),
        ("cooldown_seconds = -1", "[trouble] cooldown_seconds = -1"),
        (
            "throttled_percent = 101",
            "[trouble] throttled_percent = 101",
        ),
        ("on = [\"oops\"]", "\"oops\" is not a trigger"),
        ("frobnicate = 1", "unknown field"),
    ] {
        let error = parse(&format!("[trouble]\n{text}\n")).unwrap_err();
        assert!(error.contains(says), "{text}: {error}");
        assert!(error.contains("test.toml"), "{error}");
    }
}
