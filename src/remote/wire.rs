//! The agent protocol, over any byte stream (ssh's stdin and stdout).
//!
//! Each side first writes a [`Hello`]: the magic `ISOTOP` (6 bytes), the protocol version
//! (u32 big-endian), then a length-prefixed body naming its isotop version, commit and host.
//! The version comes before anything that could change with it, so a peer of another version
//! is told so ([`WireError::Version`]: "remote isotop speaks protocol 1, this one 2: install
//! the same version on both hosts") and the connection ends. Then messages: a u32 big-endian
//! length, at most [`MAX_MESSAGE`] (64 MiB; more is refused, never allocated), then the
//! payload: one flag byte ([`PLAIN`] or [`ZSTD`]) and the message in MessagePack with named
//! fields (`rmp-serde`'s `to_vec_named`: self-describing, so a frame's flattened structs and
//! optional fields read back), compressed with zstd when longer than [`COMPRESS_FROM`] bytes.
//! A decompressed message is bounded too ([`MAX_DECODED`]).
//!
//! Why this format: a live frame of 11,682 processes and 400 containers (bench/ns-population.sh)
//! is 18.7 MB as JSON (36 ms to encode), 14.1 MB as MessagePack (23 ms to encode, 120 ms to
//! decode), 14.0 MB as CBOR (17 ms, but 217 ms to decode); zstd level 1 makes the MessagePack
//! 249 KB in 3.8 ms (2.2 ms to decompress) — 56 times less to send each second over ssh.
//!
//! Messages: [`AgentMessage`] from the agent (frames, act outcomes, log lines, errors),
//! [`ClientMessage`] from the dashboard (the network map, the interval, acts, logs, bye).

#[cfg(test)]
mod tests;

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::request::{RemoteRequest, WireLogMessage, WireOutcome};
use crate::sample::Frame;

/// The first bytes each side writes.
pub const MAGIC: &[u8; 6] = b"ISOTOP";

/// This build's protocol. A change to any message's shape is a new version.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest message accepted on the wire, bytes (64 MiB).
pub const MAX_MESSAGE: u32 = 64 * 1024 * 1024;

/// The longest message accepted once decompressed, bytes (1 GiB: a frame of 11,700 processes
/// is 14 MB, so this is room for ~800,000).
pub const MAX_DECODED: u64 = 1024 * 1024 * 1024;

/// The longest hello body accepted, bytes.
pub const MAX_HELLO: u32 = 64 * 1024;

/// Payload flag: the MessagePack as is.
pub const PLAIN: u8 = 0;
/// Payload flag: the MessagePack compressed with zstd.
pub const ZSTD: u8 = 1;

/// Messages longer than this are compressed, bytes.
pub const COMPRESS_FROM: usize = 4096;

/// zstd level: 1 is the fastest, and already 56 times smaller on a large frame.
const ZSTD_LEVEL: i32 = 1;

/// Which end a message is about, for the words of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The agent, seen from the dashboard.
    Remote,
    /// The dashboard, seen from the agent.
    Client,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Peer::Remote => "remote",
            Peer::Client => "client",
        })
    }
}

/// What can go wrong on the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The stream ended cleanly between messages.
    #[error("the connection closed")]
    Closed,
    /// The stream ended inside a message.
    #[error("the stream ended mid-message ({got} of {want} bytes)")]
    Truncated { got: u64, want: u64 },
    /// A length over the limit: a corrupt stream, or not isotop at the other end.
    #[error("a message of {length} bytes is over the limit of {limit} bytes: refused")]
    TooLarge { length: u64, limit: u64 },
    /// The other end did not start with the hello.
    #[error(
        "the {peer} end is not an isotop agent speaking this protocol: it began with {said:?} \
         (is `isotop` installed there and nothing printing on login?)"
    )]
    BadMagic { peer: Peer, said: String },
    /// The other end speaks another protocol version.
    #[error(
        "{peer} isotop{their_isotop} speaks protocol {theirs}, this one {ours}: install the same \
         version on both hosts"
    )]
    Version {
        peer: Peer,
        theirs: u32,
        ours: u32,
        /// ` VERSION` of the other end when its hello said it, else empty.
        their_isotop: String,
    },
    #[error("an unreadable message: {0}")]
    Decode(String),
    #[error("cannot write a message: {0}")]
    Encode(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The opening each side writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version (written in the fixed header, before the body).
    #[serde(skip)]
    pub protocol: u32,
    /// `CARGO_PKG_VERSION` of the isotop that wrote it.
    #[serde(default)]
    pub isotop_version: String,
    /// The commit it was built from, when the build knew it.
    #[serde(default)]
    pub commit: String,
    /// Its host name.
    #[serde(default)]
    pub host: String,
    /// The agent refuses acts (`isotop --read-only agent`); false from a dashboard.
    #[serde(default)]
    pub read_only: bool,
}

impl Hello {
    /// This isotop's hello on this host.
    pub fn ours(read_only: bool) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            isotop_version: env!("CARGO_PKG_VERSION").to_string(),
            commit: env!("ISOTOP_COMMIT").to_string(),
            host: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            read_only,
        }
    }
}

/// From the agent to the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AgentMessage {
    /// One tick of the agent's sampler.
    Frame(Box<Frame>),
    /// What act `id` did.
    Outcome { id: u64, outcome: WireOutcome },
    /// Lines (or the end) of the log `id` the dashboard opened.
    Log { id: u64, message: WireLogMessage },
    /// Something the dashboard should say (a request it could not read, the sampler stopped).
    Error(String),
}

/// From the dashboard to the agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClientMessage {
    /// Frames carry the host's network map (the Network view shows).
    SetNetMap(bool),
    /// Seconds between frames.
    SetInterval(f64),
    /// Run an act; its [`AgentMessage::Outcome`] carries the same `id`.
    Act { id: u64, request: RemoteRequest },
    /// Follow container `container`'s log (closing any other); `since_ms` as the log pane's.
    OpenLog {
        id: u64,
        container: String,
        since_ms: Option<u64>,
    },
    /// Stop following log `id`.
    CloseLog { id: u64 },
    /// The dashboard is leaving: the agent ends.
    Bye,
}

/// Writes `hello`: magic, version, body.
pub fn write_hello(out: &mut impl Write, hello: &Hello) -> Result<(), WireError> {
    let body = rmp_serde::to_vec_named(hello).map_err(|e| WireError::Encode(e.to_string()))?;
    let length = u32::try_from(body.len()).map_err(|_| WireError::Encode("hello".into()))?;
    out.write_all(MAGIC)?;
    out.write_all(&hello.protocol.to_be_bytes())?;
    out.write_all(&length.to_be_bytes())?;
    out.write_all(&body)?;
    out.flush()?;
    Ok(())
}

/// Reads the `peer`'s hello and checks its version against [`PROTOCOL_VERSION`].
pub fn read_hello(input: &mut impl Read, peer: Peer) -> Result<Hello, WireError> {
    let mut magic = [0u8; 6];
    let got = read_full(input, &mut magic)?;
    if got < magic.len() || &magic != MAGIC {
        let mut said = magic[..got].to_vec();
        // A line of what came instead (a shell's "command not found", a login banner).
        let mut more = [0u8; 120];
        if got == magic.len() {
            let extra = read_full(input, &mut more).unwrap_or(0);
            said.extend_from_slice(&more[..extra]);
        }
        if said.is_empty() {
            return Err(WireError::Closed);
        }
        let text = crate::host::text::clean(&said);
        return Err(WireError::BadMagic { peer, said: text });
    }
    let protocol = read_u32(input)?;
    let length = read_u32(input)?;
    if length > MAX_HELLO {
        return Err(WireError::TooLarge {
            length: length.into(),
            limit: MAX_HELLO.into(),
        });
    }
    let body = read_exact_counted(input, length as usize)?;
    // The body is read whatever the version: it names the other end's isotop in the error.
    let mut hello: Hello = rmp_serde::from_slice(&body).unwrap_or(Hello {
        protocol,
        isotop_version: String::new(),
        commit: String::new(),
        host: String::new(),
        read_only: false,
    });
    hello.protocol = protocol;
    hello.isotop_version = crate::host::text::clean_str(&hello.isotop_version);
    hello.commit = crate::host::text::clean_str(&hello.commit);
    hello.host = crate::host::text::clean_str(&hello.host);
    if protocol != PROTOCOL_VERSION {
        return Err(WireError::Version {
            peer,
            theirs: protocol,
            ours: PROTOCOL_VERSION,
            their_isotop: if hello.isotop_version.is_empty() {
                String::new()
            } else {
                format!(" {}", hello.isotop_version)
            },
        });
    }
    Ok(hello)
}

/// Writes one message: length, flag, MessagePack (compressed when long).
pub fn write_message<T: Serialize>(out: &mut impl Write, message: &T) -> Result<(), WireError> {
    let payload = encode(message)?;
    let length = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l <= MAX_MESSAGE)
        .ok_or(WireError::TooLarge {
            length: payload.len() as u64,
            limit: MAX_MESSAGE.into(),
        })?;
    out.write_all(&length.to_be_bytes())?;
    out.write_all(&payload)?;
    out.flush()?;
    Ok(())
}

/// The payload of `message`: flag byte, then MessagePack, compressed when long.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let packed = rmp_serde::to_vec_named(message).map_err(|e| WireError::Encode(e.to_string()))?;
    if packed.len() <= COMPRESS_FROM {
        let mut payload = Vec::with_capacity(packed.len() + 1);
        payload.push(PLAIN);
        payload.extend_from_slice(&packed);
        return Ok(payload);
    }
    let mut payload = vec![ZSTD];
    let compressed = zstd::bulk::compress(&packed, ZSTD_LEVEL)
        .map_err(|e| WireError::Encode(format!("zstd: {e}")))?;
    payload.extend_from_slice(&compressed);
    Ok(payload)
}

/// Reads one message; [`WireError::Closed`] when the stream ended between messages.
pub fn read_message<T: DeserializeOwned>(input: &mut impl Read) -> Result<T, WireError> {
    let mut length = [0u8; 4];
    match read_full(input, &mut length)? {
        0 => return Err(WireError::Closed),
        4 => {}
        got => {
            return Err(WireError::Truncated {
                got: got as u64,
                want: 4,
            });
        }
    }
    let length = u32::from_be_bytes(length);
    if length > MAX_MESSAGE {
        return Err(WireError::TooLarge {
            length: length.into(),
            limit: MAX_MESSAGE.into(),
        });
    }
    let payload = read_exact_counted(input, length as usize)?;
    decode(&payload)
}

/// A message from its payload (flag byte and MessagePack).
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    let (flag, body) = payload
        .split_first()
        .ok_or_else(|| WireError::Decode("an empty message".to_string()))?;
    let undecodable = |e: rmp_serde::decode::Error| WireError::Decode(e.to_string());
    match *flag {
        PLAIN => rmp_serde::from_slice(body).map_err(undecodable),
        ZSTD => {
            let decoder = zstd::stream::read::Decoder::new(body)
                .map_err(|e| WireError::Decode(format!("zstd: {e}")))?;
            let mut packed = Vec::new();
            decoder
                .take(MAX_DECODED + 1)
                .read_to_end(&mut packed)
                .map_err(|e| WireError::Decode(format!("zstd: {e}")))?;
            if packed.len() as u64 > MAX_DECODED {
                return Err(WireError::TooLarge {
                    length: packed.len() as u64,
                    limit: MAX_DECODED,
                });
            }
            rmp_serde::from_slice(&packed).map_err(undecodable)
        }
        other => Err(WireError::Decode(format!(
            "unknown payload flag {other} (neither plain nor zstd)"
        ))),
    }
}

fn read_u32(input: &mut impl Read) -> Result<u32, WireError> {
    let bytes = read_exact_counted(input, 4)?;
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes);
    Ok(u32::from_be_bytes(word))
}

/// Exactly `want` bytes, read in pieces as they come (the buffer grows as bytes arrive, so a
/// length that lies costs no more memory than the bytes actually sent).
fn read_exact_counted(input: &mut impl Read, want: usize) -> Result<Vec<u8>, WireError> {
    let mut buffer = Vec::with_capacity(want.min(1 << 20));
    let got = input.take(want as u64).read_to_end(&mut buffer)?;
    if got < want {
        return Err(WireError::Truncated {
            got: got as u64,
            want: want as u64,
        });
    }
    Ok(buffer)
}

/// Fills `buffer` as far as the stream goes; the count read (less only at its end).
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> Result<usize, WireError> {
    let mut got = 0;
    while got < buffer.len() {
        match input.read(&mut buffer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}
