#!/bin/sh
# Generates Python modules for Ember's gRPC API with Debian's protoc and
# gRPC plugin (packages protobuf-compiler and protobuf-compiler-grpc):
#
#   client/python/generate.sh [OUT_DIR]
#
# OUT_DIR (default: client/python/generated) receives proto/grpc_service_pb2.py,
# proto/grpc_service_pb2_grpc.py, proto/records_pb2.py and
# proto/records_pb2_grpc.py; put OUT_DIR on sys.path and import them as
# `from proto import grpc_service_pb2`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# The repository root, which the .proto files' imports are relative to;
# EMBER_PROTO_ROOT overrides it (e.g. a copy of the proto/ folder).
root=${EMBER_PROTO_ROOT:-$(cd "$here/../.." && pwd)}
out=${1:-$here/generated}

mkdir -p "$out"
/usr/bin/protoc -I"$root" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  "$root/proto/grpc_service.proto" "$root/proto/records.proto"
echo "generated Python stubs in $out/proto"
