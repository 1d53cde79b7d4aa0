#!/bin/sh
# Runs a Python test with Debian's interpreter, which has grpc, protobuf and
# numpy (Bazel's py_test stub needs a `python` binary Debian 12 lacks).
exec /usr/bin/python3 "$@"
