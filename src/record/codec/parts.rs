//! A record's payload cut into its sections and each decompressed: a keyframe's alone, a
//! delta's by its mode (format 3's patch applied to the keyframe's section, the patch itself
//! compressed alone or with that section as zstd's prefix; format 2's zstd prefix). Bounded: a section is at most [`MAX_DECODED`] bytes once decompressed, and a
//! payload that does not cut or decode is an error naming the section, never a panic.

use super::{
    Kind, MODE_ALONE, MODE_PATCH, MODE_PATCH_PREFIX, MODE_PREFIX, SECTIONS, Section, patch,
};

/// The longest section accepted once decompressed, bytes (1 GiB, as `remote::wire`).
const MAX_DECODED: u64 = 1024 * 1024 * 1024;

/// The largest window a format 2 delta's back-references may span, log2 bytes (128 MiB,
/// zstd's default decoding limit): a prefix longer than this is only partly used, never misread.
const WINDOW_LOG_MAX: u32 = 27;

/// A record's payload cut into its compressed sections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    /// A delta's keyframe ([`super::base_id`]); `None` for a keyframe.
    pub(crate) base: Option<u32>,
    /// Each section present (format 2 has four), with its mode (a keyframe's: alone).
    sections: [Option<(u8, &'a [u8])>; SECTIONS],
}

impl<'a> Parts<'a> {
    /// Cuts a payload of `kind` in store format `version` (`format::READABLE`).
    pub(crate) fn of(version: u32, kind: Kind, payload: &'a [u8]) -> Result<Parts<'a>, String> {
        let (base, mut rest) = match kind {
            Kind::Keyframe => (None, payload),
            Kind::Delta => {
                let (id, rest) = payload
                    .split_first_chunk::<4>()
                    .ok_or("a delta shorter than its base's id")?;
                (Some(u32::from_be_bytes(*id)), rest)
            }
        };
        let (count, modes): (usize, &[u8]) = if version == 2 {
            (4, &[MODE_ALONE, MODE_PREFIX])
        } else {
            (SECTIONS, &[MODE_ALONE, MODE_PATCH, MODE_PATCH_PREFIX])
        };
        let mut sections: [Option<(u8, &[u8])>; SECTIONS] = [None; SECTIONS];
        for (index, slot) in sections.iter_mut().enumerate().take(count) {
            let mode = match base {
                None => MODE_ALONE,
                Some(_) => {
                    let (mode, after) = rest
                        .split_first()
                        .ok_or_else(|| format!("section {index} has no mode"))?;
                    rest = after;
                    if !modes.contains(mode) {
                        return Err(format!("section {index} has mode {mode}"));
                    }
                    *mode
                }
            };
            let (len, after) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| format!("section {index} has no length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            if len > after.len() {
                return Err(format!(
                    "section {index} says {len} bytes, {} are left",
                    after.len()
                ));
            }
            let (section, after) = after.split_at(len);
            *slot = Some((mode, section));
            rest = after;
        }
        if !rest.is_empty() {
            return Err(format!("{} bytes after the last section", rest.len()));
        }
        Ok(Parts { base, sections })
    }

    /// Each section present, compressed as the payload holds it (a slice of it), in order.
    pub(crate) fn compressed(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.sections.iter().flatten().map(|(_, bytes)| *bytes)
    }

    /// `section`, decompressed (`None`: a format without it); a delta's against `base`, the same
    /// section of its keyframe decompressed.
    pub(crate) fn unpack(
        &self,
        section: Section,
        base: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, String> {
        let Some((mode, data)) = self.sections[section as usize] else {
            return Ok(None);
        };
        match (mode, base) {
            (MODE_ALONE, _) => decompress(data, None),
            (_, None) => Err("a delta decoded without its keyframe".to_string()),
            (MODE_PREFIX, Some(prefix)) => decompress(data, Some(prefix)),
            (MODE_PATCH_PREFIX, Some(base)) => {
                decompress(data, Some(base)).and_then(|p| patch::apply(base, &p))
            }
            (_, Some(base)) => decompress(data, None).and_then(|p| patch::apply(base, &p)),
        }
        .map(Some)
        .map_err(|e| format!("section {section:?}: {e}"))
    }
}

fn decompress(data: &[u8], prefix: Option<&[u8]>) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::{DCtx, DParameter, get_frame_content_size};
    let size = match get_frame_content_size(data) {
        Ok(Some(size)) if size <= MAX_DECODED => size,
        Ok(Some(size)) => {
            return Err(format!(
                "{size} bytes once decompressed, over the limit of {MAX_DECODED}"
            ));
        }
        // A keyframe's sections are streamed: their size is not in the frame.
        Ok(None) if prefix.is_none() => return decompress_stream(data),
        Ok(None) => return Err("a zstd frame without its size".to_string()),
        Err(_) => return Err("not a zstd frame".to_string()),
    };
    let size = usize::try_from(size).map_err(|e| e.to_string())?;
    let mut context = DCtx::try_create().ok_or("zstd could not make a context")?;
    let zstd_err = |code| zstd::zstd_safe::get_error_name(code).to_string();
    context
        .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
        .map_err(zstd_err)?;
    if let Some(prefix) = prefix {
        context.ref_prefix(prefix).map_err(zstd_err)?;
    }
    let mut out = Vec::new();
    out.try_reserve_exact(size).map_err(|e| e.to_string())?;
    context.decompress(&mut out, data).map_err(zstd_err)?;
    if out.len() != size {
        return Err(format!("{} bytes decompressed, {size} recorded", out.len()));
    }
    Ok(out)
}

/// A zstd frame of unrecorded size, at most [`MAX_DECODED`] bytes once decompressed (its
/// checksum checked at its end).
fn decompress_stream(data: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut decoder = zstd::stream::read::Decoder::with_buffer(data).map_err(|e| e.to_string())?;
    decoder
        .window_log_max(WINDOW_LOG_MAX)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    decoder
        .single_frame()
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > MAX_DECODED {
        return Err(format!(
            "over the limit of {MAX_DECODED} bytes once decompressed"
        ));
    }
    Ok(out)
}
