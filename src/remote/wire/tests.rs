//! The protocol on byte buffers: round trips (small and compressed), and every way a stream
//! can be wrong — cut short, a length over the limit, garbage, the wrong magic, another
//! protocol version — each refused with its own error, none allocating what a length claims.

use super::*;
use crate::remote::request::{RemoteRequest, WireLimitKind, WireOutcome};

fn hello() -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        isotop_version: "0.1.0".to_string(),
        commit: "abc".to_string(),
        host: "db1".to_string(),
        read_only: true,
    }
}

#[test]
fn a_hello_round_trips() {
    let mut bytes = Vec::new();
    write_hello(&mut bytes, &hello()).unwrap();
    assert_eq!(&bytes[..6], MAGIC);
    assert_eq!(&bytes[6..10], &PROTOCOL_VERSION.to_be_bytes());
    let back = read_hello(&mut &bytes[..], Peer::Remote).unwrap();
    assert_eq!(back, hello());
}

#[test]
fn messages_round_trip_plain_and_compressed() {
    let small = ClientMessage::Act {
        id: 7,
        request: RemoteRequest::Limit {
            container: "abc".to_string(),
            kind: WireLimitKind::Cpu,
            text: "0.5".to_string(),
        },
    };
    let large = AgentMessage::Outcome {
        id: 9,
        outcome: WireOutcome::Done("x".repeat(100_000)),
    };
    let mut bytes = Vec::new();
    write_message(&mut bytes, &small).unwrap();
    let small_length = bytes.len();
    assert_eq!(bytes[4], PLAIN, "a short message goes plain");
    write_message(&mut bytes, &large).unwrap();
    assert_eq!(bytes[small_length + 4], ZSTD, "a long one compressed");
    assert!(bytes.len() - small_length < 10_000, "and much shorter");
    let mut input = &bytes[..];
    match read_message::<ClientMessage>(&mut input).unwrap() {
        ClientMessage::Act { id: 7, request } => assert_eq!(
            request,
            RemoteRequest::Limit {
                container: "abc".to_string(),
                kind: WireLimitKind::Cpu,
                text: "0.5".to_string(),
            }
        ),
        other => panic!("{other:?}"),
    }
    match read_message::<AgentMessage>(&mut input).unwrap() {
        AgentMessage::Outcome {
            id: 9,
            outcome: WireOutcome::Done(text),
        } => assert_eq!(text.len(), 100_000),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        read_message::<AgentMessage>(&mut input),
        Err(WireError::Closed)
    ));
}

#[test]
fn a_live_frame_round_trips() {
    // A real frame: flattened structs, optional fields, maps keyed by paths.
    let mut sampler = crate::sample::Sampler::new(crate::host::HostRoot::live());
    let frame = sampler.tick().expect("a tick of this host");
    let processes = frame.processes.len();
    let containers = frame.containers.len();
    let mut bytes = Vec::new();
    write_message(&mut bytes, &AgentMessage::Frame(Box::new(frame))).unwrap();
    assert_eq!(bytes[4], ZSTD, "a frame is long enough to be compressed");
    match read_message::<AgentMessage>(&mut &bytes[..]).unwrap() {
        AgentMessage::Frame(back) => {
            assert_eq!(back.processes.len(), processes);
            assert_eq!(back.containers.len(), containers);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_stream_says_how_much_came() {
    let mut bytes = Vec::new();
    write_message(&mut bytes, &ClientMessage::SetNetMap(true)).unwrap();
    for cut in [1, 3] {
        assert!(matches!(
            read_message::<ClientMessage>(&mut &bytes[..cut]),
            Err(WireError::Truncated { got, want: 4 }) if got == cut as u64
        ));
    }
    let cut = bytes.len() - 1;
    match read_message::<ClientMessage>(&mut &bytes[..cut]) {
        Err(WireError::Truncated { got, want }) => assert_eq!(got + 1, want),
        other => panic!("{other:?}"),
    }
    // A hello cut inside its body.
    let mut hello_bytes = Vec::new();
    write_hello(&mut hello_bytes, &hello()).unwrap();
    assert!(matches!(
        read_hello(&mut &hello_bytes[..hello_bytes.len() - 2], Peer::Remote),
        Err(WireError::Truncated { .. })
    ));
}

#[test]
fn an_oversized_length_is_refused_before_reading() {
    let mut bytes = (MAX_MESSAGE + 1).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0; 16]);
    match read_message::<ClientMessage>(&mut &bytes[..]) {
        Err(e @ WireError::TooLarge { .. }) => {
            assert!(e.to_string().contains("over the limit"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // A length under the limit that lies costs only what was sent.
    let mut bytes = (MAX_MESSAGE - 1).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0; 16]);
    assert!(matches!(
        read_message::<ClientMessage>(&mut &bytes[..]),
        Err(WireError::Truncated { got: 16, .. })
    ));
}

#[test]
fn garbage_is_an_unreadable_message() {
    for payload in [
        vec![PLAIN, 0xc1, 0xff, 0x00],
        vec![ZSTD, 1, 2, 3, 4],
        vec![7, 1, 2],
        vec![],
    ] {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        assert!(
            matches!(
                read_message::<ClientMessage>(&mut &bytes[..]),
                Err(WireError::Decode(_))
            ),
            "{payload:?}"
        );
    }
}

#[test]
fn the_wrong_magic_quotes_what_came() {
    let text = b"bash: isotop: command not found\n";
    match read_hello(&mut &text[..], Peer::Remote) {
        Err(e @ WireError::BadMagic { .. }) => {
            assert!(e.to_string().contains("bash: isotop"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        read_hello(&mut &b""[..], Peer::Remote),
        Err(WireError::Closed)
    ));
}

#[test]
fn another_version_is_told_plainly() {
    let mut bytes = Vec::new();
    let theirs = Hello {
        protocol: PROTOCOL_VERSION + 1,
        ..hello()
    };
    write_hello(&mut bytes, &theirs).unwrap();
    let e = read_hello(&mut &bytes[..], Peer::Remote).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "remote isotop 0.1.0 speaks protocol {}, this one {}: install the same version on \
             both hosts",
            PROTOCOL_VERSION + 1,
            PROTOCOL_VERSION
        )
    );
    let e = read_hello(&mut &bytes[..], Peer::Client).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("client isotop 0.1.0 speaks protocol")
    );
}
