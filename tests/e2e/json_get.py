#!/usr/bin/env python3
"""Reads JSON on stdin and prints the value at a path of keys, e.g. `datagramDrops`, or the sum of a
dictionary's values with `--sum`. Used by the tests to read `lanyard status --json`."""
import json, sys
doc = json.load(sys.stdin)
args = sys.argv[1:]
do_sum = '--sum' in args
args = [a for a in args if a != '--sum']
for key in args:
    if isinstance(doc, list):
        doc = doc[int(key)]
    else:
        doc = doc.get(key, {} if do_sum else None)
print(sum(doc.values()) if do_sum else (json.dumps(doc) if isinstance(doc, (dict, list)) else doc))
