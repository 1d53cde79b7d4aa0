#!/usr/bin/env bash
# The container's slim runtime stage must carry every library emberd and
# ember link against (see check_runtime_libraries.py).
set -euo pipefail
exec /usr/bin/python3 deploy/check_runtime_libraries.py deploy/Dockerfile \
  server/emberd client/ember
