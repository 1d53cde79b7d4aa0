#!/bin/bash
# Runs the built `ember` binary on the Burn fixtures and checks its output,
# the files it writes and its exit codes.
set -u

EMBER="$1"
FIX=tests/fixtures/burn
PY=/usr/bin/python3
TMP="${TEST_TMPDIR:-/tmp}/ember_cli_test.$$"
mkdir -p "$TMP"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_exit CODE CMD...: runs CMD, keeps stdout/stderr in $TMP/out, err.
expect_exit() {
  local want=$1
  shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [[ $got != "$want" ]]; then
    fail "exit $got (want $want): $*; stderr: $(cat "$TMP/err")"
  fi
}

expect_out() {
  grep -qF -- "$1" "$TMP/out" || fail "stdout lacks \"$1\": $(head -c 400 "$TMP/out")"
}

expect_err_line() {
  grep -qF -- "$1" "$TMP/err" || fail "stderr lacks \"$1\": $(cat "$TMP/err")"
  [[ $(wc -l <"$TMP/err") == 1 ]] || fail "stderr is not one line: $(cat "$TMP/err")"
}

# json_check EXPR: a Python expression over `d` (the parsed stdout) that
# must be true.
json_check() {
  "$PY" -c "import json,sys; d=json.load(open('$TMP/out')); sys.exit(0 if ($1) else 1)" ||
    fail "JSON check failed: $1"
}

# --- help and usage -------------------------------------------------------
expect_exit 0 "$EMBER" help
expect_out "inspect"
expect_out "convert"
expect_exit 0 "$EMBER" inspect --help
expect_out "usage: ember inspect FILE"
expect_out "--json"
expect_out "ember inspect --json model.mpk.gz"
expect_exit 0 "$EMBER" help convert
expect_out "--precision=full|half|double"
expect_exit 2 "$EMBER"
expect_exit 2 "$EMBER" frobnicate
expect_err_line "unknown command"
expect_exit 2 "$EMBER" inspect
expect_err_line "missing argument FILE"
expect_exit 2 "$EMBER" inspect --bogus "$FIX/lstm-f16-burn0.17.0.mpk"
expect_err_line "unknown flag --bogus"
expect_exit 2 "$EMBER" convert "$FIX/lstm-f16-burn0.17.0.mpk" "$TMP/x.mpk" --precision f16
expect_err_line "unknown precision"
expect_exit 2 "$EMBER" convert "$FIX/lstm-f16-burn0.17.0.mpk" "$TMP/x.bin"
expect_err_line "expected .mpk or .mpk.gz"

# --- inspect, text --------------------------------------------------------
expect_exit 0 "$EMBER" inspect "$FIX/connect4-mlp-f32-burn0.16.1.mpk"
expect_out "burn version  0.16.1"
expect_out "FullPrecisionSettings"
expect_out "tensor_data"
expect_out "compressed    no"
expect_out "weight  F32 [42, 64]"
expect_out "parameters    4,919"
expect_out "bytes         19,676"
expect_exit 0 "$EMBER" inspect "$FIX/cnn-mnist-f16-burn0.11.0.mpk.gz"
expect_out "value_shape"
expect_out "compressed    yes (gzip)"
expect_out "_b key        no"

# --- inspect, JSON --------------------------------------------------------
for f in "$FIX"/*.mpk "$FIX"/*.mpk.gz; do
  expect_exit 0 "$EMBER" inspect --json "$f"
  json_check "all(k in d for k in ['burn_version','float','int','settings','format','layout','compressed','tensors','num_parameters','bytes'])"
  json_check "d['num_parameters'] == sum(__import__('math').prod(t['shape']) for t in d['tensors'])"
done
expect_exit 0 "$EMBER" inspect --json "$FIX/mlp-mnist-f16-burn0.12.1.mpk"
json_check "d['layout'] == 'value_shape' and d['compressed'] is False and d['burn_version'] == '0.12.1'"
json_check "[t['path'] for t in d['tensors']] == ['linear1.weight','linear1.bias','linear2.weight','linear2.bias']"
json_check "d['tensors'][0]['dtype'] == 'F16' and d['tensors'][0]['shape'] == [784, 512]"
expect_exit 0 "$EMBER" inspect --json "$FIX/lstm-f16-burn0.17.0.mpk"
json_check "d['tensors'][0]['path'] == 'stacked_lstm.layers[0].weight_ih.weight'"
json_check "d['tensors'][-1]['path'] == 'fc.bias' and d['float'] == 'half::binary16::f16'"

# --- inspect failures -----------------------------------------------------
expect_exit 1 "$EMBER" inspect "$TMP/missing.mpk"
expect_err_line "missing.mpk"
expect_exit 1 "$EMBER" inspect "$TMP"
expect_err_line "not a regular file"
head -c 3000 "$FIX/connect4-mlp-f32-burn0.16.1.mpk" >"$TMP/truncated.mpk"
expect_exit 1 "$EMBER" inspect "$TMP/truncated.mpk"
expect_err_line "item.layer_0.weight"

# --- convert --------------------------------------------------------------
expect_exit 0 "$EMBER" convert "$FIX/connect4-mlp-f32-burn0.16.1.mpk" "$TMP/c4-half.mpk" --precision half
expect_out "half precision, 6 tensors"
expect_exit 0 "$EMBER" inspect --json "$TMP/c4-half.mpk"
json_check "d['precision'] == 'half' and d['settings'] == 'HalfPrecisionSettings' and d['int'] == 'i16'"
json_check "all(t['dtype'] == 'F16' for t in d['tensors'])"
# The f16 bytes are numpy's astype(float16) of the f32 weights.
"$PY" - "$FIX/connect4-mlp-f32-burn0.16.1.mpk" "$TMP/c4-half.mpk" <<'PYEOF' || fail "f16 values differ from numpy"
import struct, sys
import numpy as np
def payloads(path):
    data = open(path, 'rb').read()
    pos, out = 0, []
    while (pos := data.find(b'\xa5bytes', pos)) >= 0:
        pos += 6
        m = data[pos]
        n, h = {0xc4: (data[pos+1], 2),
                0xc5: (struct.unpack('>H', data[pos+1:pos+3])[0], 3),
                0xc6: (struct.unpack('>I', data[pos+1:pos+5])[0], 5)}[m]
        out.append(data[pos+h:pos+h+n]); pos += h + n
    return out
full, half = payloads(sys.argv[1]), payloads(sys.argv[2])
assert len(full) == len(half) == 6
for f, h in zip(full, half):
    assert np.frombuffer(f, '<f4').astype(np.float16).tobytes() == h
PYEOF

# Half -> Full -> Half gives the original file back (TensorData record).
LENET="$FIX/lenet-mnist-f16-burn0.18.0.mpk"
expect_exit 0 "$EMBER" convert "$LENET" "$TMP/lenet-full.mpk.gz" --precision full
expect_exit 0 "$EMBER" inspect --json "$TMP/lenet-full.mpk.gz"
json_check "d['compressed'] and d['precision'] == 'full' and 'NamedMpkGzFileRecorder' in d['format']"
expect_exit 0 "$EMBER" convert "$TMP/lenet-full.mpk.gz" "$TMP/lenet-half.mpk" --precision half
cmp -s "$LENET" "$TMP/lenet-half.mpk" || fail "half->full->half changed the file"
# Same precision and format: the same bytes.
expect_exit 0 "$EMBER" convert "$LENET" "$TMP/lenet-same.mpk"
cmp -s "$LENET" "$TMP/lenet-same.mpk" || fail "same-precision convert changed the file"
# Old layout converted: TensorData out.
expect_exit 0 "$EMBER" convert "$FIX/cnn-mnist-f16-burn0.11.0.mpk.gz" "$TMP/cnn-full.mpk" --precision full
expect_exit 0 "$EMBER" inspect --json "$TMP/cnn-full.mpk"
json_check "d['layout'] == 'tensor_data' and d['has_phantom_b'] and d['burn_version'] == '0.14.0'"
expect_exit 1 "$EMBER" convert "$TMP/truncated.mpk" "$TMP/y.mpk"
expect_err_line "truncated"
[[ ! -e "$TMP/y.mpk" ]] || fail "a failed convert left an output file"

rm -rf "$TMP"
if [[ $failures != 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all ember CLI checks passed"
