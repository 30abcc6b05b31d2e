#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ (committed; bench/fuzz.sh copies them
into the working corpus). Run from anywhere: python3 fuzz/make_seeds.py

Seeds are small, valid inputs in each target's format (see the target's module doc), so the
fuzzer starts past syntax: real tar layers (every entry type, GNU long names, PAX, sparse
files, whiteouts, and the hostile orders of issue 9), docker-save and OCI image bundles with
digest placeholders, and the runtime files of tests/fixtures/runtimes.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "runtimes")
SEPARATOR = b"\n%%%%\n"
# The jail's sentinels (fuzz/src/lib.rs): a layer unpacks to /scratch/layer-<n>.
OUTSIDE_ABS = "/scratch/outside"
OUTSIDE_REL = "../outside"


def reset(target):
    path = os.path.join(SEEDS, target)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(target_dir, name, data):
    with open(os.path.join(target_dir, name), "wb") as f:
        f.write(data)


class Tar:
    """A tar built entry by entry, in the order given (hostile orders included)."""

    def __init__(self, fmt=tarfile.GNU_FORMAT):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=fmt)

    def add(self, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", **kw):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = 1_700_000_000
        info.linkname = link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        for k, v in kw.items():
            setattr(info, k, v)
        self.tar.addfile(info, io.BytesIO(data) if info.size else None)
        return self

    def bytes(self):
        self.tar.close()
        return trimmed(self.buf.getvalue())


def trimmed(tar):
    """The tar without the padding to a 10 KiB record: up to its two zero end blocks (small
    seeds mutate faster)."""
    end = len(tar.rstrip(b"\0"))
    end = -(-end // 512) * 512
    return tar[:end] + b"\0" * 1024


def gnu_tar(build):
    """A tar made by GNU tar from a tree `build(dir)` makes (sparse files need it)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        build(root)
        out = os.path.join(tmp, "layer.tar")
        subprocess.run(
            ["tar", "--sparse", "--format=gnu", "--mtime=@1700000000", "--owner=0",
             "--group=0", "-C", root, "-cf", out, "."],
            check=True,
        )
        with open(out, "rb") as f:
            return trimmed(f.read())


def sparse_tree(root):
    with open(os.path.join(root, "sparse.img"), "wb") as f:
        f.seek(1 << 20)
        f.write(b"data after a 1 MiB hole")
        f.seek(3 << 20)
        f.write(b"end")


def layers():
    """Layer tars: ordinary ones and the attacks issue 9 names."""
    ordinary = (
        Tar()
        .add("etc", tarfile.DIRTYPE, mode=0o755)
        .add("etc/hostname", data=b"fuzz\n")
        .add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n")
        .add("bin", tarfile.DIRTYPE, mode=0o755)
        .add("bin/sh", data=b"\x7fELF fake shell", mode=0o4755, uid=0, gid=0)
        .add("bin/ash", tarfile.LNKTYPE, link="bin/sh")
        .add("bin/dash", tarfile.SYMTYPE, link="sh")
        .add("dev", tarfile.DIRTYPE, mode=0o755)
        .add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
        .add("dev/loop0", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0)
        .add("run/fifo", tarfile.FIFOTYPE, mode=0o600)
        .add("tmp", tarfile.DIRTYPE, mode=0o1777)
        .add("home/user/.profile", data=b"export PS1='$ '\n", uid=1000, gid=1000)
        .bytes()
    )
    whiteouts = (
        Tar()
        .add("etc", tarfile.DIRTYPE)
        .add("etc/.wh.hostname")
        .add("var/cache", tarfile.DIRTYPE)
        .add("var/cache/.wh..wh..opq")
        .add("./usr/.wh.share")
        .bytes()
    )
    long_names = Tar().add("deep/" + "d" * 120 + "/" + "f" * 140, data=b"long").bytes()
    pax = (
        Tar(tarfile.PAX_FORMAT)
        .add("pax/" + "p" * 200, data=b"pax file")
        .add("pax/link", tarfile.SYMTYPE, link="t" * 300)
        .bytes()
    )
    # Issue 9, item 1: a directory with setuid/world-writable mode whose deferred metadata
    # would later be applied through a symlink that replaced it.
    dir_then_symlink = [
        Tar()
        .add("x", tarfile.DIRTYPE, mode=0o6777, uid=0, gid=0)
        .add("x", tarfile.SYMTYPE, link=target)
        .bytes()
        for target in (OUTSIDE_REL + "/secret", OUTSIDE_ABS + "/secret", OUTSIDE_ABS + "/dir")
    ]
    parent_symlink = [
        Tar()
        .add("d", tarfile.SYMTYPE, link=target)
        .add("d/inner", data=b"overwritten", mode=0o777, uid=1234)
        .add("d/new", data=b"planted")
        .bytes()
        for target in (OUTSIDE_REL + "/dir", OUTSIDE_ABS + "/dir")
    ]
    hard_links = [
        Tar().add("h", tarfile.LNKTYPE, link=target).add("h", data=b"through the link").bytes()
        for target in (OUTSIDE_REL + "/secret", OUTSIDE_ABS + "/secret", "../../etc/shadow")
    ]
    symlink_then_file = (
        Tar()
        .add("link", tarfile.SYMTYPE, link=OUTSIDE_ABS + "/secret")
        .add("link", data=b"written through a symlink?", mode=0o4777)
        .add("fifo", tarfile.SYMTYPE, link=OUTSIDE_ABS + "/fifo")
        .add("fifo", data=b"into the fifo?")
        .bytes()
    )
    dot_dot = (
        Tar()
        .add("../outside/escaped", data=b"dotdot")
        .add("a/../../outside/secret", data=b"dotdot")
        .add("/scratch/outside/absolute", data=b"absolute")
        .bytes()
    )
    replaced = (
        Tar()
        .add("r", tarfile.DIRTYPE, mode=0o700)
        .add("r/child", tarfile.DIRTYPE, mode=0o777)
        .add("r", data=b"a file replaced the dir")
        .add("r2", data=b"a file first")
        .add("r2", tarfile.DIRTYPE, mode=0o711)
        .bytes()
    )
    sparse = gnu_tar(sparse_tree)
    return {
        "ordinary": ordinary,
        "whiteouts": whiteouts,
        "long_names": long_names,
        "pax": pax,
        "dir_then_symlink_rel": dir_then_symlink[0],
        "dir_then_symlink_abs": dir_then_symlink[1],
        "dir_then_symlink_dir": dir_then_symlink[2],
        "parent_symlink_rel": parent_symlink[0],
        "parent_symlink_abs": parent_symlink[1],
        "hard_link_rel": hard_links[0],
        "hard_link_abs": hard_links[1],
        "hard_link_dotdot": hard_links[2],
        "symlink_then_file": symlink_then_file,
        "dot_dot": dot_dot,
        "replaced": replaced,
        "sparse": sparse,
    }


def unpack_seeds(all_layers):
    out = reset("unpack_layer")
    for name, tar in all_layers.items():
        write(out, f"root-{name}", b"\x00" + tar)
        write(out, f"user-{name}", b"\x01" + tar)
    for name in ("ordinary", "whiteouts", "sparse", "dir_then_symlink_abs"):
        tar = all_layers[name]
        write(out, f"cache-{name}", b"\x02" + tar)
        write(out, f"cache-gz-{name}", b"\x02" + gzip.compress(tar, mtime=0))
        write(out, f"cache-harness-gz-{name}", b"\x03" + tar)


def config_json(layer_count, **run):
    config = {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"],
        "Cmd": ["/bin/sh", "-c", "echo hi"],
        "Entrypoint": None,
        "WorkingDir": "/home/user",
        "User": "1000:1000",
        "Labels": {"org.opencontainers.image.title": "fuzz"},
    }
    config.update(run)
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2025-01-01T00:00:00Z",
            "config": config,
            "rootfs": {
                "type": "layers",
                "diff_ids": [f"sha256:@D{n}@" for n in range(layer_count)],
            },
            "history": [{"created_by": "fuzz seed"}],
        },
        indent=2,
    ).encode()


def oci_manifest(layer_count, gz):
    kind = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:@C@",
                "size": "@CZ@",
            },
            "layers": [
                {"mediaType": kind, "digest": f"sha256:@L{n}@", "size": f"@Z{n}@"}
                for n in range(layer_count)
            ],
        },
        indent=2,
    ).replace('"@CZ@"', "@CZ@").replace('"@Z0@"', "@Z0@").replace('"@Z1@"', "@Z1@").encode()


def oci_index(platforms=True):
    manifest = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:@M@",
        "size": "@MZ@",
        "annotations": {"org.opencontainers.image.ref.name": "latest"},
    }
    manifests = [manifest]
    if platforms:
        manifest["platform"] = {"architecture": "amd64", "os": "linux"}
        other = dict(manifest, platform={"architecture": "arm64", "os": "linux"})
        manifests = [other, manifest]
    return (
        json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": manifests}, indent=2)
        .replace('"@MZ@"', "@MZ@")
        .encode()
    )


def docker_manifest(config_name, layer_names):
    return json.dumps(
        [{"Config": config_name, "RepoTags": ["fuzz:latest"], "Layers": layer_names}]
    ).encode()


def image_seeds(all_layers):
    out = reset("image_manifest")
    base = all_layers["ordinary"]
    top_layer = Tar().add("etc/motd", data=b"second layer\n").add("etc/.wh.hostname").bytes()

    def seed(name, mode, top, manifest, config, layer_list):
        write(out, name, bytes([mode]) + SEPARATOR.join([top, manifest, config] + layer_list))

    two = [base, top_layer]
    for layout, suffix in ((0, "dir"), (2, "tar"), (4, "targz")):
        seed(f"docker-{suffix}", layout,
             docker_manifest("@C@.json", ["layer0.tar", "layer1.tar"]), b"", config_json(2), two)
        seed(f"docker25-{suffix}", layout,
             docker_manifest("blobs/sha256/@C@", ["blobs/sha256/@L0@", "blobs/sha256/@L1@"]),
             b"", config_json(2), two)
    seed("docker-repeated-layer", 0,
         docker_manifest("config.json", ["layer0.tar", "layer1.tar", "layer0.tar"]), b"",
         json.dumps({"config": {}, "rootfs": {"type": "layers", "diff_ids": [
             "sha256:@D0@", "sha256:@D1@", "sha256:@D0@"]}}).encode(), two)
    seed("docker-user-name", 0, docker_manifest("config.json", ["layer0.tar"]), b"",
         config_json(1, User="nobody", Entrypoint=["/bin/sh"], Cmd=None), [base])
    for layout, suffix in ((1, "dir"), (3, "tar"), (5, "targz")):
        seed(f"oci-{suffix}", layout, oci_index(), oci_manifest(2, False), config_json(2), two)
        seed(f"oci-gz-{suffix}", layout | 8, oci_index(False), oci_manifest(2, True),
             config_json(2), two)
    seed("oci-no-layout-file", 1 | 16, oci_index(), oci_manifest(1, False), config_json(1),
         [base])
    seed("oci-sparse-layer", 1, oci_index(), oci_manifest(1, False), config_json(1),
         [all_layers["sparse"]])
    seed("oci-hostile-layer", 1, oci_index(), oci_manifest(1, False), config_json(1),
         [all_layers["dir_then_symlink_abs"]])
    write(out, "rootfs-tarball", bytes([6]) + base)
    write(out, "rootfs-tarball-gz", bytes([6]) + gzip.compress(base, mtime=0))
    write(out, "dir-manifest-not-a-list", bytes([7]) + b'{"not": "a docker manifest"}')
    write(out, "dir-manifest-list", bytes([7]) + docker_manifest("config.json", ["l.tar"]))


def runtime_seeds():
    out = reset("runtime_state")
    # Selector → fixture (fuzz_targets/runtime_state.rs FILES, same order).
    fixtures = {
        0: ["oci/run/runc/ctr1/state.json", "oci/run/runc/stale/state.json",
            "oci/run/runc/junk/state.json"],
        1: ["oci/run/runc/ctr1/state.json"],
        2: ["oci/run/crun/ctr2/status"],
        3: ["oci/run/crun/ctr2/config.json"],
        4: [os.path.join("docker/var/lib/docker/containers", d, "config.v2.json")
            for d in sorted(os.listdir(os.path.join(FIXTURES, "docker/var/lib/docker/containers")))],
        5: ["containerd/run/containerd/io.containerd.runtime.v2.task/default/web1/config.json",
            "containerd/run/containerd/io.containerd.runtime.v2.task/buildkit/job7/config.json"],
        6: ["containerd/run/containerd/io.containerd.runtime.v2.task/default/web1/init.pid"],
        7: ["podman/var/lib/containers/storage/overlay-containers/containers.json"],
        8: ["podman/var/lib/containers/storage/overlay-containers/volatile-containers.json"],
        9: ["podman/home/alice/.local/share/containers/storage/overlay-containers/containers.json"],
        10: ["podman/var/lib/containers/storage/overlay-containers/"
             "bead0000bead0000bead0000bead0000bead0000bead0000bead0000bead0000/userdata/config.json"],
        11: [os.path.join("kubernetes-crio/var/lib/containers/storage/overlay-containers", d,
                          "userdata/config.json")
             for d in sorted(os.listdir(os.path.join(
                 FIXTURES, "kubernetes-crio/var/lib/containers/storage/overlay-containers")))],
        12: ["kubernetes-containerd/run/containerd/io.containerd.runtime.v2.task/k8s.io/"
             "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00/config.json"],
        13: ["lxc/var/lib/lxc/web/config"],
        14: ["nspawn/run/systemd/machines/deb", "nspawn/run/systemd/machines/win11"],
    }
    for selector, paths in fixtures.items():
        for n, path in enumerate(paths):
            with open(os.path.join(FIXTURES, path), "rb") as f:
                write(out, f"{selector:02}-{n}", bytes([selector]) + f.read())
    isotop_id = "15070915070915070915070915070915070915070915070915070915070915ab"
    record = {
        "id": isotop_id, "name": "web", "image": "/srv/images/alpine.tar",
        "command": ["/bin/sh"], "status": "exited", "created_ms": 1_700_000_000_000,
        "started_ms": 1_700_000_000_100, "finished_ms": 1_700_000_005_000, "pid": 4242,
        "supervisor_pid": 4241, "exit_code": 0, "exit_signal": None, "error": None,
        "net": "none", "address": None, "host_veth": None,
        "cgroup_path": f"/isotop/{isotop_id}", "rootfs": f"/var/lib/isotop/containers/{isotop_id}/rootfs",
        "lower_layers": ["/var/lib/isotop/layers/sha256/" + "ab" * 32],
        "upper": f"/var/lib/isotop/containers/{isotop_id}/upper", "remove_on_exit": False,
        "hostname": "web",
    }
    write(out, "15-record", bytes([15]) + json.dumps(record, indent=2).encode())
    running = dict(record, status="running", name="api\u001b[31m\u202e")
    write(out, "15-record-running", bytes([15]) + json.dumps(running).encode())


def dict_entry(word):
    """One libFuzzer dictionary line: printable ASCII as is, everything else as \\xNN."""
    out = []
    for b in word.encode():
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"\n'


def dictionaries():
    keys = ["Config", "Layers", "RepoTags", "rootfs", "diff_ids", "layers", "type", "config",
            "mediaType", "digest", "size", "manifests", "platform", "architecture", "os",
            "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "schemaVersion", "annotations",
            "sha256:", "blobs/sha256/", "@C@", "@CZ@", "@M@", "@MZ@", "@L0@", "@L1@", "@D0@",
            "@D1@", "@Z0@", "@Z1@", "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip", "amd64", "linux", "null",
            "\\u001b", "\\u202e", "..", "/", "\n%%%%\n"]
    with open(os.path.join(HERE, "dicts", "image_manifest.dict"), "w") as f:
        for k in keys:
            f.write(dict_entry(k))
    tar_words = ["ustar\x0000", "ustar  \x00", "././@LongLink", ".wh.", ".wh..wh..opq", "../",
                 "/scratch/outside/secret", "../outside/secret", "GNU.sparse.major=",
                 "GNU.sparse.minor=", "GNU.sparse.map=", "GNU.sparse.name=", "GNU.sparse.size=",
                 "path=", "linkpath=", "SCHILY.xattr.", "uid=", "size=", "mtime="]
    with open(os.path.join(HERE, "dicts", "unpack_layer.dict"), "w") as f:
        for k in tar_words:
            f.write(dict_entry(k))
    runtime_words = ["init_process_pid", "init_process_start", "cgroup_paths", "labels",
                     "cgroups", "path", "process-start-time", "cgroup-path", "annotations",
                     "ID", "Name", "Config", "Image", "Labels", "State", "Pid", "names",
                     "image", "metadata", "image-name", "io.kubernetes.cri.container-name",
                     "io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-namespace",
                     "io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.name",
                     "io.kubernetes.cri.container-type", "sandbox", "nerdctl/name",
                     "LEADER=", "CLASS=vm", "ROOT=", "status", "exit_code", "running", "pid",
                     "/sys/fs/cgroup/", "\\u001b", "\\u202e", "\\u0085"]
    with open(os.path.join(HERE, "dicts", "runtime_state.dict"), "w") as f:
        for k in runtime_words:
            f.write(dict_entry(k))


def main():
    os.makedirs(os.path.join(HERE, "dicts"), exist_ok=True)
    all_layers = layers()
    unpack_seeds(all_layers)
    image_seeds(all_layers)
    runtime_seeds()
    dictionaries()


if __name__ == "__main__":
    main()
