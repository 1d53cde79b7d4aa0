#!/bin/bash
# Runs the Python example (client/python) against the real emberd: generates
# its stubs with Debian's protoc, runs inference on connect4 (checking the
# golden argmax), then, with tokens, uploads a half-precision record as
# version 2, waits until it serves and runs inference on it. Also feeds
# `ember infer` arrays written by NumPy itself.
set -euo pipefail

root="$TEST_SRCDIR/ember"
tmp="$TEST_TMPDIR/python-example"
rm -rf "$tmp"
mkdir -p "$tmp/repo/connect4/1"
python=/usr/bin/python3
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Waits (at most 60 s) for a server's port file; prints the port.
wait_for_port() {
  local file=$1 log=$2
  for _ in $(seq 600); do
    if [[ -s "$file" ]]; then
      cat "$file"
      return
    fi
    sleep 0.1
  done
  cat "$log" >&2
  fail "no port file $file"
}

cp "$root/tests/fixtures/models/connect4/config.pbtxt" "$tmp/repo/connect4/"
cp -L "$root/tests/fixtures/models/connect4/1/model.mpk" \
  "$tmp/repo/connect4/1/model.mpk"

"$root/client/python/generate.sh" "$tmp/stubs" >/dev/null
for module in grpc_service_pb2 grpc_service_pb2_grpc records_pb2 \
  records_pb2_grpc; do
  [[ -f "$tmp/stubs/proto/$module.py" ]] || fail "generate.sh made no $module"
done

"$root/server/emberd" --model_repository="$tmp/repo" \
  --grpc_address=127.0.0.1:0 --port_file="$tmp/emberd.port" \
  >"$tmp/emberd.log" 2>&1 &
pids+=($!)
emberd_port=$(wait_for_port "$tmp/emberd.port" "$tmp/emberd.log")

# The golden boards as an input file.
"$python" - "$root/tests/fixtures/burn/golden/connect4-mlp-f32-burn0.16.1.json" \
  "$tmp/boards.json" <<'PY'
import json, sys
golden = json.load(open(sys.argv[1]))
json.dump({"shape": golden["input_shape"], "data": golden["inputs"]},
          open(sys.argv[2], "w"))
print(golden["argmax"])
PY

example=("$python" "$root/client/python/ember_example.py" --stubs "$tmp/stubs")

# The model may still be loading: retry until it serves.
out=""
for _ in $(seq 100); do
  if out=$("${example[@]}" --server "127.0.0.1:$emberd_port" \
    infer connect4 "$tmp/boards.json" 2>&1); then
    break
  fi
  sleep 0.1
done
echo "$out"
grep -q "model connect4 version 1" <<<"$out" || fail "no model line"
grep -q "q_values FP32 \[4, 7\]" <<<"$out" || fail "no q_values"
grep -q "argmax \[4, 4, 4, 2\]" <<<"$out" || fail "argmax differs from golden"

# The ember command line reads arrays as NumPy itself writes them: float64
# (converted to the model's FP32), C order; Fortran order is refused.
"$python" - "$tmp/boards.json" "$tmp" <<'PY'
import json, sys
import numpy as np
doc = json.load(open(sys.argv[1]))
boards = np.asarray(doc["data"], dtype=np.float64).reshape(doc["shape"])
np.save(sys.argv[2] + "/boards.npy", boards)
np.save(sys.argv[2] + "/boards-fortran.npy", np.asfortranarray(boards))
PY
out=$("$root/client/ember" infer connect4 --input "board=$tmp/boards.npy" \
  --json --server "127.0.0.1:$emberd_port") || fail "ember infer: $out"
argmax=$("$python" -c '
import json, sys
import numpy as np
q = json.load(sys.stdin)["outputs"][0]
print(np.asarray(q["data"]).reshape(q["shape"]).argmax(axis=1).tolist())
' <<<"$out")
[[ "$argmax" == "[4, 4, 4, 2]" ]] || fail "ember infer on .npy: $argmax"
if out=$("$root/client/ember" infer connect4 \
  --input "board=$tmp/boards-fortran.npy" \
  --server "127.0.0.1:$emberd_port" 2>&1); then
  fail "a Fortran-order array was accepted"
fi
grep -q "Fortran" <<<"$out" || fail "unexpected: $out"

if out=$("${example[@]}" --server "127.0.0.1:$emberd_port" \
  infer no-such-model "$tmp/boards.json" 2>&1); then
  fail "inference on an unknown model succeeded"
fi
grep -q "infer failed: NOT_FOUND" <<<"$out" || fail "unexpected: $out"

# Uploads go to the same emberd, restarted with tokens: the new version
# must be serving when the reply comes (--wait).
kill "${pids[0]}"
wait "${pids[0]}" || true
pids=()
printf 'write: python-example-write-token\ninfer: python-example-infer-token\n' \
  >"$tmp/tokens"
chmod 600 "$tmp/tokens"
printf 'python-example-write-token\n' >"$tmp/write.token"
printf 'python-example-infer-token\n' >"$tmp/infer.token"
rm -f "$tmp/emberd.port"
"$root/server/emberd" --model_repository="$tmp/repo" \
  --grpc_address=127.0.0.1:0 --port_file="$tmp/emberd.port" \
  --auth_token_file="$tmp/tokens" >"$tmp/emberd.log" 2>&1 &
pids+=($!)
emberd_port=$(wait_for_port "$tmp/emberd.port" "$tmp/emberd.log")

if out=$("${example[@]}" --server "127.0.0.1:$emberd_port" \
  --token-file "$tmp/infer.token" upload connect4 \
  "$root/tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk" 2>&1); then
  fail "upload with the infer token succeeded"
fi
grep -q "upload failed: PERMISSION_DENIED" <<<"$out" || fail "unexpected: $out"
[[ ! -e "$tmp/repo/connect4/2" ]] || fail "refused upload was stored"

out=$("${example[@]}" --server "127.0.0.1:$emberd_port" \
  --token-file "$tmp/write.token" upload connect4 \
  "$root/tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk" \
  --precision half --wait 2>&1) || fail "upload failed: $out"
echo "$out"
grep -q "stored connect4 version 2: model.mpk" <<<"$out" || fail "no version"
grep -q "PRECISION_HALF" <<<"$out" || fail "not stored at half precision"
grep -q "serving=True" <<<"$out" || fail "version 2 not serving"
grep -q "versions on the server: \[1, 2\]" <<<"$out" || fail "bad listing"

# The new half-precision version answers inference (token needed now).
out=$("${example[@]}" --server "127.0.0.1:$emberd_port" \
  --token-file "$tmp/infer.token" infer connect4 "$tmp/boards.json" 2>&1) ||
  fail "inference on version 2 failed: $out"
grep -q "model connect4 version 2" <<<"$out" || fail "not version 2: $out"
grep -q "argmax \[4, 4, 4, 2\]" <<<"$out" || fail "argmax differs: $out"
# The same over TLS, trusting a throwaway CA.
pki="$tmp/pki"
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" \
  -CAkey "$pki/ca.key" -CAcreateserial -days 2 -extfile "$pki/ext" \
  -out "$pki/server.pem" 2>/dev/null
"$root/server/emberd" --model_repository="$tmp/repo" \
  --grpc_address=127.0.0.1:0 --port_file="$tmp/tls.port" \
  --tls_cert_file="$pki/server.pem" --tls_key_file="$pki/server.key" \
  >"$tmp/tls.log" 2>&1 &
pids+=($!)
tls_port=$(wait_for_port "$tmp/tls.port" "$tmp/tls.log")
out=""
for _ in $(seq 100); do
  if out=$("${example[@]}" --server "localhost:$tls_port" --tls \
    --ca "$pki/ca.pem" infer connect4 "$tmp/boards.json" 2>&1); then
    break
  fi
  sleep 0.1
done
grep -q "argmax \[4, 4, 4, 2\]" <<<"$out" || fail "TLS inference: $out"
echo PASS
