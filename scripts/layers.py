#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the module's layering: no source file calls a file above it.

The order is the "Source files" map of Documentation/design.rst (bottom
first).  A file may call functions (or use variables) of files listed
before it; a call to a file listed after it is a circle in the making and
fails the check, as does a source file the map does not list.  References
through a function table (ops structures) are not calls and are allowed.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, 'drivers/net/chimney')
GENERATED = {'netlink-gen.c'}


def strip_comments(text):
    return re.sub(r'/\*.*?\*/|//[^\n]*', '', text, flags=re.S)


def sources():
    out = []
    for d, _, files in os.walk(SRC):
        for f in files:
            if f.endswith('.c') and not f.endswith('.mod.c'):
                rel = os.path.relpath(os.path.join(d, f), SRC)
                if rel not in GENERATED:
                    out.append(rel)
    return sorted(out)


def definitions(texts):
    funcs, variables = {}, {}
    for rel, s in texts.items():
        for m in re.finditer(r'^(?!static)[a-z][^\n;=(]*?\b(chim\w*)\(', s, re.M):
            funcs.setdefault(m.group(1), rel)
        for m in re.finditer(r'^(?!static)(?:const )?(?:struct )?\w+\s+\**'
                             r'(chim\w*)(?:\[[^]]*\])?\s*(?:__\w+\s*)?[;=]',
                             s, re.M):
            variables.setdefault(m.group(1), rel)
    return funcs, variables


def layer_order():
    doc = open(os.path.join(ROOT, 'Documentation/design.rst')).read()
    sec = doc[doc.index('Source files\n'):]
    order = []
    for line in sec.splitlines():
        m = re.match(r'^  ([\w/.-]+\.c)\b', line)
        if m:
            order.append(m.group(1))
    return order


def main():
    texts = {rel: strip_comments(open(os.path.join(SRC, rel)).read())
             for rel in sources()}
    funcs, variables = definitions(texts)
    order = layer_order()
    pos = {f: i for i, f in enumerate(order)}
    errors = [f'{rel}: not in the source map of design.rst'
              for rel in texts if rel not in pos]
    for rel, s in texts.items():
        if rel not in pos:
            continue
        for sym, where in list(funcs.items()) + list(variables.items()):
            if where == rel or where not in pos or pos[where] < pos[rel]:
                continue
            pat = r'\b' + sym + (r'\b' if sym in variables else r'\s*\(')
            if re.search(pat, s):
                errors.append(f'{rel} calls {sym}() of {where}, a layer above')
    for e in sorted(set(errors)):
        print('layers:', e)
    if errors:
        return 1
    print(f'layers: {len(texts)} files, no call upwards')
    return 0


if __name__ == '__main__':
    sys.exit(main())
