#!/usr/bin/env python3
"""Reads JSON on stdin and prints the value at a path of keys, e.g. `datagramDrops`, or the sum of a
dictionary's values with `--sum`. Used by the tests to read `lanyard status --json`.
In a list, a number picks by position and `key=value[,key=value...]` picks the first element whose
fields match (as text), e.g. `members name=b path` or `relayPairs from=a,to=b bytes`. A missing
key or element prints None (0 with --sum)."""
import json, sys
doc = json.load(sys.stdin)
args = sys.argv[1:]
do_sum = '--sum' in args
args = [a for a in args if a != '--sum']
for key in args:
    if doc is None:
        break
    if isinstance(doc, list):
        if '=' in key:
            conds = [c.split('=', 1) for c in key.split(',')]
            doc = next((e for e in doc if isinstance(e, dict)
                        and all(str(e.get(k)) == v for k, v in conds)), None)
        else:
            doc = doc[int(key)]
    else:
        doc = doc.get(key, {} if do_sum else None)
if do_sum:
    print(sum(doc.values()) if isinstance(doc, dict) else 0)
else:
    print(json.dumps(doc) if isinstance(doc, (dict, list)) else doc)
