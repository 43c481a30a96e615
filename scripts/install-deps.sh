#!/usr/bin/env bash
# Installs maca's build and run prerequisites from Debian 12 packages.
# Skips apt-get when everything is already installed; uses sudo when not root.
set -euo pipefail

PKGS=(build-essential cmake ninja-build pkg-config git ca-certificates
      libopenblas-dev liblapack-dev libhdf5-dev libyaml-cpp-dev libboost-program-options-dev
      nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
      libopenmpi-dev openmpi-bin shellcheck)
# python3 with pip (for scripts/fetch_models.py) may come from elsewhere
# (pyenv, conda): Debian's only when none works.
if ! { command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; }; then
  PKGS+=(python3 python3-pip)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi
