//! Hostile layer tars against the unpacker's bounds and odd formats (issue 9): GNU sparse
//! members written by real GNU tar come back byte for byte with their holes; the size and
//! entry limits stop a layer with an error naming the limit; headers (long names, PAX
//! records, global headers) past 16 MiB are refused without being read whole; a corrupt
//! header is reported without quoting its bytes; names no real image holds are refused; and
//! skipped entries are counted, only the first few named.

use crate::support::{archives, common};

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use archives::{Raw, assert_cache_clean, gzip, raw_tar};
use isotop::launch::image::unpack::{
    MAX_BYTES_ENV, MAX_ENTRIES_ENV, Privileges, UnpackLimits, UnpackReport, unpack_layer,
};
use isotop::launch::{ImageError, ImageSource, LayerCache};

/// Unpacks `stream` straight into a fresh directory within `limits`.
fn unpack(
    stream: impl Read,
    limits: UnpackLimits,
) -> (tempfile::TempDir, Result<UnpackReport, ImageError>) {
    let dest = tempfile::tempdir().unwrap();
    let result = unpack_layer(
        stream,
        dest.path(),
        "test layer",
        Privileges::current(),
        limits,
    );
    (dest, result)
}

/// A sparse file: holes at the start, between and after three stretches of data.
fn sparse_source(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("sparse.bin");
    let size = 8 * 1024 * 1024 + 123;
    let mut content = vec![0u8; size];
    for (at, len) in [(1 << 20, 4096), (5 << 20, 10_000), (size - 7, 7)] {
        for (i, byte) in content[at..at + len].iter_mut().enumerate() {
            *byte = (i % 251) as u8 + 1;
        }
    }
    let file = fs::File::create(&path).unwrap();
    file.set_len(size as u64).unwrap();
    for (at, len) in [(1 << 20, 4096), (5 << 20, 10_000), (size - 7, 7)] {
        std::os::unix::fs::FileExt::write_all_at(&file, &content[at..at + len], at as u64).unwrap();
    }
    assert!(
        file.metadata().unwrap().blocks() * 512 < size as u64 / 4,
        "the test file system keeps no holes"
    );
    (path, content)
}

fn gnu_tar(dir: &Path, out: &Path, args: &[&str], name: &str) {
    let status = Command::new("tar")
        .args(args)
        .arg("-cf")
        .arg(out)
        .arg("-C")
        .arg(dir)
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success(), "tar {args:?} failed");
}

#[test]
#[ignore = "needs root"]
fn gnu_sparse_members_come_back_byte_for_byte_with_their_holes() {
    if !common::require_program("tar") {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    let (_, content) = sparse_source(source.path());
    for format in [
        &["--sparse"][..],
        &["--sparse", "--format=posix"],
        &["--sparse", "--format=posix", "--sparse-version=0.1"],
        &["--sparse", "--format=posix", "--sparse-version=0.0"],
    ] {
        let work = tempfile::tempdir().unwrap();
        let archive = work.path().join("sparse.tar");
        gnu_tar(source.path(), &archive, format, "sparse.bin");
        let layers = LayerCache::new(work.path().join("cache"))
            .prepare(&ImageSource::RootfsTarball(archive.into()))
            .unwrap_or_else(|e| panic!("tar {format:?}: {e}"))
            .layers;
        let unpacked = layers[0].join("sparse.bin");
        let got = fs::read(&unpacked)
            .unwrap_or_else(|e| panic!("tar {format:?}: sparse.bin not unpacked: {e}"));
        assert!(got == content, "tar {format:?}: content differs");
        let meta = fs::metadata(&unpacked).unwrap();
        assert!(
            meta.blocks() * 512 < meta.len() / 4,
            "tar {format:?}: holes filled ({} of {} bytes allocated)",
            meta.blocks() * 512,
            meta.len()
        );
        assert_eq!(names(&layers[0]), ["sparse.bin"], "tar {format:?}");
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names = archives::names_in(dir);
    names.sort();
    names
}

#[test]
#[ignore = "needs root"]
fn a_sparse_file_of_a_terabyte_stops_at_the_size_limit() {
    if !common::require_program("tar") {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    let big = fs::File::create(source.path().join("big")).unwrap();
    big.set_len(1 << 40).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&big, b"end", (1 << 40) - 3).unwrap();
    for format in [&["--sparse"][..], &["--sparse", "--format=posix"]] {
        let work = tempfile::tempdir().unwrap();
        let archive = work.path().join("bomb.tar");
        gnu_tar(source.path(), &archive, format, "big");
        assert!(fs::metadata(&archive).unwrap().len() < 1 << 20);
        let started = std::time::Instant::now();
        let error = LayerCache::new(work.path().join("cache"))
            .prepare(&ImageSource::RootfsTarball(archive.into()))
            .expect_err("a 1 TiB file is past the default 32 GiB");
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::LimitExceeded { .. }),
            "tar {format:?}: {message}"
        );
        assert!(
            message.contains("32 GiB") && message.contains(MAX_BYTES_ENV),
            "{message}"
        );
        assert_cache_clean(&work.path().join("cache"));
        eprintln!("tar {format:?}: refused in {:?}", started.elapsed());
    }
}

#[test]
fn the_entry_limit_stops_the_unpack_and_says_how_to_raise_it() {
    let files: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let entries: Vec<Raw<'_>> = files.iter().map(|n| Raw::file(n, b"x")).collect();
    let tar = raw_tar(&entries);
    let limits = |max_entries| UnpackLimits {
        max_entries,
        ..UnpackLimits::default()
    };
    let (dest, result) = unpack(&tar[..], limits(9));
    let error = result.expect_err("10 entries are past a limit of 9");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. }),
        "{message}"
    );
    assert!(
        message.contains("entry limit of 9") && message.contains(MAX_ENTRIES_ENV),
        "{message}"
    );
    assert!(
        !dest.path().join("f9").exists(),
        "the entry past the limit was written"
    );
    let (_, result) = unpack(&tar[..], limits(10));
    assert_eq!(result.unwrap().entries, 10);
}

#[test]
fn the_size_limit_stops_a_large_file_before_it_is_written() {
    let big = vec![7u8; (2 << 20) + 1];
    let tar = raw_tar(&[Raw::file("small", b"ok"), Raw::file("big", &big)]);
    let limits = UnpackLimits {
        max_bytes: 2 << 20,
        ..UnpackLimits::default()
    };
    let (dest, result) = unpack(&tar[..], limits);
    let error = result.expect_err("2 MiB + 1 byte is past a 2 MiB limit");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. }),
        "{message}"
    );
    assert!(
        message.contains("size limit of 2 MiB") && message.contains(MAX_BYTES_ENV),
        "{message}"
    );
    assert!(message.contains("big"), "names the entry: {message}");
    assert!(
        !dest.path().join("big").exists(),
        "the file was written anyway"
    );
}

#[test]
fn the_size_limit_bounds_the_decompressed_stream_past_the_tar_end() {
    // A small valid layer, then 64 MiB of zeros after its end-of-archive blocks: gzip turns
    // them into a few KiB, so the blob is tiny and the unpack must still stop.
    let mut stream = raw_tar(&[Raw::file("f", b"data")]);
    stream.resize(stream.len() + (64 << 20), 0);
    let blob = gzip(&stream);
    assert!(blob.len() < 1 << 20);
    let limits = UnpackLimits {
        max_bytes: 16 << 20,
        ..UnpackLimits::default()
    };
    let (_dest, result) = unpack(flate2::read::MultiGzDecoder::new(&blob[..]), limits);
    let error = result.expect_err("64 MiB decompressed is past a 16 MiB limit");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. })
            && message.contains("decompresses to more than 16 MiB"),
        "{message}"
    );
}

#[test]
fn a_huge_long_name_is_refused_without_being_held_in_memory() {
    let name = vec![b'a'; 17 << 20];
    let tar = raw_tar(&[
        Raw::new(tar::EntryType::GNULongName, "././@LongLink").data(&name),
        Raw::file("short", b"x"),
    ]);
    let (_dest, result) = unpack(&tar[..], UnpackLimits::default());
    let error = result.expect_err("a 17 MiB name");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::Corrupt { .. }) && message.contains("16 MiB of headers"),
        "{message}"
    );
}

#[test]
fn names_no_real_image_holds_are_refused() {
    let long_component = "c".repeat(256);
    let deep = "d/".repeat(257) + "f";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"nul\0inside".to_vec(), "NUL"),
        (long_component.into_bytes(), "NAME_MAX"),
        (deep.into_bytes(), "deep"),
        (b"../../escape".to_vec(), ".."),
    ];
    for (name, why) in cases {
        // Through a PAX `path` record, which overrides the header's own (harmless) name.
        let tar = raw_tar(&[Raw::file("innocent", b"x").pax("path", &name)]);
        let (dest, result) = unpack(&tar[..], UnpackLimits::default());
        let error = result.expect_err(why);
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::UnsafeEntry { .. }) && message.contains(why),
            "{why}: {message}"
        );
        assert!(
            archives::names_in(dest.path()).is_empty(),
            "{why}: wrote something"
        );
    }
}

/// A tar of one header-only entry of `kind` and `size` bytes of zeros (`magic` GNU or old
/// v7, which the tar reader does not merge into the next entry), then a small file.
fn metadata_entry_tar(kind: tar::EntryType, size: usize, gnu_magic: bool) -> Vec<u8> {
    let mut header = if gnu_magic {
        tar::Header::new_gnu()
    } else {
        tar::Header::new_old()
    };
    header.set_path("pax_global_header").unwrap();
    header.set_entry_type(kind);
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &vec![0u8; size][..]).unwrap();
    let mut after = tar::Header::new_gnu();
    after.set_path("after").unwrap();
    after.set_size(1);
    after.set_mode(0o644);
    after.set_cksum();
    builder.append(&after, &b"x"[..]).unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn a_pax_global_header_past_the_header_bound_is_refused_not_read_whole() {
    let over = (16 << 20) + 1;
    for (kind, gnu_magic) in [
        (tar::EntryType::XGlobalHeader, true),
        (tar::EntryType::XHeader, false),
        (tar::EntryType::GNULongName, false),
    ] {
        let (_dest, result) = unpack(
            &metadata_entry_tar(kind, over, gnu_magic)[..],
            UnpackLimits::default(),
        );
        let error = result.expect_err("a 16 MiB + 1 header entry");
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::UnsafeEntry { .. })
                && message.contains("more than 16 MiB of headers"),
            "{kind:?}: {message}"
        );
    }
    // A real-sized global header is skipped and the layer unpacks.
    let (dest, result) = unpack(
        &metadata_entry_tar(tar::EntryType::XGlobalHeader, 52, true)[..],
        UnpackLimits::default(),
    );
    result.expect("a small global header");
    assert_eq!(fs::read(dest.path().join("after")).unwrap(), b"x");
}

#[test]
fn a_corrupt_header_is_reported_without_quoting_its_bytes() {
    // A header block holding a line of /etc/shadow, its checksum and mode fields not numbers.
    let secret = b"root:$6$SECRETSALT$hash:19000:0:99999:7:::";
    let mut block = [0u8; 512];
    block[..secret.len()].copy_from_slice(secret);
    block[148..156].copy_from_slice(b"SECRETSA");
    let mut stream = raw_tar(&[Raw::file("first", b"x")]);
    stream.truncate(1024);
    stream.extend_from_slice(&block);
    stream.extend_from_slice(&[0u8; 1024]);
    let (_dest, result) = unpack(&stream[..], UnpackLimits::default());
    let message = result.expect_err("a corrupt header").to_string();
    assert!(!message.contains("SECRET"), "{message}");
    assert!(message.contains("test layer is corrupt"), "{message}");
    // The same line as a mode field of a header whose checksum is right.
    let mut header = tar::Header::new_gnu();
    header.set_path("f").unwrap();
    header.set_size(0);
    header.as_old_mut().mode.copy_from_slice(b"SECRETS\0");
    header.set_cksum();
    let mut stream = header.as_bytes().to_vec();
    stream.extend_from_slice(&[0u8; 1024]);
    let (_dest, result) = unpack(&stream[..], UnpackLimits::default());
    let message = result.expect_err("a bad mode").to_string();
    assert!(!message.contains("SECRET"), "{message}");
}

#[test]
fn skipped_entries_are_counted_and_only_the_first_few_named() {
    let names: Vec<String> = (0..100).map(|i| format!("{}{i}", "z".repeat(90))).collect();
    let entries: Vec<Raw<'_>> = names
        .iter()
        .map(|name| Raw::new(tar::EntryType::new(b'Z'), name))
        .collect();
    let (_dest, result) = unpack(&raw_tar(&entries)[..], UnpackLimits::default());
    let report = result.expect("unknown entry types are skipped");
    assert_eq!(report.skipped.len(), 20, "{:?}", report.skipped);
    assert_eq!(report.skipped_total, 100);
    assert!(
        report.skipped[0].starts_with(&names[0]),
        "{:?}",
        report.skipped[0]
    );
}
