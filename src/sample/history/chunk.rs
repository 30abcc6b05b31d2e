//! A closed run of points stored columnwise, losslessly: the first time in full, the others
//! as varint delta-of-deltas (a steady 1 s tick is one byte a point); each of the 16 figure
//! columns either one word (the figure did not change in the whole chunk; no word at all when
//! it is zero or missing, an idle container's usual figures) or a bitmap "this
//! point differs from the one before" followed by only the words that changed — kept as raw
//! 8-byte words or as varint zigzag deltas, whichever is shorter for that column. Decoding
//! gives back every figure bit for bit (NaN payloads included), so readers see exactly the
//! points that were recorded. The bytes are only ever written by [`Chunk::encode`]; reading
//! them never panics (a malformed chunk, which would be a bug here, decodes as empty).

use super::packed::{COLUMNS, Packed};

/// Points a chunk closes at. 32, not 60: the open chunk is kept unpacked (136 B a point),
/// so a shorter one caps that part of a busy series at ~4.3 KiB, while a closed idle chunk
/// still costs only ~60–180 B (31 one-byte time steps, 16 constant columns of 1 byte when
/// zero or missing, else 9).
pub(super) const CHUNK: usize = 32;

/// A column the same in every point: one word follows.
const CONSTANT: u8 = 0;
/// A column the same in every point and that word one of [`COMMON`]: the mode byte alone,
/// `COMMON_FIRST + its index`.
const COMMON_FIRST: u8 = 3;

/// The constant words a column holds most: zero (a count of 0, a rate of 0.0), a missing
/// count (`u64::MAX`) and a missing float (NaN) — 8 bytes each of an idle chunk otherwise.
const COMMON: [u64; 3] = [0, u64::MAX, f64::NAN.to_bits()];

/// Bitmap, then the changed words as 8 little-endian bytes each.
const RAW: u8 = 1;
/// Bitmap, then the first word as a varint and each changed word as a varint zigzag delta
/// from the word before it.
const DELTAS: u8 = 2;

/// An encoded run of 1..=[`CHUNK`] points.
#[derive(Debug, Clone)]
pub(super) struct Chunk {
    first_ms: u64,
    len: u16,
    bytes: Box<[u8]>,
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).max(1).div_ceil(7)
}

/// A cursor over a chunk's bytes; every read is checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn word(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        Some(u64::from_le_bytes(s.try_into().ok()?))
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// Whether point `i` differs from point `i - 1` in a column's bitmap.
fn changed(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn encode_column(out: &mut Vec<u8>, words: &[u64]) {
    let Some(&first) = words.first() else {
        return;
    };
    if words.iter().all(|&w| w == first) {
        if let Some(common) = COMMON.iter().position(|&word| word == first) {
            // At most 3 entries: fits.
            out.push(COMMON_FIRST + common as u8);
            return;
        }
        out.push(CONSTANT);
        out.extend_from_slice(&first.to_le_bytes());
        return;
    }
    let mut bitmap = vec![0u8; words.len().div_ceil(8)];
    let (mut raw_len, mut deltas_len) = (8, varint_len(first));
    for (i, pair) in words.windows(2).enumerate() {
        if pair[1] != pair[0] {
            bitmap[(i + 1) / 8] |= 1 << ((i + 1) % 8);
            raw_len += 8;
            deltas_len += varint_len(zigzag(pair[1].wrapping_sub(pair[0]) as i64));
        }
    }
    let mode = if deltas_len < raw_len { DELTAS } else { RAW };
    out.push(mode);
    out.extend_from_slice(&bitmap);
    if mode == RAW {
        out.extend_from_slice(&first.to_le_bytes());
    } else {
        put_varint(out, first);
    }
    for pair in words.windows(2).filter(|pair| pair[1] != pair[0]) {
        if mode == RAW {
            out.extend_from_slice(&pair[1].to_le_bytes());
        } else {
            put_varint(out, zigzag(pair[1].wrapping_sub(pair[0]) as i64));
        }
    }
}

impl Chunk {
    /// Encodes `points` (at most [`CHUNK`]; `None` when there are none).
    pub(super) fn encode(points: &[Packed]) -> Option<Chunk> {
        let first = points.first()?;
        let len = u16::try_from(points.len()).ok()?;
        let mut bytes = Vec::with_capacity(points.len() * 2 + COLUMNS * 9);
        // Times: delta-of-deltas, wrapping, so a clock step backwards still round-trips.
        let (mut prev_t, mut prev_delta) = (first.t_ms, 0u64);
        for p in &points[1..] {
            let delta = p.t_ms.wrapping_sub(prev_t);
            put_varint(&mut bytes, zigzag(delta.wrapping_sub(prev_delta) as i64));
            (prev_t, prev_delta) = (p.t_ms, delta);
        }
        let rows: Vec<[u64; COLUMNS]> = points.iter().map(Packed::columns).collect();
        let mut words = Vec::with_capacity(rows.len());
        for column in 0..COLUMNS {
            words.clear();
            words.extend(rows.iter().map(|row| row[column]));
            encode_column(&mut bytes, &words);
        }
        Some(Chunk {
            first_ms: first.t_ms,
            len,
            bytes: bytes.into_boxed_slice(),
        })
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Heap bytes it holds (its encoded bytes).
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The points' times, oldest first, decoding nothing else.
    pub(super) fn times(&self) -> impl Iterator<Item = u64> + '_ {
        let mut reader = Reader {
            bytes: &self.bytes,
            at: 0,
        };
        let (mut t, mut delta) = (self.first_ms, 0u64);
        let rest = (1..self.len()).map_while(move |_| {
            delta = delta.wrapping_add(unzigzag(reader.varint()?) as u64);
            t = t.wrapping_add(delta);
            Some(t)
        });
        std::iter::once(self.first_ms).chain(rest)
    }

    /// All its points, oldest first.
    pub(super) fn decode(&self) -> Vec<Packed> {
        let decoded = self.try_decode();
        debug_assert!(decoded.is_some(), "a chunk this module encoded decodes");
        decoded.unwrap_or_default()
    }

    fn try_decode(&self) -> Option<Vec<Packed>> {
        let len = self.len();
        let mut reader = Reader {
            bytes: &self.bytes,
            at: 0,
        };
        let mut times = Vec::with_capacity(len);
        times.push(self.first_ms);
        let (mut t, mut delta) = (self.first_ms, 0u64);
        for _ in 1..len {
            delta = delta.wrapping_add(unzigzag(reader.varint()?) as u64);
            t = t.wrapping_add(delta);
            times.push(t);
        }
        let mut rows = vec![[0u64; COLUMNS]; len];
        for column in 0..COLUMNS {
            let mode = reader.byte()?;
            if mode == CONSTANT || mode >= COMMON_FIRST {
                let word = match mode.checked_sub(COMMON_FIRST) {
                    Some(common) => *COMMON.get(usize::from(common))?,
                    None => reader.word()?,
                };
                rows.iter_mut().for_each(|row| row[column] = word);
                continue;
            }
            let bitmap = reader.take(len.div_ceil(8))?;
            let mut word = 0u64;
            for (i, row) in rows.iter_mut().enumerate() {
                if i == 0 {
                    word = if mode == RAW {
                        reader.word()?
                    } else {
                        reader.varint()?
                    };
                } else if changed(bitmap, i) {
                    word = match mode {
                        RAW => reader.word()?,
                        DELTAS => word.wrapping_add(unzigzag(reader.varint()?) as u64),
                        _ => return None,
                    };
                }
                row[column] = word;
            }
        }
        (reader.at == self.bytes.len()).then(|| {
            times
                .iter()
                .zip(&rows)
                .map(|(&t, row)| Packed::from_columns(t, row))
                .collect()
        })
    }
}
