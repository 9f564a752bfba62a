#!/bin/sh
# Installs Jupyter into the image. On a plain Debian base it creates /opt/jupyter from Debian's Python;
# on an upstream Jupyter image it adds the requirements to the Python that already runs jupyter.
set -eu
if command -v jupyter >/dev/null 2>&1; then
    py=$(dirname "$(command -v jupyter)")/python
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3 python3-venv git
    apt-get clean
    rm -rf /var/lib/apt/lists/*
    python3 -m venv /opt/jupyter
    py=/opt/jupyter/bin/python
fi
"$py" -m pip install -q -r /tmp/nbh/requirements.txt
# rfc3987-syntax compiles a grammar when imported (jupyter-events -> jsonschema's optional IRI
# check): 0.7 s of every server start and 17 MB of every idle server, for a check Jupyter's event
# schemas never use. jsonschema imports it only if present.
"$py" -m pip uninstall -y -q rfc3987-syntax
# Students open a notebook and run it: start its kernel without asking which one.
settings=$("$py" -c 'import sys; print(sys.prefix)')/share/jupyter/lab/settings
mkdir -p "$settings"
cp /tmp/nbh/lab-overrides.json "$settings/overrides.json"
# Jupyter's terminals are login shells, and Debian's /etc/profile resets PATH: keep Jupyter's
# Python first for every uid, or `nbgrader` (and the `alembic` it runs) is not found there.
bindir=$(dirname "$py")
cat > /etc/profile.d/nbhosting-jupyter.sh <<PROFILE
case ":\$PATH:" in *":$bindir:"*) ;; *) PATH="$bindir:\$PATH"; export PATH ;; esac
PROFILE
# The student's uid has no passwd entry; git would otherwise refuse the read-only course mount.
git config --system safe.directory '*'
mkdir -p /home/jovyan && chmod 1777 /home/jovyan
