"""Checks that the container's runtime stage can run the binaries it ships.

The runtime stage of deploy/Dockerfile installs a short list of Debian
packages on debian:12-slim. A binary that links one more shared library
(a new Abseil component, say) would build fine and then fail to start in
the container. This test resolves every library the binaries link
(`ldd`), finds the Debian package that owns it (`dpkg -S`), and requires
that package to come with the runtime stage: listed there, pulled in by
something listed (dependencies followed through dpkg's database), or part
of the base image (what `apt` itself needs).

Usage: check_runtime_libraries.py DOCKERFILE BINARY...
"""

import re
import subprocess
import sys


def runtime_packages(dockerfile):
    """Packages the last stage installs with apt-get install."""
    text = open(dockerfile).read()
    last_stage = text[text.rindex("\nFROM "):]
    install = re.search(r"apt-get install(.*?)(&&|\n\S)", last_stage, re.S)
    if not install:
        sys.exit("no apt-get install in the runtime stage of " + dockerfile)
    words = install.group(1).replace("\\\n", " ").split()
    return {w for w in words if not w.startswith("-")}


def depends(package):
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Pre-Depends}, ${Depends}", package],
        capture_output=True, text=True)
    if out.returncode != 0:
        return None
    names = set()
    for clause in out.stdout.split(","):
        # "a (>= 1) | b": any alternative satisfies it; take the first.
        first = clause.split("|")[0].strip()
        if first:
            names.add(first.split()[0].split(":")[0])
    return names


def closure(packages):
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        deps = depends(p)
        if deps is not None:
            todo.extend(deps - seen)
    return seen


_owners = {}


def owner(path):
    if path not in _owners:
        _owners[path] = _owner(path)
    return _owners[path]


def _owner(path):
    for candidate in (path, "/usr" + path if path.startswith("/lib") else path):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True,
                             text=True)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    return None


def main():
    dockerfile, binaries = sys.argv[1], sys.argv[2:]
    listed = runtime_packages(dockerfile)
    missing_listed = [p for p in sorted(listed) if depends(p) is None]
    if missing_listed:
        sys.exit("runtime packages not known to dpkg here (misspelt?): " +
                 " ".join(missing_listed))
    provided = closure(listed) | closure({"apt", "base-files"})
    problems = []
    for binary in binaries:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            if "not found" in line:
                problems.append(f"{binary}: {line.strip()}")
            m = re.search(r"=> (/\S+)", line)
            if not m:
                continue
            package = owner(m.group(1))
            if package is None:
                problems.append(f"{binary}: {m.group(1)} belongs to no package")
            elif package not in provided:
                problems.append(f"{binary}: {m.group(1)} comes from {package}, "
                                "which the runtime stage does not install")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"ok: {len(binaries)} binaries, runtime stage installs "
          f"{' '.join(sorted(listed))}")


if __name__ == "__main__":
    main()
