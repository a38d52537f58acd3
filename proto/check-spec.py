#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check a genetlink family spec against the structural rules that matter.

    check-spec.py SPEC          report every finding; exit 1 if any
    check-spec.py --selftest SPEC
                                break SPEC in known ways and prove each
                                break is found

The kernel's schema (Documentation/netlink/genetlink.yaml) cannot be
fetched at build time, so this is our own check of what the schema and the
YNL tools rely on, plus the rules the sgnic kernel code relies on:

  - SPDX tag on the first line; only keys the genetlink schema allows, at
    every level; the required ones present.
  - definitions: unique names; enum/flags entries unique by name and value;
    const values present.
  - attribute sets: unique names; attributes unique by name and id; types
    valid; nests name an existing set, scalars name none; enum names an
    enum or flags definition; checks fit the type (min/max on integers,
    lengths on binary/string, flags-mask on a flags definition); a set with
    a u64 has exactly one pad attribute (nla_put_u64_64bit needs it).
  - operations: unique names and ids; a doc; do/dump/event/notify/mcgrp
    consistent; every request/reply/event attribute exists in the op's set;
    notify names an op with a reply; notifications go to a declared group.
  - project rules: mutating ops (-new, -del, -move, -resize, -set) carry
    admin-perm and read ops do not; every attribute set is reachable from an
    operation; every attribute of a top-level set is used by some op; the C
    names rendered in the uAPI header are all distinct.
"""

import copy
import sys

import yaml

SPDX = "# SPDX-License-Identifier: "

TOP_KEYS = {"name", "doc", "protocol", "uapi-header", "definitions",
            "attribute-sets", "operations", "mcast-groups"}
TOP_REQUIRED = {"name", "doc", "attribute-sets", "operations"}
DEF_KEYS = {"name", "header", "type", "doc", "value", "value-start", "entries",
            "render-max", "name-prefix"}
ENTRY_KEYS = {"name", "value", "doc"}
SET_KEYS = {"name", "name-prefix", "enum-name", "doc", "subset-of", "attributes"}
ATTR_KEYS = {"name", "type", "doc", "value", "type-value", "byte-order",
             "multi-attr", "nested-attributes", "enum", "enum-as-flags", "checks",
             "sub-type", "display-hint"}
CHECK_KEYS = {"flags-mask", "min", "max", "min-len", "max-len", "exact-len"}
OPS_KEYS = {"enum-model", "name-prefix", "enum-name", "async-prefix",
            "async-enum", "list"}
OP_KEYS = {"name", "doc", "value", "attribute-set", "flags", "dont-validate",
           "config-cond", "do", "dump", "notify", "event", "mcgrp"}
SUBOP_KEYS = {"request", "reply", "pre", "post"}
MSG_KEYS = {"attributes"}
MCGRP_KEYS = {"name", "flags"}

ATTR_TYPES = {"unused", "pad", "flag", "binary", "uint", "sint", "u8", "u16",
              "u32", "u64", "s32", "s64", "string", "nest", "array-nest",
              "nest-type-value"}
INT_TYPES = {"uint", "sint", "u8", "u16", "u32", "u64", "s32", "s64"}
NEST_TYPES = {"nest", "array-nest", "nest-type-value"}
DISPLAY_HINTS = {"hex", "mac", "fddi", "ipv4", "ipv6", "uuid"}
MUTATING = ("-new", "-del", "-move", "-resize", "-set")


def c_upper(name):
    return name.upper().replace("-", "_")


class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.errors = []

    def err(self, where, what):
        self.errors.append(f"{where}: {what}")

    def keys(self, where, obj, allowed, required=()):
        if not isinstance(obj, dict):
            self.err(where, "must be a mapping")
            return False
        for k in sorted(set(obj) - allowed):
            self.err(where, f"unknown key {k!r}")
        for k in sorted(set(required) - set(obj)):
            self.err(where, f"missing key {k!r}")
        return True

    def unique(self, where, what, items):
        seen = set()
        for i in items:
            if i in seen:
                self.err(where, f"duplicate {what} {i!r}")
            seen.add(i)

    def run(self):
        s = self.spec
        if not self.keys("spec", s, TOP_KEYS, TOP_REQUIRED):
            return self.errors
        if s.get("protocol", "genetlink") != "genetlink":
            self.err("spec", "protocol must be genetlink")
        self.defs = self.check_definitions()
        self.sets = self.check_sets()
        self.groups = self.check_groups()
        self.check_operations()
        self.check_reachability()
        self.check_c_names()
        return self.errors

    def check_definitions(self):
        defs = {}
        for i, d in enumerate(self.spec.get("definitions", [])):
            where = f"definitions[{d.get('name', i)}]"
            if not self.keys(where, d, DEF_KEYS, {"name", "type"}):
                continue
            if d["name"] in defs:
                self.err(where, "duplicate definition name")
            defs[d["name"]] = d
            if d["type"] == "const":
                if "value" not in d:
                    self.err(where, "const without a value")
            elif d["type"] in ("enum", "flags"):
                self.check_entries(where, d)
            else:
                self.err(where, f"bad type {d['type']!r}")
        return defs

    def check_entries(self, where, d):
        names, values = [], []
        value = d.get("value-start", 0)
        for e in d.get("entries", []):
            if isinstance(e, str):
                e = {"name": e}
            if not self.keys(f"{where}.{e.get('name')}", e, ENTRY_KEYS, {"name"}):
                continue
            value = e.get("value", value)
            names.append(e["name"])
            values.append(value)
            value += 1
        if not names:
            self.err(where, "no entries")
        self.unique(where, "entry", names)
        self.unique(where, "entry value", values)

    def check_sets(self):
        sets = {}
        for i, st in enumerate(self.spec["attribute-sets"]):
            where = f"attribute-sets[{st.get('name', i)}]"
            if not self.keys(where, st, SET_KEYS, {"name", "attributes"}):
                continue
            if st["name"] in sets:
                self.err(where, "duplicate attribute-set name")
            sets[st["name"]] = st
        for st in sets.values():
            self.check_set(st, sets)
        return sets

    def check_set(self, st, sets):
        where = f"attribute-sets[{st['name']}]"
        if "subset-of" in st:
            parent = sets.get(st["subset-of"])
            if parent is None:
                self.err(where, f"subset-of unknown set {st['subset-of']!r}")
                return
            names = {a["name"] for a in parent["attributes"]}
            for a in st["attributes"]:
                if a.get("name") not in names:
                    self.err(where, f"subset attribute {a.get('name')!r} not in parent")
            return
        names, ids, pads, has_u64 = [], [], 0, False
        value = 1
        for a in st["attributes"]:
            aw = f"{where}.{a.get('name')}"
            if not self.keys(aw, a, ATTR_KEYS, {"name", "type"}):
                continue
            value = a.get("value", value)
            names.append(a["name"])
            ids.append(value)
            value += 1
            self.check_attr(aw, a, sets)
            pads += a["type"] == "pad"
            has_u64 |= a["type"] in ("u64", "s64")
        self.unique(where, "attribute", names)
        self.unique(where, "attribute id", ids)
        if 0 in ids:
            self.err(where, "attribute id 0 is reserved")
        if pads > 1:
            self.err(where, "more than one pad attribute")
        if has_u64 and not pads:
            self.err(where, "u64 attributes need a pad attribute")

    def check_attr(self, where, a, sets):
        t = a["type"]
        if t not in ATTR_TYPES:
            self.err(where, f"bad type {t!r}")
            return
        if t in NEST_TYPES:
            if a.get("nested-attributes") not in sets:
                self.err(where, f"nest of unknown set {a.get('nested-attributes')!r}")
        elif "nested-attributes" in a:
            self.err(where, "nested-attributes on a non-nest")
        if "enum" in a:
            d = self.defs.get(a["enum"])
            if d is None or d["type"] not in ("enum", "flags"):
                self.err(where, f"enum {a['enum']!r} is not an enum or flags definition")
            if t not in INT_TYPES:
                self.err(where, "enum on a non-integer")
        elif a.get("enum-as-flags"):
            self.err(where, "enum-as-flags without enum")
        if "display-hint" in a and a["display-hint"] not in DISPLAY_HINTS:
            self.err(where, f"bad display-hint {a['display-hint']!r}")
        if "byte-order" in a and a["byte-order"] not in ("little-endian", "big-endian"):
            self.err(where, f"bad byte-order {a['byte-order']!r}")
        checks = a.get("checks")
        if checks is None:
            return
        if not self.keys(f"{where}.checks", checks, CHECK_KEYS):
            return
        if ("min" in checks or "max" in checks) and t not in INT_TYPES:
            self.err(where, "min/max checks on a non-integer")
        lens = {"min-len", "max-len", "exact-len"} & set(checks)
        if lens and t not in ("binary", "string"):
            self.err(where, "length checks on a non-binary, non-string")
        for k in ("min", "max", "min-len", "max-len", "exact-len"):
            if isinstance(checks.get(k), int) and checks[k] < 0:
                self.err(where, f"negative {k}")
        if isinstance(checks.get("min"), int) and isinstance(checks.get("max"), int) \
                and checks["min"] > checks["max"]:
            self.err(where, "min above max")
        if "flags-mask" in checks:
            d = self.defs.get(checks["flags-mask"])
            if d is None or d["type"] != "flags":
                self.err(where, f"flags-mask {checks['flags-mask']!r} is not a flags definition")

    def check_groups(self):
        groups = set()
        mc = self.spec.get("mcast-groups")
        if mc is None:
            return groups
        if not self.keys("mcast-groups", mc, {"list"}, {"list"}):
            return groups
        names = []
        for g in mc["list"]:
            if self.keys(f"mcast-groups[{g.get('name')}]", g, MCGRP_KEYS, {"name"}):
                names.append(g["name"])
        self.unique("mcast-groups", "group", names)
        return set(names)

    def msg_attrs(self, where, msg, attr_set):
        if not self.keys(where, msg, MSG_KEYS):
            return []
        attrs = msg.get("attributes", [])
        self.unique(where, "attribute", attrs)
        if attr_set is not None:
            known = {a["name"] for a in attr_set["attributes"]}
            for name in attrs:
                if name not in known:
                    self.err(where, f"attribute {name!r} not in set {attr_set['name']!r}")
        return attrs

    def check_operations(self):
        ops = self.spec["operations"]
        if not self.keys("operations", ops, OPS_KEYS, {"list"}):
            self.ops = {}
            return
        if ops.get("enum-model", "unified") != "unified":
            self.err("operations", "enum-model must be unified")
        self.ops = {}
        names, ids = [], []
        value = 1
        for op in ops["list"]:
            where = f"operations[{op.get('name')}]"
            if not self.keys(where, op, OP_KEYS, {"name", "doc"}):
                continue
            value = op.get("value", value)
            names.append(op["name"])
            ids.append(value)
            value += 1
            self.ops[op["name"]] = op
        self.unique("operations", "operation", names)
        self.unique("operations", "operation id", ids)
        if 0 in ids:
            self.err("operations", "operation id 0 is reserved")
        self.used = {}
        for op in self.ops.values():
            self.check_op(op)

    def check_op(self, op):
        where = f"operations[{op['name']}]"
        is_call = "do" in op or "dump" in op
        is_ntf = "notify" in op or "event" in op
        if is_call == is_ntf:
            self.err(where, "must be either a call (do/dump) or a notification")
        for f in op.get("flags", []):
            if f != "admin-perm":
                self.err(where, f"bad flag {f!r}")
        set_name = op.get("attribute-set")
        if "notify" in op:
            target = self.ops.get(op["notify"])
            if target is None:
                self.err(where, f"notify of unknown op {op['notify']!r}")
            elif not any("reply" in target.get(m, {}) for m in ("do", "dump")):
                self.err(where, f"notify of {op['notify']!r}, which has no reply")
            elif set_name is None:
                set_name = target.get("attribute-set")
        attr_set = self.sets.get(set_name)
        if set_name is None or attr_set is None:
            self.err(where, f"unknown attribute-set {set_name!r}")
        used = self.used.setdefault(set_name, set())
        for mode in ("do", "dump"):
            if mode not in op:
                continue
            sub = op[mode]
            if not self.keys(f"{where}.{mode}", sub, SUBOP_KEYS):
                continue
            if mode == "do" and "request" not in sub:
                self.err(f"{where}.do", "no request")
            for part in ("request", "reply"):
                if part in sub:
                    used.update(self.msg_attrs(f"{where}.{mode}.{part}", sub[part], attr_set))
        if "event" in op:
            used.update(self.msg_attrs(f"{where}.event", op["event"], attr_set))
        if is_ntf:
            if op.get("mcgrp") not in self.groups:
                self.err(where, f"notification to unknown group {op.get('mcgrp')!r}")
            if "flags" in op:
                self.err(where, "flags on a notification")
        elif "mcgrp" in op:
            self.err(where, "mcgrp on a call")
        if is_call:
            admin = "admin-perm" in op.get("flags", [])
            mutating = op["name"].endswith(MUTATING)
            if mutating and not admin:
                self.err(where, "mutating op without admin-perm")
            if not mutating and admin:
                self.err(where, "read op with admin-perm (dumps are open to all)")

    def check_reachability(self):
        reached = set()
        todo = [n for n in self.used if n in self.sets]
        while todo:
            name = todo.pop()
            if name in reached:
                continue
            reached.add(name)
            st = self.sets[name]
            parent = st.get("subset-of")
            if parent in self.sets:
                todo.append(parent)
            for a in st["attributes"]:
                if a.get("nested-attributes") in self.sets:
                    todo.append(a["nested-attributes"])
        for name in self.sets:
            if name not in reached:
                self.err(f"attribute-sets[{name}]", "not reachable from any operation")
        nested = {a.get("nested-attributes") for st in self.sets.values()
                  for a in st["attributes"]}
        for name, used in self.used.items():
            if name not in self.sets or name in nested:
                continue
            for a in self.sets[name]["attributes"]:
                if a.get("type") != "pad" and a["name"] not in used:
                    self.err(f"attribute-sets[{name}].{a['name']}",
                             "used by no operation")

    def check_c_names(self):
        fam = self.spec["name"]
        names = [f"{fam}-family-name", f"{fam}-family-version"]
        for d in self.defs.values():
            if d["type"] == "const":
                names.append(d.get("name-prefix", f"{fam}-") + d["name"])
                continue
            prefix = d.get("name-prefix", f"{fam}-{d['name']}-")
            for e in d.get("entries", []):
                names.append(prefix + (e if isinstance(e, str) else e["name"]))
            if d.get("render-max"):
                names.append(prefix + ("mask" if d["type"] == "flags" else "max"))
        for st in self.sets.values():
            if "subset-of" in st:
                continue
            prefix = st.get("name-prefix", f"{fam}-a-{st['name']}-")
            names += [prefix + a["name"] for a in st["attributes"]]
            names += [prefix + "max", "--" + prefix + "max"]
        prefix = self.spec["operations"].get("name-prefix", f"{fam}-cmd-")
        names += [prefix + n for n in self.ops] + [prefix + "max", "--" + prefix + "max"]
        names += [f"{fam}-mcgrp-{g}" for g in self.groups]
        self.unique("uapi", "C name", [c_upper(n) for n in names])


def load(path):
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        f.seek(0)
        return first, yaml.safe_load(f)


def check(first, spec):
    errors = []
    if not first.startswith(SPDX):
        errors.append("spec: first line must be an SPDX-License-Identifier comment")
    return errors + Checker(spec).run()


def find(seq, name):
    return next(x for x in seq if x.get("name") == name)


def breakages():
    """(what, function that breaks a spec in place, finding expected)"""
    def op(s, name):
        return find(s["operations"]["list"], name)

    def aset(s, name):
        return find(s["attribute-sets"], name)

    def drop_admin(s):
        op(s, "matcher-new").pop("flags")

    def dangling_nest(s):
        find(aset(s, "matcher")["attributes"], "template")["nested-attributes"] = "nope"

    def unknown_reply_attr(s):
        op(s, "rule-get")["do"]["reply"]["attributes"].append("no-such-attr")

    def duplicate_id(s):
        find(aset(s, "rule")["attributes"], "match")["value"] = 1

    def bad_type(s):
        find(aset(s, "rule")["attributes"], "id")["type"] = "u31"

    def ntf_no_group(s):
        op(s, "dev-add-ntf")["mcgrp"] = "nope"

    def unknown_key(s):
        op(s, "rule-new")["frobnicate"] = True

    def orphan_set(s):
        s["attribute-sets"].append({"name": "orphan", "attributes": [
            {"name": "x", "type": "u32"}]})

    def no_pad(s):
        attrs = aset(s, "counters")["attributes"]
        attrs.remove(find(attrs, "pad"))

    def c_name_clash(s):
        find(aset(s, "dev")["attributes"], "matchers")["name"] = "max"

    def flags_mask_on_enum(s):
        find(aset(s, "rule")["attributes"], "direction")["checks"]["flags-mask"] = \
            "action-type"

    def unused_attr(s):
        aset(s, "dev")["attributes"].append({"name": "spare", "type": "u32"})

    return [
        ("mutating op without admin-perm", drop_admin, "without admin-perm"),
        ("nest of a missing set", dangling_nest, "nest of unknown set"),
        ("reply attribute not in set", unknown_reply_attr, "'no-such-attr' not in set"),
        ("duplicate attribute id", duplicate_id, "duplicate attribute id"),
        ("invalid attribute type", bad_type, "bad type 'u31'"),
        ("notification to missing group", ntf_no_group, "unknown group"),
        ("key the schema does not know", unknown_key, "unknown key 'frobnicate'"),
        ("unreachable attribute set", orphan_set, "not reachable"),
        ("u64 without pad", no_pad, "need a pad"),
        ("clashing C names", c_name_clash, "duplicate C name"),
        ("flags-mask on an enum", flags_mask_on_enum, "not a flags definition"),
        ("attribute no op uses", unused_attr, "used by no operation"),
    ]


def selftest(first, spec):
    failures = 0
    base = check(first, spec)
    if base:
        print("selftest: the spec itself has findings:\n  " + "\n  ".join(base))
        return 1
    if not check("# no licence\n", spec):
        print("selftest: FAIL missing SPDX line not found")
        failures += 1
    for what, breakit, expect in breakages():
        broken = copy.deepcopy(spec)
        breakit(broken)
        found = check(first, broken)
        if any(expect in e for e in found):
            print(f"selftest: ok   {what}")
        else:
            print(f"selftest: FAIL {what}: expected {expect!r}, got {found}")
            failures += 1
    return 1 if failures else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--selftest":
        return selftest(*load(argv[2]))
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(*load(argv[1]))
    for e in errors:
        print(f"{argv[1]}: {e}")
    if errors:
        return 1
    print(f"{argv[1]}: structure ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
