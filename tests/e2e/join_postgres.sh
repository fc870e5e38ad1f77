#!/usr/bin/env bash
# tests/e2e/join.sh with the members in a PostgreSQL server the test starts itself (and, only
# there, the database stopped and started again under a running switch).
STORE=postgres exec bash "$(dirname "$0")/join.sh"
