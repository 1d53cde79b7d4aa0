#!/usr/bin/env bash
# Installs the Debian 12 packages Ember builds and tests with, skipping what
# is already there, plus any packages given as arguments (scripts/fuzz.sh
# adds clang this way). Safe to run repeatedly; needs root (or sudo).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap        # Bazel 4.2 (offline build)
  g++                    # C++17 compiler
  libgrpc++-dev          # gRPC C++ runtime, health service, reflection
  protobuf-compiler-grpc # grpc_cpp_plugin, grpc_python_plugin
  libprotobuf-dev protobuf-compiler
  libabsl-dev            # Status, flags, strings, synchronization
  libeigen3-dev          # matrix kernels
  libmsgpack-cxx-dev     # MessagePack encoder/decoder primitives
  libgoogle-glog-dev     # logging
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev             # .mpk.gz records
  libssl-dev             # SHA-256 of records (libcrypto; gRPC uses it too)
  grpc-proto             # health/reflection .proto files for test clients
  python3-grpcio python3-protobuf  # interoperability tests
  python3-numpy          # reference values in tests; the Python example
  openssl                # throwaway certificates for the TLS tests
  clang-format           # source formatting check
)
PACKAGES+=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "Installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
