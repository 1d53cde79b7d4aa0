#!/bin/bash
# Drives the built `ember` binary's model commands on the fixtures:
# `predict` on every fixture model directory against its golden file, and
# `config-skeleton` output served by `predict` as printed.
set -u

EMBER="$1"
PY=/usr/bin/python3
MODELS=tests/fixtures/models
BURN=tests/fixtures/burn
TMP="${TEST_TMPDIR:-/tmp}/ember_model_cli_test.$$"
mkdir -p "$TMP"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Golden input of `golden` as predict's input JSON.
golden_input() {
  "$PY" - "$BURN/golden/$1.json" >"$TMP/input.json" <<'PYEOF'
import json, sys
g = json.load(open(sys.argv[1]))
json.dump({"name": g["input_name"], "shape": g["input_shape"],
           "data": g["inputs"]}, sys.stdout)
PYEOF
}

# Checks predict's stdout against the golden outputs and tolerance.
check_against_golden() {
  if ! "$PY" - "$BURN/golden/$1.json" "$TMP/out" <<'PYEOF'; then
import json, sys
g = json.load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
assert isinstance(out, list) and len(out) == 1, out
t = out[0]
assert t["name"] == g["output_name"], t["name"]
assert t["datatype"] == "FP32"
assert t["shape"] == g["output_shape"], t["shape"]
atol, rtol = g["tolerance"]["atol"], g["tolerance"]["rtol"]
bad = [i for i, (a, b) in enumerate(zip(t["data"], g["outputs"]))
       if abs(a - b) > atol + rtol * abs(b)]
assert not bad and len(t["data"]) == len(g["outputs"]), bad[:5]
PYEOF
    fail "$1: outputs differ from golden"
  fi
}

for pair in connect4:connect4-mlp-f32-burn0.16.1 \
    lenet:lenet-mnist-f16-burn0.18.0 mlp:mlp-mnist-f16-burn0.12.1 \
    cnn:cnn-mnist-f16-burn0.11.0 lstm:lstm-f16-burn0.17.0; do
  dir="${pair%%:*}"
  golden="${pair#*:}"
  golden_input "$golden"
  if "$EMBER" predict --model-dir "$MODELS/$dir" --input "$TMP/input.json" \
      >"$TMP/out" 2>"$TMP/err"; then
    check_against_golden "$golden"
  else
    fail "predict $dir: $(cat "$TMP/err")"
  fi
done

# Standard input, and a nameless single input.
echo '{"shape": [1, 42], "data": [[0,0,0,1,0,0,0], [0,0,0,0,0,0,0],
  [0,0,0,0,0,0,0], [0,0,0,0,0,0,0], [0,0,0,0,0,0,0], [0,0,0,0,0,0,0]]}' |
  "$EMBER" predict --model-dir "$MODELS/connect4" --input - \
    >"$TMP/out" 2>"$TMP/err" ||
  fail "predict from stdin: $(cat "$TMP/err")"
grep -q '"shape":\[1,7\]' "$TMP/out" || fail "stdin output: $(cat "$TMP/out")"

# Errors: exit 1 with one line on stderr naming the problem; usage errors 2.
"$EMBER" predict --model-dir "$TMP/none" --input "$TMP/input.json" \
  >"$TMP/out" 2>"$TMP/err"
[[ $? == 1 ]] || fail "missing model dir should exit 1"
grep -q "config.pbtxt" "$TMP/err" || fail "missing dir error: $(cat "$TMP/err")"
[[ $(wc -l <"$TMP/err") == 1 ]] ||
  fail "error is not one line: $(cat "$TMP/err")"
echo '{"shape": [1, 41], "data": []}' >"$TMP/short.json"
"$EMBER" predict --model-dir "$MODELS/connect4" --input "$TMP/short.json" \
  >"$TMP/out" 2>"$TMP/err"
[[ $? == 1 ]] || fail "bad input should exit 1"
grep -q "input 'board'" "$TMP/err" || fail "bad input error: $(cat "$TMP/err")"
"$EMBER" predict --input "$TMP/short.json" >"$TMP/out" 2>"$TMP/err"
[[ $? == 2 ]] || fail "missing --model-dir should be a usage error"

# A skeleton is a servable config as printed when the record needs nothing
# it cannot carry but activations (here: the Connect-4 MLP without ReLUs).
mkdir -p "$TMP/skeleton/1"
cp "$BURN/connect4-mlp-f32-burn0.16.1.mpk" "$TMP/skeleton/1/model.mpk"
"$EMBER" config-skeleton "$BURN/connect4-mlp-f32-burn0.16.1.mpk" \
  >"$TMP/skeleton/config.pbtxt" 2>"$TMP/err" ||
  fail "config-skeleton: $(cat "$TMP/err")"
grep -q 'FILL IN' "$TMP/skeleton/config.pbtxt" ||
  fail "skeleton has no FILL IN mark"
grep -q 'type: "linear" record_path: "layer_2"' "$TMP/skeleton/config.pbtxt" ||
  fail "skeleton lacks layer_2: $(cat "$TMP/skeleton/config.pbtxt")"
"$PY" -c 'import json
print(json.dumps({"shape": [2, 42], "data": [0.5] * 84}))' >"$TMP/two.json"
"$EMBER" predict --model-dir "$TMP/skeleton" --input "$TMP/two.json" \
  >"$TMP/out" 2>"$TMP/err" || fail "skeleton model: $(cat "$TMP/err")"
grep -q '"name":"output","datatype":"FP32","shape":\[2,7\]' "$TMP/out" ||
  fail "skeleton model output: $(cat "$TMP/out")"
for f in lenet-mnist-f16-burn0.18.0.mpk lstm-f16-burn0.17.0.mpk \
    cnn-mnist-f16-burn0.11.0.mpk.gz mlp-mnist-f16-burn0.12.1.mpk; do
  "$EMBER" config-skeleton "$BURN/$f" >"$TMP/out" 2>"$TMP/err" ||
    fail "config-skeleton $f: $(cat "$TMP/err")"
done
"$EMBER" config-skeleton "$TMP/none.mpk" >"$TMP/out" 2>"$TMP/err"
[[ $? == 1 ]] || fail "config-skeleton of a missing file should exit 1"

if [[ $failures != 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "all model CLI checks passed"
