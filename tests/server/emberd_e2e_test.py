"""End-to-end test of the emberd binary.

Starts the real daemon on a temporary copy of the fixture repository, talks to
it with a client generated now from proto/grpc_service.proto (plus the
standard health and reflection protos), checks inference on every fixture
model against its golden outputs, health, reflection, statistics and error
codes, and finally that SIGTERM drains and exits 0.
"""

import concurrent.futures
import glob
import importlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
import numpy as np

GRPC_PROTO_DIR = "/usr/share/grpc-proto"
STARTUP_DEADLINE_S = 120
MODELS = {
    "connect4-mlp-f32-burn0.16.1.mpk": "connect4",
    "lenet-mnist-f16-burn0.18.0.mpk": "lenet",
    "mlp-mnist-f16-burn0.12.1.mpk": "mlp",
    "cnn-mnist-f16-burn0.11.0.mpk.gz": "cnn",
    "lstm-f16-burn0.17.0.mpk": "lstm",
}


def generate_client(out_dir):
    """Compiles the service, health and reflection protos for Python.

    The health and reflection protos are compiled from flat copies so their
    modules (health_pb2, reflection_pb2) do not live under a "grpc" package
    that would shadow the grpc library; the proto packages, and so the
    service names on the wire, are unchanged.
    """
    src = os.path.join(out_dir, "src")
    os.makedirs(src)
    shutil.copy("proto/grpc_service.proto", src)
    shutil.copy(os.path.join(GRPC_PROTO_DIR, "grpc/health/v1/health.proto"),
                src)
    shutil.copy(os.path.join(GRPC_PROTO_DIR,
                             "grpc/reflection/v1alpha/reflection.proto"), src)
    subprocess.run(
        ["/usr/bin/protoc",
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
         "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
         "-I" + src, "grpc_service.proto", "health.proto",
         "reflection.proto"],
        check=True)
    sys.path.insert(0, out_dir)
    return {name: importlib.import_module(name) for name in (
        "grpc_service_pb2", "grpc_service_pb2_grpc", "health_pb2",
        "health_pb2_grpc", "reflection_pb2", "reflection_pb2_grpc")}


def copy_repository(dest):
    """Copies the fixture models, following the record symlinks."""
    for config in glob.glob("tests/fixtures/models/*/config.pbtxt"):
        model_dir = os.path.dirname(config)
        shutil.copytree(model_dir,
                        os.path.join(dest, os.path.basename(model_dir)),
                        symlinks=False)
    # One model with a batch limit, to see Triton's batched config form.
    with open(os.path.join(dest, "lenet", "config.pbtxt"), "a") as f:
        f.write("\nmax_batch_size: 256\n")


class EmberdTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        gen = os.path.join(cls.tmp, "gen")
        os.makedirs(gen)
        m = generate_client(gen)
        cls.pb = m["grpc_service_pb2"]
        cls.health_pb = m["health_pb2"]
        cls.reflection_pb = m["reflection_pb2"]
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(cls.repo)
        copy_repository(cls.repo)
        port_file = os.path.join(cls.tmp, "port")
        cls.log = open(os.path.join(cls.tmp, "emberd.log"), "w")
        cls.proc = subprocess.Popen(
            ["server/emberd", "--model_repository=" + cls.repo,
             "--grpc_address=127.0.0.1:0", "--port_file=" + port_file,
             "--poll_interval=1s", "--drain_timeout=20s"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.time() + STARTUP_DEADLINE_S
        while not os.path.exists(port_file):
            if cls.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emberd did not start; see " + cls.log.name)
            time.sleep(0.05)
        with open(port_file) as f:
            cls.port = int(f.read())
        options = [("grpc.max_receive_message_length", 64 << 20),
                   ("grpc.max_send_message_length", 64 << 20)]
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % cls.port,
                                            options=options)
        cls.stub = m["grpc_service_pb2_grpc"].GRPCInferenceServiceStub(
            cls.channel)
        cls.health = m["health_pb2_grpc"].HealthStub(cls.channel)
        cls.reflection = m["reflection_pb2_grpc"].ServerReflectionStub(
            cls.channel)
        for name in MODELS.values():
            while not cls.stub.ModelReady(
                    cls.pb.ModelReadyRequest(name=name)).ready:
                if time.time() > deadline:
                    raise RuntimeError(name + " never became ready")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        cls.log.close()

    def infer_request(self, name, input_name, shape, values, datatype="FP32"):
        request = self.pb.ModelInferRequest(model_name=name, id="e2e")
        tensor = request.inputs.add(name=input_name, datatype=datatype,
                                    shape=list(shape))
        if datatype == "FP32":
            tensor.contents.fp32_contents.extend(values)
        elif datatype == "FP64":
            tensor.contents.fp64_contents.extend(values)
        elif datatype == "FP16":
            request.raw_input_contents.append(
                np.asarray(values, dtype="<f2").tobytes())
        return request

    def assert_close(self, got, golden, tolerance, what):
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(golden, dtype=np.float64)
        self.assertEqual(got.shape, want.shape, what)
        limit = tolerance["atol"] + tolerance["rtol"] * np.abs(want)
        worst = np.max(np.abs(got - want) - limit)
        self.assertLessEqual(worst, 0, "%s: outside tolerance by %g" %
                             (what, worst))

    def test_01_goldens_typed(self):
        for path in sorted(glob.glob("tests/fixtures/burn/golden/*.json")):
            with open(path) as f:
                golden = json.load(f)
            name = MODELS[golden["model"]]
            with self.subTest(model=name):
                request = self.infer_request(name, golden["input_name"],
                                             golden["input_shape"],
                                             golden["inputs"])
                response = self.stub.ModelInfer(request)
                self.assertEqual(response.id, "e2e")
                self.assertEqual(response.model_version, "1")
                out = {o.name: o for o in response.outputs}
                output = out[golden["output_name"]]
                self.assertEqual(list(output.shape), golden["output_shape"])
                self.assertEqual(output.datatype, "FP32")
                self.assert_close(output.contents.fp32_contents,
                                  golden["outputs"], golden["tolerance"],
                                  name)

    def golden(self, prefix):
        path = glob.glob("tests/fixtures/burn/golden/%s*.json" % prefix)[0]
        with open(path) as f:
            return json.load(f)

    def test_02_raw_fp16_input_and_raw_output(self):
        golden = self.golden("connect4")  # board cells are exact in FP16
        request = self.infer_request("connect4", "board",
                                     golden["input_shape"], golden["inputs"],
                                     datatype="FP16")
        response = self.stub.ModelInfer(request)
        self.assertEqual(len(response.raw_output_contents), 1)
        self.assertFalse(response.outputs[0].HasField("contents"))
        values = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
        self.assert_close(values, golden["outputs"], golden["tolerance"],
                          "connect4 raw")

    def test_03_fp64_input_and_fp16_output(self):
        golden = self.golden("lenet")
        request = self.infer_request("lenet", "image", golden["input_shape"],
                                     golden["inputs"], datatype="FP64")
        wanted = request.outputs.add(name="logits")
        wanted.parameters["datatype"].string_param = "FP16"
        response = self.stub.ModelInfer(request)
        self.assertEqual(response.outputs[0].datatype, "FP16")
        values = np.frombuffer(response.raw_output_contents[0], dtype="<f2")
        # FP16 output: tolerance widened by half precision's rounding.
        loose = {"atol": 0.02, "rtol": 0.002}
        self.assert_close(values.astype(np.float64), golden["outputs"], loose,
                          "lenet fp16")
        labels = np.argmax(values.reshape(golden["output_shape"]), axis=1)
        self.assertEqual(list(labels), list(range(10)))

    def test_04_errors(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(self.infer_request("nope", "x", [1], [0.0]))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(
                self.infer_request("connect4", "board", [1, 41], [0.0] * 41))
        self.assertEqual(caught.exception.code(),
                         grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("[-1, 42]", caught.exception.details())

    def test_05_health(self):
        request = self.health_pb.HealthCheckRequest
        serving = self.health_pb.HealthCheckResponse.SERVING
        self.assertEqual(self.health.Check(request(service="")).status,
                         serving)
        for name in MODELS.values():
            self.assertEqual(self.health.Check(request(service=name)).status,
                             serving, name)
        with self.assertRaises(grpc.RpcError) as caught:
            self.health.Check(request(service="nope"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        watch = self.health.Watch(request(service="connect4"))
        self.assertEqual(next(watch).status, serving)
        watch.cancel()

    def test_06_reflection_lists_the_services(self):
        request = self.reflection_pb.ServerReflectionRequest(list_services="")
        responses = self.reflection.ServerReflectionInfo(iter([request]))
        services = {s.name for r in responses
                    for s in r.list_services_response.service}
        self.assertIn("inference.GRPCInferenceService", services)
        self.assertIn("grpc.health.v1.Health", services)

    def test_07_metadata_index_statistics(self):
        metadata = self.stub.ModelMetadata(
            self.pb.ModelMetadataRequest(name="lenet"))
        self.assertEqual(metadata.inputs[0].name, "image")
        self.assertEqual(list(metadata.inputs[0].shape), [-1, 1, 28, 28])
        index = self.stub.RepositoryIndex(
            self.pb.RepositoryIndexRequest(ready=True))
        self.assertEqual({m.name for m in index.models}, set(MODELS.values()))
        stats = self.stub.ModelStatistics(
            self.pb.ModelStatisticsRequest(name="connect4"))
        self.assertGreaterEqual(
            stats.model_stats[0].inference_stats.success.count, 2)
        self.assertGreater(stats.model_stats[0].memory_usage[0].byte_size, 0)

    def test_08_stream_infer(self):
        golden = self.golden("connect4")
        good = self.infer_request("connect4", "board", golden["input_shape"],
                                  golden["inputs"])
        bad = self.infer_request("connect4", "board", [1, 41], [0.0] * 41)
        bad.id = "bad"
        responses = list(self.stub.ModelStreamInfer(iter([good, bad, good])))
        self.assertEqual(len(responses), 3)
        for i in (0, 2):
            self.assertEqual(responses[i].error_message, "")
            self.assertEqual(responses[i].infer_response.id, "e2e")
            self.assert_close(
                responses[i].infer_response.outputs[0].contents.fp32_contents,
                golden["outputs"], golden["tolerance"], "stream %d" % i)
        self.assertIn("[-1, 42]", responses[1].error_message)
        self.assertFalse(responses[1].HasField("infer_response"))

    def test_09_model_config_in_tritons_form(self):
        lenet = self.stub.ModelConfig(
            self.pb.ModelConfigRequest(name="lenet")).config
        self.assertEqual(lenet.name, "lenet")
        self.assertEqual(lenet.platform, "ember_burn")
        self.assertEqual(lenet.max_batch_size, 256)
        self.assertEqual(lenet.input[0].name, "image")
        self.assertEqual(lenet.input[0].data_type, self.pb.TYPE_FP32)
        self.assertEqual(list(lenet.input[0].dims), [1, 28, 28])
        self.assertEqual(list(lenet.output[0].dims), [10])
        connect4 = self.stub.ModelConfig(
            self.pb.ModelConfigRequest(name="connect4", version="1")).config
        self.assertEqual(connect4.max_batch_size, 0)
        self.assertEqual(list(connect4.input[0].dims), [-1, 42])
        self.assertEqual(connect4.version_policy.latest.num_versions, 1)
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelConfig(self.pb.ModelConfigRequest(name="nope"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        metadata = self.stub.ServerMetadata(self.pb.ServerMetadataRequest())
        self.assertIn("model_configuration", metadata.extensions)

    def test_10_removed_model_is_unknown_to_health(self):
        request = self.health_pb.HealthCheckRequest(service="mlp")
        watch = self.health.Watch(request, timeout=30)
        self.assertEqual(next(watch).status,
                         self.health_pb.HealthCheckResponse.SERVING)
        shutil.rmtree(os.path.join(self.repo, "mlp"))
        # The watcher sees the removal; the name is then unknown: Watch
        # says SERVICE_UNKNOWN (after NOT_SERVING while it unloads) and
        # Check fails with NOT_FOUND.
        unknown = self.health_pb.HealthCheckResponse.SERVICE_UNKNOWN
        seen = []
        for update in watch:
            seen.append(update.status)
            if update.status == unknown:
                break
        watch.cancel()
        self.assertEqual(seen[-1], unknown, seen)
        with self.assertRaises(grpc.RpcError) as caught:
            self.health.Check(request)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(
            self.health.Check(self.health_pb.HealthCheckRequest(
                service="connect4")).status,
            self.health_pb.HealthCheckResponse.SERVING)

    def test_99_sigterm_drains_and_exits_zero(self):
        golden = self.golden("lenet")
        # Batches of 200 images keep the server busy while the signal lands.
        shape = [200] + golden["input_shape"][1:]
        request = self.infer_request("lenet", "image", shape,
                                     golden["inputs"] * 20)
        watch = self.health.Watch(
            self.health_pb.HealthCheckRequest(service=""))
        self.assertEqual(next(watch).status,
                         self.health_pb.HealthCheckResponse.SERVING)
        first_done = threading.Event()
        outcomes = []

        def call():
            try:
                self.stub.ModelInfer(request, timeout=60)
                outcomes.append("ok")
            except grpc.RpcError as e:
                outcomes.append(e.code())
            first_done.set()

        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(call) for _ in range(6)]
            self.assertTrue(first_done.wait(60))
            self.proc.send_signal(signal.SIGTERM)
            # Health reports NOT_SERVING (or the stream ends) once draining.
            statuses = []
            try:
                for update in watch:
                    statuses.append(update.status)
                    if update.status != \
                            self.health_pb.HealthCheckResponse.SERVING:
                        break
            except grpc.RpcError:
                statuses.append("closed")
            for f in futures:
                f.result()
        self.assertEqual(self.proc.wait(timeout=60), 0)
        self.assertTrue(
            statuses and statuses[-1] in (
                "closed", self.health_pb.HealthCheckResponse.NOT_SERVING),
            statuses)
        # Every request either finished or was refused cleanly.
        for outcome in outcomes:
            self.assertIn(outcome, ("ok", grpc.StatusCode.UNAVAILABLE))
        self.assertIn("ok", outcomes)
        with open(self.log.name) as f:
            log = f.read()
        self.assertIn("draining", log)
        self.assertIn("model lenet version 1: ready", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
