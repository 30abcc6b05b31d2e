//! Fuzzes the layer unpacker with arbitrary tar streams.
//!
//! Input: one mode byte, then the layer blob. Mode (low two bits):
//! - 0: `unpack_layer` as root (owners, device nodes, whiteouts, opaque xattrs);
//! - 1: `unpack_layer` with non-root privileges (what an unprivileged isotop does);
//! - 2: the whole cache path, `LayerCache::ensure_layer` (digest pass, gzip sniffed from the
//!   bytes, hashing, bounds, meta record, rename into the cache);
//! - 3: as 2, with the rest of the input gzip-compressed first (so the fuzzer's tar goes
//!   through the decompressor).
//!
//! Each input unpacks into a fresh directory beside the jail's sentinels, with small limits.
//! A crash is a panic in isotop, or a broken invariant: anything outside the destination
//! changed or appeared, more entries unpacked than the limit allows, or (cache path) a failed
//! unpack that left something in the cache.
#![no_main]

use std::io::{Cursor, Read, Write};

use isotop::launch::image::layer::{Compression, LayerBlob, LayerCache};
use isotop::launch::image::unpack::{Privileges, UnpackLimits, unpack_layer};
use isotop_fuzz::{Jail, remove_tree};
use libfuzzer_sys::fuzz_target;

/// Small bounds: a run cannot fill the jail, and the limits themselves get exercised.
const LIMITS: UnpackLimits = UnpackLimits {
    max_bytes: 16 << 20,
    max_entries: 1000,
};

fuzz_target!(|data: &[u8]| {
    let jail = Jail::enter();
    let Some((&mode, blob)) = data.split_first() else {
        return;
    };
    match mode & 3 {
        0 => unpack_direct(jail, blob, Privileges { root: true }),
        1 => unpack_direct(jail, blob, Privileges { root: false }),
        2 => unpack_cached(jail, blob.to_vec()),
        _ => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(blob).expect("gzip into memory");
            unpack_cached(jail, gz.finish().expect("gzip into memory"));
        }
    }
});

fn unpack_direct(jail: &Jail, blob: &[u8], privileges: Privileges) {
    let dest = jail.fresh("layer");
    std::fs::create_dir(&dest).expect("make the destination");
    let result = unpack_layer(Cursor::new(blob), &dest, "fuzz", privileges, LIMITS);
    jail.check_outside("unpack_layer", &dest);
    if isotop_fuzz::verbose() {
        eprintln!("unpack_layer: {result:?}");
    }
    if let Ok(report) = &result {
        assert!(
            report.entries <= LIMITS.max_entries,
            "unpacked {} entries past the limit of {}",
            report.entries,
            LIMITS.max_entries
        );
    }
    remove_tree(&dest);
}

fn unpack_cached(jail: &Jail, blob: Vec<u8>) {
    let root = jail.fresh("cache");
    let cache = LayerCache::new(&root).with_limits(LIMITS);
    let open = || -> Result<Box<dyn Read>, isotop::launch::ImageError> {
        Ok(Box::new(Cursor::new(blob.clone())))
    };
    let layer = LayerBlob {
        name: "fuzz".into(),
        expected: None,
        diff_id: None,
        compression: Compression::Sniff,
        open: &open,
    };
    let result = cache.ensure_layer(&layer);
    jail.check_outside("LayerCache::ensure_layer", &root);
    if isotop_fuzz::verbose() {
        eprintln!("ensure_layer: {result:?}");
    }
    match &result {
        Ok(dir) => assert!(
            dir.starts_with(root.join("sha256")) && dir.is_dir(),
            "the layer is not a directory in the cache: {}",
            dir.display()
        ),
        Err(_) => {
            // A failed unpack leaves nothing behind: no temporary directory, no layer.
            for sub in ["tmp", "sha256"] {
                let left: Vec<_> = std::fs::read_dir(root.join(sub))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                assert!(left.is_empty(), "a failed unpack left {left:?}");
            }
        }
    }
    remove_tree(&root);
}
