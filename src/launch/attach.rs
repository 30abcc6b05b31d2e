//! The attach protocol between a foreground `isotop run` and the container's supervisor, over
//! one Unix stream socket (a `socketpair` made by the CLI; the supervisor gets its end as
//! `--attach-fd N`).
//!
//! Every message is a frame: one kind byte, a big-endian `u32` length, then that many bytes
//! (at most [`MAX_FRAME`]).
//!
//! | kind | direction | data |
//! |---|---|---|
//! | 1 `Stdout` | supervisor → CLI | the container's stdout bytes (with a tty: the terminal's output) |
//! | 2 `Stderr` | supervisor → CLI | the container's stderr bytes |
//! | 3 `Exit` | supervisor → CLI | `i32` BE: the exit code (128 + signal), sent after clean-up |
//! | 16 `Stdin` | CLI → supervisor | bytes for the container's stdin (`-i`) |
//! | 17 `StdinClose` | CLI → supervisor | the CLI's stdin ended: close the container's |
//! | 18 `Winsize` | CLI → supervisor | `u16` rows, `u16` cols, BE (`-t`; first frame, then on SIGWINCH) |
//! | 19 `Signal` | CLI → supervisor | `i32` BE signal number to forward to the container's init |
//!
//! Either side going away is normal: the supervisor keeps running and logging when the CLI
//! dies; the CLI reports a supervisor that ended without an `Exit` frame.

pub mod client;
pub mod terminal;

use std::io::{Read, Write};

/// The largest frame accepted, in bytes (the relays send at most 64 KiB at a time).
pub const MAX_FRAME: usize = 1 << 20;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stdout = 1,
    Stderr = 2,
    Exit = 3,
    Stdin = 16,
    StdinClose = 17,
    Winsize = 18,
    Signal = 19,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Stdout,
            2 => Kind::Stderr,
            3 => Kind::Exit,
            16 => Kind::Stdin,
            17 => Kind::StdinClose,
            18 => Kind::Winsize,
            19 => Kind::Signal,
            _ => return None,
        })
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub data: Vec<u8>,
}

impl Frame {
    pub fn new(kind: Kind, data: &[u8]) -> Frame {
        Frame {
            kind,
            data: data.to_vec(),
        }
    }

    pub fn exit(code: i32) -> Frame {
        Frame::new(Kind::Exit, &code.to_be_bytes())
    }

    pub fn signal(number: i32) -> Frame {
        Frame::new(Kind::Signal, &number.to_be_bytes())
    }

    pub fn winsize(rows: u16, cols: u16) -> Frame {
        let mut data = rows.to_be_bytes().to_vec();
        data.extend_from_slice(&cols.to_be_bytes());
        Frame::new(Kind::Winsize, &data)
    }

    /// The `i32` of an `Exit` or `Signal` frame.
    pub fn number(&self) -> Option<i32> {
        let bytes: [u8; 4] = self.data.as_slice().try_into().ok()?;
        Some(i32::from_be_bytes(bytes))
    }

    /// (rows, cols) of a `Winsize` frame.
    pub fn size(&self) -> Option<(u16, u16)> {
        match self.data.as_slice() {
            [r0, r1, c0, c1] => Some((
                u16::from_be_bytes([*r0, *r1]),
                u16::from_be_bytes([*c0, *c1]),
            )),
            _ => None,
        }
    }

    /// The frame as sent: kind, length, data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.data.len());
        out.push(self.kind as u8);
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Sends the frame in one `write_all`.
    pub fn send(&self, to: &mut impl Write) -> std::io::Result<()> {
        to.write_all(&self.encode())
    }
}

/// Collects bytes from a stream and cuts them into frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buffer: Vec<u8>,
}

/// What one read from the socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Complete frames (maybe none: a frame arrived in part).
    Frames(Vec<Frame>),
    /// The other side closed the socket.
    Closed,
}

impl FrameReader {
    /// Reads once from `from` (which should be readable) and returns the frames completed.
    /// A frame of unknown kind or over [`MAX_FRAME`] is a protocol error (`InvalidData`).
    pub fn read_from(&mut self, from: &mut impl Read) -> std::io::Result<ReadOutcome> {
        let mut chunk = [0u8; 64 * 1024];
        let n = loop {
            match from.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return Ok(ReadOutcome::Frames(Vec::new()));
                }
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Ok(ReadOutcome::Closed);
        }
        self.push(&chunk[..n]).map(ReadOutcome::Frames)
    }

    /// Adds bytes and returns every frame now complete.
    pub fn push(&mut self, bytes: &[u8]) -> std::io::Result<Vec<Frame>> {
        self.buffer.extend_from_slice(bytes);
        let mut frames = Vec::new();
        loop {
            if self.buffer.len() < 5 {
                return Ok(frames);
            }
            let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
            let kind = Kind::from_byte(self.buffer[0])
                .ok_or_else(|| bad(format!("unknown attach frame kind {}", self.buffer[0])))?;
            let len = u32::from_be_bytes([
                self.buffer[1],
                self.buffer[2],
                self.buffer[3],
                self.buffer[4],
            ]) as usize;
            if len > MAX_FRAME {
                return Err(bad(format!(
                    "attach frame of {len} bytes (at most {MAX_FRAME})"
                )));
            }
            if self.buffer.len() < 5 + len {
                return Ok(frames);
            }
            let data = self.buffer[5..5 + len].to_vec();
            self.buffer.drain(..5 + len);
            frames.push(Frame { kind, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let frames = [
            Frame::new(Kind::Stdout, b"hello\n"),
            Frame::exit(137),
            Frame::winsize(40, 120),
            Frame::new(Kind::StdinClose, b""),
            Frame::signal(15),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.encode()).collect();
        let mut reader = FrameReader::default();
        let mut got = Vec::new();
        // One byte at a time: every split point of every frame.
        for byte in &bytes {
            got.extend(reader.push(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(got, frames);
        assert_eq!(got[1].number(), Some(137));
        assert_eq!(got[2].size(), Some((40, 120)));
        assert_eq!(got[4].number(), Some(15));
        assert_eq!(got[0].number(), None);
    }

    #[test]
    fn bad_frames_are_refused() {
        let mut reader = FrameReader::default();
        assert!(reader.push(&[99, 0, 0, 0, 0]).is_err());
        let mut reader = FrameReader::default();
        assert!(reader.push(&[1, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn a_socket_carries_frames_and_reports_closing() {
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        Frame::new(Kind::Stderr, b"oops").send(&mut a).unwrap();
        drop(a);
        let mut reader = FrameReader::default();
        assert_eq!(
            reader.read_from(&mut b).unwrap(),
            ReadOutcome::Frames(vec![Frame::new(Kind::Stderr, b"oops")])
        );
        assert_eq!(reader.read_from(&mut b).unwrap(), ReadOutcome::Closed);
    }
}
