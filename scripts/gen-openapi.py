#!/usr/bin/env python3
"""Writes Sources/lanyard/API/OpenAPIDocument.swift from docs/openapi.yaml (the API serves it at
/openapi.yaml; tests/e2e/api.sh checks that what it serves is the file). Run after editing the file."""
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
doc = open(os.path.join(root, "docs/openapi.yaml")).read()
assert '"""#' not in doc and doc.endswith("\n")
with open(os.path.join(root, "Sources/lanyard/API/OpenAPIDocument.swift"), "w") as f:
    f.write("/// The management API's OpenAPI document, served at /openapi.yaml. Generated from\n"
            "/// docs/openapi.yaml by scripts/gen-openapi.py: edit that file, then run the script.\n"
            "enum OpenAPIDocument {\n    static let yaml = #\"\"\"\n" + doc + "\n\"\"\"#\n}\n")
