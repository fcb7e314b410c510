#!/usr/bin/env bash
# Every read path of governed data (test/scripts/py/audit_paths.py), with a
# python3 that has psycopg2 (the Debian one if the first on PATH has not).
dir=$(cd "$(dirname "$0")" && pwd)
py=python3
if ! "$py" -c 'import psycopg2' 2>/dev/null; then py=/usr/bin/python3; fi
exec "$py" "$dir/py/audit_paths.py"
