//! The dashboard config's `[events]` section: the thresholds at which throttling and pressure
//! become events, handed to the sampler (`SamplerOptions::events`); the shipped config holds
//! the defaults, and a value out of range or an unknown key is an error naming it.

use std::path::Path;

use isotop::sample::EventThresholds;
use isotop::ui::config::{Config, DEFAULT_CONFIG_TOML};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
}

#[test]
fn the_events_section_sets_the_samplers_thresholds() {
    let shipped = parse(DEFAULT_CONFIG_TOML).unwrap();
    assert_eq!(shipped.sampler_options().events, EventThresholds::default());
    assert_eq!(
        EventThresholds::default(),
        EventThresholds {
            throttled_percent: 50.0,
            pressure_percent: 20.0
        }
    );
    let set = parse("[events]\nthrottled_percent = 80\npressure_percent = 12.5\n").unwrap();
    assert_eq!(
        set.sampler_options().events,
        EventThresholds {
            throttled_percent: 80.0,
            pressure_percent: 12.5
        }
    );
    // One key alone keeps the other's default.
    let one = parse("[events]\npressure_percent = 35\n").unwrap();
    assert_eq!(one.sampler_options().events.throttled_percent, 50.0);

    let zero = parse("[events]\npressure_percent = 0\n").unwrap_err();
    assert!(zero.contains("[events] pressure_percent = 0"), "{zero}");
    let over = parse("[events]\nthrottled_percent = 101\n").unwrap_err();
    assert!(over.contains("between 1 and 100"), "{over}");
    let typo = parse("[events]\nthrottle_percent = 50\n").unwrap_err();
    assert!(typo.contains("throttle_percent"), "{typo}");
}
