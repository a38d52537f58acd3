#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Render the uAPI header of a genetlink family from its YAML spec.

    gen-uapi.py SPEC                 print the header
    gen-uapi.py SPEC -o HEADER       write it
    gen-uapi.py SPEC --check HEADER  exit 1 with a diff if HEADER differs
    gen-uapi.py --cpp SPEC ...       the same for the C++ binding's tables
                                     (proto/cpp/include/sgnic/proto/spec.hpp)

Names follow the kernel's YNL conventions, so the header reads like the ones
the kernel generates for its own families: FAMILY_NAME/FAMILY_VERSION,
enum <family>_<definition> with render-max members, anonymous enums of
attribute ids <FAMILY>_A_<SET>_<ATTR> closed by __<FAMILY>_A_<SET>_MAX, the
command enum <FAMILY>_CMD_<OP>, and <FAMILY>_MCGRP_<GROUP> names.  Only the
parts of the spec language that proto/sgnic.yaml uses are supported; the
rest is refused rather than rendered wrongly.

With --cpp it renders the one C++ home of the match-field and action names:
each match field's name, uAPI id, length in bytes and bits used (from its
doc: "N bytes", "M bits used"), and each action's name, id and whether it
carries an argument (an attribute of the same name in the "action" set).
"""

import argparse
import difflib
import re
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


def definition(spec, name):
    for d in spec.get("definitions", []):
        if d["name"] == name:
            return d
    raise SystemExit(f"gen-uapi: the spec has no definition {name}")


def field_length(entry):
    """(bytes, bits used) from a match-field doc: "N bytes[, M bits used]"."""
    doc = entry.get("doc", "")
    length = re.search(r"\b(\d+) bytes?\b", doc)
    if not length:
        raise SystemExit(f"gen-uapi: match field {entry['name']}: its doc names no length "
                         "('N bytes')")
    bits = re.search(r"\b(\d+) bits used\b", doc)
    n = int(length.group(1))
    return n, int(bits.group(1)) if bits else 8 * n


def render_cpp(spec, spec_path):
    fam = spec["name"]
    up = c_upper(fam)
    fields = entry_dicts(definition(spec, "match-field"))
    actions = entry_dicts(definition(spec, "action-type"))
    action_set = next((s for s in spec["attribute-sets"] if s["name"] == "action"), None)
    if action_set is None:
        raise SystemExit("gen-uapi: the spec has no attribute set 'action'")
    with_arg = {a["name"] for a in action_set["attributes"] if a["name"] != "type"}
    w = Writer()
    w.p(f"// Generated from {spec_path} by proto/gen-uapi.py --cpp: do not edit.")
    w.p("// The one C++ home of the match-field and action names: fields.hpp and")
    w.p("// codec.hpp build on these tables.")
    w.p("#pragma once")
    w.p("")
    w.p(f"#include <linux/{c_lower(fam)}.h>")
    w.p("")
    w.p("#include <array>")
    w.p("#include <cstddef>")
    w.p("#include <cstdint>")
    w.p("#include <string_view>")
    w.p("")
    w.p("namespace sgnic::proto::spec {")
    w.p("")
    w.p("struct MatchField {")
    w.p("    std::string_view name;")
    w.p("    std::uint32_t id;    // enum sgnic_match_field")
    w.p("    std::size_t length;  // bytes, network byte order")
    w.p("    std::size_t bits;    // bits used, from the low end (vlan-id: 12 of 16)")
    w.p("};")
    w.p("")
    w.p(f"inline constexpr std::array<MatchField, {up}_MATCH_FIELD_MAX + 1> kMatchFields = {{{{")
    for f in fields:
        n, bits = field_length(f)
        w.p(f'    {{"{f["name"]}", {up}_MATCH_FIELD_{c_upper(f["name"])}, {n}, {bits}}},')
    w.p("}};")
    w.p("")
    w.p("// enum sgnic_action_type.")
    w.p("enum class ActionType : std::uint8_t {")
    for a in actions:
        w.p(f"    {c_lower(a['name'])} = {up}_ACTION_TYPE_{c_upper(a['name'])},")
    w.p("};")
    w.p("")
    w.p("struct Action {")
    w.p("    std::string_view name;")
    w.p("    ActionType type;")
    w.p("    bool takes_arg;  // mark N, queue N: an attribute of its name in the action set")
    w.p("};")
    w.p("")
    w.p(f"inline constexpr std::array<Action, {up}_ACTION_TYPE_MAX + 1> kActions = {{{{")
    for a in actions:
        arg = "true" if a["name"] in with_arg else "false"
        w.p(f'    {{"{a["name"]}", ActionType::{c_lower(a["name"])}, {arg}}},')
    w.p("}};")
    w.p("")
    w.p("}  // namespace sgnic::proto::spec")
    return w.text()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--cpp", action="store_true",
                    help="the C++ tables instead of the uAPI header")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("-o", "--output", help="write the header here")
    group.add_argument("--check", metavar="HEADER",
                       help="compare with HEADER instead of writing")
    ap.add_argument("--spec-name", default="proto/sgnic.yaml",
                    help="how the header names its source")
    args = ap.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    text = (render_cpp if args.cpp else render)(spec, args.spec_name)
    how = "--cpp " if args.cpp else ""

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
              f"'proto/gen-uapi.py {how}{args.spec} -o {args.check}'", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
