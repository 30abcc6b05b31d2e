//! A frame written as JSON reads back as the same frame: the remote agent's stream and the
//! flight recorder carry frames this way, so every type a frame holds reads back what it wrote
//! (limits as `"max"` or a number, namespace sets as maps, paths as their shown text).
//! Checked on the UI's hand-made frame (every part filled: pods, stacks, layer sizes, traffic,
//! the network map, events) and on real frames of this host, with the network map asked for.

use crate::support::fixture;

use isotop::sample::Frame;

use crate::support::sampling::eager_sampler;

/// Writes `frame` as JSON, reads it back, writes that again: the two texts must be the same.
fn round_trip(frame: &Frame) -> Frame {
    let written = serde_json::to_string(frame).expect("a frame serializes");
    let back: Frame = serde_json::from_str(&written)
        .unwrap_or_else(|e| panic!("the frame reads back: {e}\n{written:.2000}"));
    let again = serde_json::to_string(&back).expect("a frame serializes");
    if let Some(at) = written.bytes().zip(again.bytes()).position(|(a, b)| a != b) {
        let from = at.saturating_sub(300);
        panic!(
            "read back differs at byte {at}:\nwritten …{}\nread    …{}",
            written.get(from..at + 80).unwrap_or(""),
            again.get(from..at + 80).unwrap_or("")
        );
    }
    assert_eq!(written.len(), again.len(), "read back differs in length");
    back
}

#[test]
fn the_hand_made_frame_reads_back_whole() {
    // The first of its frames with an event in it.
    let frame = (0..60)
        .map(|seq| fixture::net::with_networks(fixture::frame(seq, true)))
        .find(|f| !f.events.is_empty())
        .expect("the fixture has events");
    assert!(frame.net_map.is_some(), "the map");
    assert!(!frame.events.is_empty(), "events");
    assert!(!frame.pods.is_empty(), "pods");
    assert!(!frame.layer_sizes.is_empty(), "layer sizes");
    assert!(!frame.networks.is_empty(), "networks");
    let back = round_trip(&frame);
    assert_eq!(back.containers.len(), frame.containers.len());
    assert_eq!(back.events, frame.events);
}

#[test]
fn a_live_frame_reads_back_whole() {
    let mut sampler = eager_sampler();
    sampler.set_net_map(true);
    let mut last = None;
    for _ in 0..3 {
        last = Some(sampler.tick().expect("a tick of the live host"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let frame = last.expect("three ticks");
    assert!(!frame.processes.is_empty());
    let back = round_trip(&frame);
    assert_eq!(back.processes.len(), frame.processes.len());
    assert_eq!(
        back.namespaces.namespaces.len(),
        frame.namespaces.namespaces.len()
    );
}
