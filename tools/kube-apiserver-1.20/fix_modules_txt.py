"""Rewrite a Go 1.15-era vendor/modules.txt so that Go 1.16+ accepts it (`go build -mod=vendor`).

Kubernetes v1.20's vendor/modules.txt lists each staging module twice: once as a plain `# k8s.io/api v0.0.0`
line and once as a `# k8s.io/api => ./staging/src/k8s.io/api` replacement, and its package lines sit under the
replacement. Go >= 1.16 wants every package under its versioned module line (and the `## explicit` markers
there), so the package lines are moved to the longest versioned module that owns them.

Usage: python3 fix_modules_txt.py vendor/modules.txt
"""

import sys


def fix(text: str) -> str:
    versioned: list[tuple[str, list[str]]] = []
    replacements: list[tuple[str, list[str]]] = []
    packages: list[str] = []
    current: list[str] = []
    for line in filter(None, text.split("\n")):
        if line.startswith("# "):
            fields = line.split()
            current = []
            entry = (line, current)
            (replacements if fields[2] == "=>" else versioned).append(entry)
        elif line.startswith("##"):
            current.append(line)
        else:
            packages.append(line)
    owned: dict[str, list[str]] = {header.split()[1]: [] for header, _ in versioned}
    for package in packages:
        owners = [m for m in owned if package == m or package.startswith(m + "/")]
        if not owners:
            raise SystemExit(f"fix_modules_txt: no module in vendor/modules.txt owns package {package}")
        owned[max(owners, key=len)].append(package)
    out: list[str] = []
    for header, meta in versioned:
        out += [header, *meta, *owned[header.split()[1]]]
    for header, meta in replacements:
        out += [header, *meta]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        fixed = fix(f.read())
    with open(path, "w", encoding="utf-8") as f:
        f.write(fixed)
