#!/usr/bin/env bash
# Key cache invalidation in sessions that stay open (see crypto/sessions.py).
# The system Python has psycopg2 (python3-psycopg2); a python3 earlier on
# PATH (pyenv, venv) may not.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$(dirname "${BASH_SOURCE[0]}")/crypto/sessions.py"
