#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Render the uAPI header of a genetlink family from its YAML spec.

    gen-uapi.py SPEC                 print the header
    gen-uapi.py SPEC -o HEADER       write it
    gen-uapi.py SPEC --check HEADER  exit 1 with a diff if HEADER differs

Names follow the kernel's YNL conventions, so the header reads like the ones
the kernel generates for its own families: FAMILY_NAME/FAMILY_VERSION,
enum <family>_<definition> with render-max members, anonymous enums of
attribute ids <FAMILY>_A_<SET>_<ATTR> closed by __<FAMILY>_A_<SET>_MAX, the
command enum <FAMILY>_CMD_<OP>, and <FAMILY>_MCGRP_<GROUP> names.  Only the
parts of the spec language that proto/sgnic.yaml uses are supported; the
rest is refused rather than rendered wrongly.
"""

import argparse
import difflib
import sys
import textwrap

import yaml

SPDX_UAPI = "((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)"
WIDTH = 80


def c_upper(name):
    return name.upper().replace("-", "_")


def c_lower(name):
    return name.lower().replace("-", "_")


class Writer:
    def __init__(self):
        self.lines = []

    def p(self, line=""):
        self.lines.append(line)

    def kdoc(self, title, members):
        """A kernel-doc block: title line, then @member: text, wrapped."""
        self.p("/**")
        self._wrapped(" * ", title, " *   ")
        for name, doc in members:
            self._wrapped(" * ", f"@{name}: {doc}", " *   ")
        self.p(" */")

    def _wrapped(self, first, text, rest):
        text = " ".join(text.split())
        for line in textwrap.wrap(text, width=WIDTH, initial_indent=first,
                                  subsequent_indent=rest,
                                  break_on_hyphens=False):
            self.p(line.rstrip())

    def text(self):
        return "\n".join(self.lines) + "\n"


def entry_dicts(definition):
    out = []
    for e in definition.get("entries", []):
        out.append(e if isinstance(e, dict) else {"name": e})
    return out


def render_definition(w, fam, d):
    kind = d["type"]
    prefix = d.get("name-prefix", f"{fam}-{d['name']}-")
    if kind == "const":
        return
    if kind not in ("enum", "flags"):
        raise SystemExit(f"gen-uapi: definition type {kind!r} not supported")

    entries = entry_dicts(d)
    value = d.get("value-start", 0)
    rendered = []
    for e in entries:
        value = e.get("value", value)
        shown = (1 << value) if kind == "flags" else value
        rendered.append((c_upper(prefix + e["name"]), shown, e.get("doc", "")))
        value += 1

    members = [(n, doc) for n, _, doc in rendered if doc]
    if d.get("render-max"):
        if kind == "flags":
            members.append((c_upper(prefix + "mask"), "valid values mask"))
        else:
            members.append((c_upper(prefix + "max"), "max valid value"))
    title = f"enum {c_lower(fam)}_{c_lower(d['name'])}"
    if d.get("doc"):
        title += " - " + d["doc"]
    w.kdoc(title, members)

    w.p(f"enum {c_lower(fam)}_{c_lower(d['name'])} {{")
    for name, shown, _ in rendered:
        w.p(f"\t{name} = {shown},")
    if d.get("render-max"):
        w.p("")
        w.p("\t/* private: */")
        if kind == "flags":
            mask = 0
            for _, shown, _ in rendered:
                mask |= shown
            w.p(f"\t{c_upper(prefix + 'mask')} = {mask},")
        else:
            w.p(f"\t__{c_upper(prefix + 'max')},")
            w.p(f"\t{c_upper(prefix + 'max')} = (__{c_upper(prefix + 'max')} - 1)")
    w.p("};")
    w.p("")


def render_numbered_enum(w, prefix, items):
    """An enum of attributes or commands numbered from 1, with __MAX/MAX."""
    w.p("enum {")
    value = 1
    first = True
    for item in items:
        explicit = "value" in item
        value = item.get("value", value)
        name = c_upper(prefix + item["name"])
        w.p(f"\t{name} = {value}," if first or explicit else f"\t{name},")
        first = False
        value += 1
    w.p("")
    max_name = c_upper(prefix + "max")
    w.p(f"\t__{max_name},")
    w.p(f"\t{max_name} = (__{max_name} - 1)")
    w.p("};")
    w.p("")


def render_attr_set(w, fam, s):
    if "subset-of" in s:
        return
    render_numbered_enum(w, s.get("name-prefix", f"{fam}-a-{s['name']}-"), s["attributes"])


def render(spec, spec_path):
    fam = spec["name"]
    if spec.get("protocol", "genetlink") != "genetlink":
        raise SystemExit("gen-uapi: only protocol genetlink is supported")
    ops = spec["operations"]
    if ops.get("enum-model", "unified") != "unified":
        raise SystemExit("gen-uapi: only the unified enum model is supported")

    guard = f"_UAPI_LINUX_{c_upper(fam)}_H"
    w = Writer()
    w.p(f"/* SPDX-License-Identifier: {SPDX_UAPI} */")
    w.p(f"/* Generated from {spec_path} by proto/gen-uapi.py: do not edit. */")
    w.p("")
    w.p(f"#ifndef {guard}")
    w.p(f"#define {guard}")
    w.p("")
    w.p("#include <linux/types.h>")
    w.p("")
    w.p(f'#define {c_upper(fam)}_FAMILY_NAME\t"{fam}"')
    w.p(f"#define {c_upper(fam)}_FAMILY_VERSION\t{spec.get('version', 1)}")
    w.p("")

    consts = [d for d in spec.get("definitions", []) if d["type"] == "const"]
    for d in consts:
        prefix = d.get("name-prefix", f"{fam}-")
        if d.get("doc"):
            w.p(f"/* {' '.join(d['doc'].split())} */")
        w.p(f"#define {c_upper(prefix + d['name'])}\t{d['value']}")
    if consts:
        w.p("")

    for d in spec.get("definitions", []):
        render_definition(w, fam, d)

    for s in spec["attribute-sets"]:
        render_attr_set(w, fam, s)

    render_numbered_enum(w, ops.get("name-prefix", f"{fam}-cmd-"), ops["list"])

    groups = spec.get("mcast-groups", {}).get("list", [])
    for g in groups:
        w.p(f'#define {c_upper(fam)}_MCGRP_{c_upper(g["name"])}\t"{g["name"]}"')
    if groups:
        w.p("")

    w.p(f"#endif /* {guard} */")
    return w.text()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("-o", "--output", help="write the header here")
    group.add_argument("--check", metavar="HEADER",
                       help="compare with HEADER instead of writing")
    ap.add_argument("--spec-name", default="proto/sgnic.yaml",
                    help="how the header names its source")
    args = ap.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    text = render(spec, args.spec_name)

    if args.check:
        with open(args.check, encoding="utf-8") as f:
            have = f.read()
        if have == text:
            print(f"gen-uapi: {args.check} matches {args.spec}")
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            have.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=args.check, tofile=f"generated from {args.spec}"))
        print(f"gen-uapi: {args.check} is stale: run "
              f"'proto/gen-uapi.py {args.spec} -o {args.check}'", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
