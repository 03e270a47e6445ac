#!/usr/bin/env python3
"""Every shared library a binary loads is in its runtime image (used by e2e-docker.sh, after the build).

The runtime images have no shell, so nothing can run inside them to look. Instead, for each IMAGE and BINARY:
  - the image's file system is read from `docker export` (a container is created, never started);
  - the binary is taken from that same export and `ldd` runs on it in BUILDER, the image it was linked in;
  - each library ldd resolves must resolve in the image too, through symlinks, as a regular file: the program
    interpreter at its exact path, the others by name in the loader's search directories (the directories where
    ldd found them, their /usr or non-/usr twins, /lib and /usr/lib);
  - the image also holds the CA bundle and no shell.
A library ldd cannot resolve in the builder fails as well. Libraries loaded with dlopen are not listed by ldd;
glibc's name service (files, dns) is built into libc.so.6 since 2.34, so the binaries load none.

Usage:
  runtime_libs.py check BUILDER IMAGE BINARY [IMAGE BINARY ...]
  runtime_libs.py selftest BUILDER IMAGE BINARY SONAME
      proves the check can fail: a copy of IMAGE without SONAME (made with docker export and import, tagged
      <IMAGE's repository>-without-<SONAME>:<IMAGE's tag> and removed afterwards) must fail it, naming SONAME.
Exits 0 when every check holds, 1 with a message per missing file otherwise.
"""

import io
import os
import posixpath
import re
import subprocess
import sys
import tarfile
import tempfile
import uuid

from cli import CheckFailed, run

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SHELLS = ("/bin/sh", "/bin/bash", "/bin/dash", "/bin/busybox", "/usr/bin/sh", "/usr/bin/bash")
DOCKER_TIMEOUT_S = 120
MAX_SYMLINK_HOPS = 40
# ldd lines: "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)", "libx.so => not found",
# "/lib64/ld-linux-x86-64.so.2 (0x...)" (the interpreter) and "linux-vdso.so.1 (0x...)" (in the kernel, no file).
LDD_RESOLVED = re.compile(r"^\s*(\S+) => (/\S+) \(0x[0-9a-f]+\)$")
LDD_NOT_FOUND = re.compile(r"^\s*(\S+) => not found$")
LDD_INTERPRETER = re.compile(r"^\s*(/\S+) \(0x[0-9a-f]+\)$")


def docker(*args, stdin=None, capture=True):
    result = subprocess.run(["docker", *args], input=stdin, capture_output=capture, timeout=DOCKER_TIMEOUT_S)
    if result.returncode != 0:
        raise CheckFailed(f"docker {' '.join(args[:3])} ...: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


class ImageFiles:
    """The file system of an image, from `docker export`: each path's type and symlink target."""

    def __init__(self, image, keep=()):
        self.image = image
        self.entries = {}
        self.kept = {}
        with tarfile.open(fileobj=io.BytesIO(export(image)), mode="r:") as tar:
            for member in tar:
                path = member_path(member.name)
                self.entries[path] = member
                if path in keep and member.isfile():
                    self.kept[path] = tar.extractfile(member).read()

    def resolve(self, path):
        """The member PATH leads to after following every symlink on the way, or None."""
        parts = [p for p in path.split("/") if p]
        current, hops = "", 0
        while parts:
            current = current + "/" + parts.pop(0)
            member = self.entries.get(current)
            if member is None:
                return None
            if member.issym():
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = member.linkname
                base = "/" if target.startswith("/") else posixpath.dirname(current)
                rest = posixpath.normpath(posixpath.join(base, target)).split("/")
                parts = [p for p in rest if p] + parts
                current = ""
        member = self.entries.get(current) if current else None
        if member is not None and member.islnk():  # a hard link: the member it names
            return self.entries.get(member_path(member.linkname))
        return member

    def is_file(self, path):
        member = self.resolve(path)
        return member is not None and member.isfile()


def member_path(name):
    """A tar member's name as an absolute path (docker export writes "etc/passwd", tar may write "./etc/passwd")."""
    if name.startswith("./"):
        name = name[2:]
    return "/" + name.rstrip("/")


def export(image):
    """IMAGE's file system as a tar archive, through a container that is created and removed, never started."""
    # An argument, since `docker create` refuses an image without a command (a base image, an imported copy).
    name = f"{container_prefix(image)}-{uuid.uuid4().hex[:8]}"
    container = docker("create", "--name", name, image, "/never-started").decode().strip()
    try:
        return docker("export", container)
    finally:
        docker("rm", "-f", container)


def container_prefix(image):
    """Containers made here are named after the image and its tag, so runs with other tags stay apart."""
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", image).strip("-.") or "runtime-libs"


def ldd_in_builder(builder, binary_bytes, name):
    with tempfile.TemporaryDirectory(prefix="runtime-libs.") as tmp:
        os.chmod(tmp, 0o755)
        path = os.path.join(tmp, name)
        with open(path, "wb") as out:
            out.write(binary_bytes)
        os.chmod(path, 0o755)
        output = docker("run", "--rm", "--name", f"{container_prefix(builder)}-ldd-{uuid.uuid4().hex[:8]}",
                        "--network", "none", "-v", f"{tmp}:/check:ro", "--entrypoint", "ldd",
                        builder, f"/check/{name}").decode()
    needs, missing = [], []
    for line in output.splitlines():
        if m := LDD_RESOLVED.match(line):
            needs.append((m.group(1), m.group(2)))
        elif m := LDD_NOT_FOUND.match(line):
            missing.append(f"{m.group(1)}: ldd cannot find it in the builder {builder} either")
        elif m := LDD_INTERPRETER.match(line):
            needs.append((None, m.group(1)))
    if not any(soname is None for soname, _ in needs):
        missing.append(f"ldd in {builder} names no program interpreter (is {name} dynamically linked?):\n{output}")
    return needs, missing


def search_dirs(needs):
    dirs = []
    for _, path in needs:
        parent = posixpath.dirname(path)
        twin = parent[len("/usr"):] if parent.startswith("/usr/") else "/usr" + parent
        dirs += [parent, twin]
    dirs += ["/lib", "/usr/lib"]
    return list(dict.fromkeys(dirs))


def check_image(builder, image, binary):
    """Messages, one per missing file (empty when the image is complete), and the libraries found."""
    files = ImageFiles(image, keep={binary})
    if binary not in files.kept:
        return [f"{image} has no regular file {binary}"], []
    needs, problems = ldd_in_builder(builder, files.kept[binary], posixpath.basename(binary))
    dirs = search_dirs(needs)
    found = []
    for soname, builder_path in needs:
        if soname is None:
            candidates = [builder_path]
        else:
            candidates = [posixpath.join(d, soname) for d in dirs]
        hit = next((c for c in candidates if files.is_file(c)), None)
        if hit is None:
            name = soname or builder_path
            problems.append(f"{name} is missing from {image}: {binary} loads it (in the builder from "
                            f"{builder_path}); looked for {', '.join(candidates)}")
        else:
            found.append(soname or builder_path)
    if not files.is_file(CA_BUNDLE):
        problems.append(f"{image} has no CA bundle at {CA_BUNDLE}")
    shells = [s for s in SHELLS if files.resolve(s) is not None]
    if shells:
        problems.append(f"{image} has a shell: {', '.join(shells)}")
    return problems, found


def check(builder, *pairs):
    if not pairs or len(pairs) % 2:
        raise CheckFailed("usage: check BUILDER IMAGE BINARY [IMAGE BINARY ...]")
    problems = []
    for image, binary in zip(pairs[::2], pairs[1::2]):
        missing, found = check_image(builder, image, binary)
        problems += missing
        if not missing:
            print(f"  runtime libraries: {image}: {binary} loads {', '.join(found)}: all present; "
                  f"CA bundle present; no shell")
    if problems:
        raise CheckFailed("\n  ".join(["libraries or files missing from the runtime image:"] + problems))


def without(image, soname, tag):
    """Tags as TAG a one-layer copy of IMAGE with every file named SONAME left out."""
    exported = export(image)
    reduced = io.BytesIO()
    dropped = 0
    with tarfile.open(fileobj=io.BytesIO(exported), mode="r:") as src, \
            tarfile.open(fileobj=reduced, mode="w:") as dst:
        for member in src:
            if posixpath.basename(member.name.rstrip("/")) == soname:
                dropped += 1
                continue
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    if not dropped:
        raise CheckFailed(f"{image} has no file named {soname} to leave out")
    docker("import", "-", tag, stdin=reduced.getvalue())


def selftest(builder, image, binary, soname):
    repository, _, version = image.rpartition(":")
    tag = f"{repository}-without-{soname.lower()}:{version}"
    without(image, soname, tag)
    try:
        missing, _ = check_image(builder, tag, binary)
    finally:
        docker("rmi", "-f", tag)
    if not any(m.startswith(f"{soname} is missing") for m in missing):
        raise CheckFailed(f"the check passed on a copy of {image} without {soname}: it cannot catch a missing library")
    print(f"  runtime libraries: a copy of {image} without {soname} fails the check as it must:")
    for message in missing:
        print(f"    {message}")


def main(argv):
    return run({"check": check, "selftest": selftest}, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
