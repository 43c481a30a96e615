#!/usr/bin/env bash
# The code-domain evaluation text of the FAQ measurements: the Python
# standard library's top-level modules of this Debian 12 machine
# (/usr/lib/python3.11/*.py, package python3.11-minimal/libpython3.11-stdlib),
# in name order, joined with blank lines. Prints the path and its size.
#   bench/faq/make_code_text.sh [OUT]   (default runs/data/python3.11-stdlib.txt)
set -euo pipefail
out=${1:-runs/data/python3.11-stdlib.txt}
src=/usr/lib/python3.11
[[ -d $src ]] || { echo "error: $src not found (apt-get install libpython3.11-stdlib)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
: > "$out.tmp"
for f in $(cd "$src" && LC_ALL=C ls *.py); do cat "$src/$f" >> "$out.tmp"; printf '\n\n' >> "$out.tmp"; done
mv "$out.tmp" "$out"
echo "$out $(wc -c < "$out") bytes from $(cd "$src" && ls *.py | wc -l) files of $src"
