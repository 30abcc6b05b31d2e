//! The dashboard's `[layers]` config section and what it asks of the sampler: sizing all
//! layers by default (the sampler's own default being none), `size` and `writable_every`
//! parsed and bounded, mistakes named.

use std::path::Path;
use std::time::Duration;

use isotop::sample::{LayerSizing, SamplerOptions};
use isotop::ui::config::{Config, DEFAULT_CONFIG_TOML};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
}

#[test]
fn the_dashboard_sizes_all_layers_unless_told_and_the_sampler_none() {
    assert_eq!(SamplerOptions::default().layer_sizing, LayerSizing::Off);
    let shipped = Config::parse(DEFAULT_CONFIG_TOML, Path::new("assets/config.toml")).unwrap();
    let options = shipped.sampler_options();
    assert_eq!(options.layer_sizing, LayerSizing::All);
    assert_eq!(options.writable_every, Duration::from_secs(60));
    let empty = parse("").unwrap().sampler_options();
    assert_eq!(empty, options, "the shipped file says the defaults");
    // Everything else stays the sampler's own.
    assert_eq!(
        SamplerOptions {
            layer_sizing: LayerSizing::Off,
            ..options
        },
        SamplerOptions::default()
    );
}

#[test]
fn size_and_writable_every_are_read() {
    let cases = [
        ("off", LayerSizing::Off),
        ("writable", LayerSizing::Writable),
        ("all", LayerSizing::All),
    ];
    for (text, sizing) in cases {
        let config = parse(&format!(
            "[layers]\nsize = \"{text}\"\nwritable_every = 5\n"
        ))
        .unwrap();
        assert_eq!(config.sampler_options().layer_sizing, sizing, "{text}");
        assert_eq!(
            config.sampler_options().writable_every,
            Duration::from_secs(5)
        );
    }
}

#[test]
fn layer_mistakes_are_errors_naming_the_fix() {
    let bad_size = parse("[layers]\nsize = \"some\"\n").unwrap_err();
    assert!(
        bad_size.contains("some") && bad_size.contains("writable"),
        "{bad_size}"
    );
    for seconds in ["0.5", "100000", "nan"] {
        let bad = parse(&format!("[layers]\nwritable_every = {seconds}\n")).unwrap_err();
        assert!(
            bad.contains("writable_every") && bad.contains("between 1 and 86400"),
            "{bad}"
        );
    }
    let unknown = parse("[layers]\nsizes = \"all\"\n").unwrap_err();
    assert!(unknown.contains("sizes"), "{unknown}");
}
