#!/usr/bin/env python3
"""The architecture as the build files and sources have it, checked.

    layering.py ROOT             check the tree at ROOT; exit 1 with every finding
    layering.py --selftest ROOT  plant one violation of each rule in a copy of
                                 ROOT and prove each is found (a check that
                                 cannot fail proves nothing)

Rules (daemon/README.md, "Layers"; cli/README.md; proto/README.md):

1. Layers.  Every library of daemon/ has a layer; a library links (CMake
   target_link_libraries) only sgnic libraries of lower layers, and includes
   only headers of itself and of libraries it links, directly or through
   them.  cli/ and tools/ likewise, with their own entries in LAYERS.
2. cli/ includes nothing under daemon/ and links only sgnic_proto of ours.
3. No relative includes ("../x.hpp") in cli/, daemon/, proto/cpp/, tools/:
   they would walk around the include roots.
4. One home per fact:
   - a match-field or action name is spelled as a C++ string literal only in
     proto/cpp/include/sgnic/proto/spec.hpp (generated from proto/sgnic.yaml),
     and no other literal lists three or more of them;
   - the version is written only in CMakeLists.txt's project(VERSION) and at
     the top of packaging/debian/changelog, which must agree; nothing else
     in the tracked tree spells it.
5. README.md's layout table names every top-level directory that holds
   sources, and daemon/README.md names every daemon library with its target.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Lowest first; a library may link only libraries of a lower layer.
LAYERS = {
    "sgnic_proto": 0,
    "sgnic_policy": 1,
    "sgnic_netlink": 1,
    "sgnic_log": 1,
    "sgnic_model": 2,
    "sgnic_config": 2,
    "sgnic_store": 3,
    "sgnic_service": 4,
    "sgnic_adapter": 5,
    "sgnic_bus": 5,
    "sgnicd": 6,
    "sgnic_cli": 1,
    "sgnicctl": 2,
    "sgnic-nl": 2,
}
# Where each target's sources are, and the include prefix of its headers.
DIRS = {
    "sgnic_proto": ("proto/cpp", "sgnic/proto"),
    "sgnic_policy": ("daemon/policy", "policy"),
    "sgnic_netlink": ("daemon/netlink", "netlink"),
    "sgnic_log": ("daemon/log", "log"),
    "sgnic_model": ("daemon/model", "model"),
    "sgnic_config": ("daemon/config", "config"),
    "sgnic_store": ("daemon/store", "store"),
    "sgnic_service": ("daemon/service", "service"),
    "sgnic_adapter": ("daemon/adapter", "adapter"),
    "sgnic_bus": ("daemon/bus", "bus"),
    "sgnicd": ("daemon/app", "app"),
    "sgnic_cli": ("cli", "cli"),
    "sgnic-nl": ("tools", None),
}
# sgnicctl's sources are cli/main.cpp and cli/client.cpp, in sgnic_cli's
# directory: checked with sgnic_cli's sources against sgnicctl's links.
CLI_PROGRAM_SOURCES = {"main.cpp", "client.cpp"}

SPEC_HOME = "proto/cpp/include/sgnic/proto/spec.hpp"
CXX = (".cpp", ".hpp", ".h")
SCANNED = ("cli", "daemon", "proto/cpp", "tools")
# Code that is not C++ but must not keep its own list of names either.
SCANNED_LINES = ("cli/sgnicctl.bash-completion.in",)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def tracked(root):
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in out if f and os.path.isfile(os.path.join(root, f))]


def cmake_links(root):
    """target -> set of sgnic targets it links, from every CMakeLists.txt."""
    links = {}
    for dirpath, _, files in os.walk(root):
        if "/build" in dirpath[len(root):] or "/." in dirpath[len(root):]:
            continue
        if "CMakeLists.txt" not in files:
            continue
        text = re.sub(r"#[^\n]*", "", read(root, os.path.relpath(
            os.path.join(dirpath, "CMakeLists.txt"), root)))
        for m in re.finditer(r"target_link_libraries\(\s*([\w-]+)([^)]*)\)", text):
            deps = {d for d in m.group(2).split() if d.startswith("sgnic")}
            links.setdefault(m.group(1), set()).update(deps)
    return links


def closure(links, target):
    seen, todo = set(), [target]
    while todo:
        for d in links.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def sources(root, directory):
    out = []
    base = os.path.join(root, directory)
    for dirpath, _, files in os.walk(base):
        for f in files:
            if f.endswith(CXX):
                out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def includes(text):
    return re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)


def prefix_owner(path):
    for target, (_, prefix) in DIRS.items():
        if prefix and path.startswith(prefix + "/"):
            return target
    return None


def check_layers(root, links, findings):
    for target, deps in sorted(links.items()):
        if target not in LAYERS:
            continue
        for d in sorted(deps):
            if d not in LAYERS:
                findings.append(f"{target} links {d}, which has no layer in tests/unit/layering.py")
            elif LAYERS[d] >= LAYERS[target]:
                findings.append(f"{target} (layer {LAYERS[target]}) links {d} "
                                f"(layer {LAYERS[d]}): only lower layers")
    for target, (directory, _) in DIRS.items():
        for src in sources(root, directory):
            owner = target
            if target == "sgnic_cli" and os.path.basename(src) in CLI_PROGRAM_SOURCES:
                owner = "sgnicctl"
            allowed = closure(links, owner) | {owner, target}
            for inc in includes(read(root, src)):
                if ".." in inc.split("/"):
                    findings.append(f"{src}: relative include \"{inc}\"")
                    continue
                lib = prefix_owner(inc)
                if lib is not None and lib not in allowed:
                    findings.append(f"{src}: includes \"{inc}\" of {lib}, which {owner} "
                                    "does not link")


def check_cli(root, links, findings):
    for src in sources(root, "cli"):
        for inc in includes(read(root, src)):
            if inc.startswith(("daemon/", "policy/", "model/", "app/", "bus/", "service/",
                               "store/", "config/", "log/", "adapter/", "netlink/")):
                findings.append(f"{src}: includes \"{inc}\" from daemon/")
    for target in ("sgnic_cli", "sgnicctl"):
        extra = closure(links, target) - {"sgnic_proto", "sgnic_cli"}
        if extra:
            findings.append(f"{target} links {', '.join(sorted(extra))}: the CLI links only "
                            "sgnic_proto of ours (and libsystemd)")


def spec_names(root):
    text = read(root, SPEC_HOME)
    fields = re.findall(r'^\s*\{"([a-z0-9-]+)", SGNIC_MATCH_FIELD_', text, re.M)
    actions = re.findall(r'^\s*\{"([a-z0-9-]+)", ActionType::', text, re.M)
    if not fields or not actions:
        raise SystemExit(f"layering: no field or action table in {SPEC_HOME}")
    return fields, actions


def string_literals(text):
    """The string literals of a C++ source, except on lines that say why a
    word that looks like a name is not one: "// layering: <reason>"."""
    lines = [l for l in text.split("\n") if "// layering:" not in l]
    text = "\n".join(lines)
    raw = re.findall(r'R"\((.*?)\)"', text, re.S)
    text = re.sub(r'R"\(.*?\)"', "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return raw + re.findall(r'"((?:[^"\\\n]|\\.)*)"', text)


def listed(text, fields, actions):
    words = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text))
    out = []
    for kind, table in (("field", fields), ("action", actions)):
        found = sorted(words & set(table))
        if len(found) >= 3:
            out.append(f"lists the {kind}s {', '.join(found)}")
    return out


def check_names(root, findings):
    fields, actions = spec_names(root)
    names = set(fields) | set(actions)
    for f in SCANNED_LINES:
        for n, line in enumerate(read(root, f).split("\n"), 1):
            for what in listed(line, fields, actions):
                findings.append(f"{f}:{n}: {what} (their home is {SPEC_HOME})")
    for directory in SCANNED:
        for src in sources(root, directory):
            if src == SPEC_HOME:
                continue
            for lit in string_literals(read(root, src)):
                if lit in names:
                    findings.append(f"{src}: spells the name \"{lit}\" (its home is {SPEC_HOME})")
                    continue
                for what in listed(lit, fields, actions):
                    findings.append(f"{src}: a literal {what} (their home is {SPEC_HOME})")


def check_version(root, findings):
    m = re.search(r"^project\(sgnic VERSION ([0-9.]+)", read(root, "CMakeLists.txt"), re.M)
    if not m:
        findings.append("CMakeLists.txt: no project(sgnic VERSION ...)")
        return
    version = m.group(1)
    top = read(root, "packaging/debian/changelog").split("\n", 1)[0]
    cm = re.match(r"sgnic \(([0-9.]+)(-[^)]*)?\)", top)
    if not cm or cm.group(1) != version:
        findings.append(f"packaging/debian/changelog: top entry '{top}' is not version {version} "
                        "of CMakeLists.txt")
    # Not preceded or followed by a digit or dot: 10.0.1.0 is an address.
    pattern = re.compile(r"(?<![\w.])" + re.escape(version) + r"(?![\w.])")
    for f in tracked(root):
        if f in ("CMakeLists.txt", "packaging/debian/changelog") or f.startswith("docs/"):
            continue
        try:
            text = read(root, f)
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.split("\n"), 1):
            if pattern.search(line):
                findings.append(f"{f}:{n}: spells the version {version} (its home is "
                                "CMakeLists.txt's project(VERSION))")


def check_docs(root, findings):
    readme = read(root, "README.md")
    layout = readme.split("## Layout", 1)[-1].split("\n## ", 1)[0]
    for d in ("kmod", "proto", "daemon", "cli", "tools", "systemd", "packaging"):
        if f"`{d}/`" not in layout:
            findings.append(f"README.md: the layout table does not name {d}/")
    daemon_readme = read(root, "daemon/README.md")
    for target, (directory, _) in DIRS.items():
        if not directory.startswith("daemon/"):
            continue
        name = directory.split("/", 1)[1]
        if f"`{name}/`" not in daemon_readme or f"`{target}`" not in daemon_readme:
            findings.append(f"daemon/README.md: does not name {name}/ ({target})")


def check(root):
    findings = []
    links = cmake_links(root)
    check_layers(root, links, findings)
    check_cli(root, links, findings)
    check_names(root, findings)
    check_version(root, findings)
    check_docs(root, findings)
    return findings


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def replace(path, old, new):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if old not in text:
        raise SystemExit(f"layering --selftest: '{old}' is not in {path}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


# Each plants one violation; the check must report a finding containing `expect`.
BREAKAGES = [
    ("cli includes daemon/",
     lambda r, v: append(f"{r}/cli/format.cpp", '#include "model/desired.hpp"\n'),
     "from daemon/"),
    ("cli links a daemon library",
     lambda r, v: replace(f"{r}/cli/CMakeLists.txt", "PUBLIC sgnic_proto", "PUBLIC sgnic_proto sgnic_model"),
     "links only sgnic_proto"),
    ("policy includes a higher layer",
     lambda r, v: append(f"{r}/daemon/policy/policy.cpp", '#include "service/service.hpp"\n'),
     "which sgnic_policy does not link"),
    ("log links config (a cycle in the making)",
     lambda r, v: replace(f"{r}/daemon/log/CMakeLists.txt", "PUBLIC spdlog::spdlog",
                       "PUBLIC sgnic_config spdlog::spdlog"),
     "sgnic_log (layer 1) links sgnic_config"),
    ("service links bus (bus -> service -> bus)",
     lambda r, v: replace(f"{r}/daemon/service/CMakeLists.txt", "PUBLIC sgnic_model",
                       "PUBLIC sgnic_bus sgnic_model"),
     "sgnic_service (layer 4) links sgnic_bus"),
    ("relative include",
     lambda r, v: append(f"{r}/daemon/bus/port.cpp", '#include "../adapter/link_cache.hpp"\n'),
     "relative include"),
    ("a field name outside its home",
     lambda r, v: append(f"{r}/daemon/service/describe.cpp",
                      'static const char* const kPlanted = "ipv4-dst";\n'),
     'spells the name "ipv4-dst"'),
    ("an action list outside its home",
     lambda r, v: append(f"{r}/cli/grammar.cpp",
                      'static const char* const kPlanted = "drop|count|accept";\n'),
     "lists the actions"),
    ("a field list in the completion",
     lambda r, v: replace(f"{r}/cli/sgnicctl.bash-completion.in", "@SGNIC_FIELD_NAMES@",
                          "dmac smac ethertype"),
     "sgnicctl.bash-completion.in"),
    ("the version in a header",
     lambda r, v: append(f"{r}/cli/format.hpp", f"// sgnicctl {v}\n"),
     "spells the version"),
    ("changelog disagrees",
     lambda r, v: replace(f"{r}/packaging/debian/changelog", "sgnic (", "sgnic (9"),
     "packaging/debian/changelog"),
    ("README layout loses a directory",
     lambda r, v: replace(f"{r}/README.md", "| `tools/` |", "| tools |"),
     "does not name tools/"),
]


def selftest(root):
    failed = 0
    base = check(root)
    if base:
        print("layering --selftest: the tree itself has findings:\n  " + "\n  ".join(base))
        return 1
    version = re.search(r"^project\(sgnic VERSION ([0-9.]+)", read(root, "CMakeLists.txt"),
                        re.M).group(1)
    for name, plant, expect in BREAKAGES:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "tree")
            files = tracked(root)
            for f in files:
                dst = os.path.join(copy, f)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(os.path.join(root, f), dst)
            subprocess.run(["git", "init", "-q", copy], check=True)
            subprocess.run(["git", "-C", copy, "add", "-A"], check=True)
            plant(copy, version)
            found = check(copy)
            hit = [f for f in found if expect in f]
            print(f"{'ok  ' if hit else 'MISS'} {name}: {hit[0] if hit else found}")
            failed += not hit
    if failed:
        print(f"layering --selftest: {failed} planted violation(s) not found")
        return 1
    print(f"layering --selftest: all {len(BREAKAGES)} planted violations found")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if args.selftest:
        return selftest(root)
    findings = check(root)
    for f in findings:
        print(f"layering: {f}")
    if findings:
        return 1
    print("layering: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
