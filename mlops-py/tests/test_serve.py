"""The OIP server started from Python, queried over real HTTP with urllib and with the
official Triton client (tritonclient.http)."""

import json
import urllib.error
import urllib.request

import numpy as np
import pyarrow as pa
import pytest

import mlops


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    store = mlops.Store(tmp_path_factory.mktemp("serve") / "store")
    n = 200
    x = [(i - n / 2) / (n / 4) for i in range(n)]
    table = pa.table({
        "x": pa.array(x, pa.float32()),
        "colour": [["red", "blue"][i % 2] for i in range(n)],
        "y": [int(v > 0) for v in x],
    })
    trainer = mlops.BurnTrainer(model={"kind": "logistic_regression"}, epochs=30, batch_size=20,
                                optimizer={"kind": "adam", "lr": 0.05})
    store.train(trainer, table, "y", experiment="serve", register_as="toy", seed=1)
    store.set_alias("toy", "champion", 1)
    with mlops.serve("toy@champion", store=store) as server:
        yield server, mlops.predictor("toy@champion", store=store)


def call(url, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_health_metadata_and_inference_over_http(served):
    server, predictor = served
    assert server.models == ["toy@1"]
    assert call(f"{server.url}/v2/health/ready")[0] == 200
    status, meta = call(f"{server.url}/v2/models/toy")
    assert status == 200 and meta["versions"] == ["1"]
    assert [t["name"] for t in meta["inputs"]] == ["x", "colour"]
    body = {"inputs": [
        {"name": "x", "shape": [3], "datatype": "FP32", "data": [-1.5, 0.2, 1.5]},
        {"name": "colour", "shape": [3], "datatype": "BYTES", "data": ["red", "blue", "green"]},
    ]}
    status, resp = call(f"{server.url}/v2/models/toy/infer", body)
    assert status == 200
    outputs = {o["name"]: o for o in resp["outputs"]}
    local = predictor.predict(pa.table({"x": pa.array([-1.5, 0.2, 1.5], pa.float32()),
                                        "colour": ["red", "blue", "green"]}))
    # The server answers exactly what the model gives in-process.
    assert outputs["prediction"]["data"] == local["prediction"].to_pylist()
    assert outputs["score"]["data"] == local["score"].to_pylist()
    assert outputs["probabilities"]["shape"] == [3, 2]


def test_bad_requests_get_oip_errors(served, tmp_path):
    server, _ = served
    status, err = call(f"{server.url}/v2/models/toy/infer",
                       {"inputs": [{"name": "age", "shape": [1], "datatype": "FP32", "data": [3]}]})
    assert status == 400 and "age" in err["error"]
    status, err = call(f"{server.url}/v2/models/other/infer", {"inputs": []})
    assert status == 404 and "other" in err["error"]
    with pytest.raises(mlops.NotFoundError):
        mlops.serve("missing@1", store=mlops.Store(tmp_path / "empty"))


def test_the_official_triton_client_talks_to_it(served):
    httpclient = pytest.importorskip("tritonclient.http")
    server, predictor = served
    client = httpclient.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_model_ready("toy")
    assert client.get_model_metadata("toy")["name"] == "toy"
    x = httpclient.InferInput("x", [2], "FP32")
    x.set_data_from_numpy(np.array([-1.5, 1.5], dtype=np.float32))  # binary by default
    colour = httpclient.InferInput("colour", [2], "BYTES")
    colour.set_data_from_numpy(np.array([b"red", b"green"], dtype=np.object_), binary_data=False)
    out = [httpclient.InferRequestedOutput("prediction", binary_data=False),
           httpclient.InferRequestedOutput("score", binary_data=False)]
    result = client.infer("toy", [x, colour], outputs=out)
    assert result.as_numpy("prediction").tolist() == [0, 1]
    local = predictor.predict_row({"x": 1.5, "colour": "green"})
    assert result.as_numpy("score")[1] == pytest.approx(local["probabilities"][1], abs=1e-7)


class Doubler:
    """A Python model: no burn, no registry; served by name beside registered ones."""

    version = 3
    signature = {"inputs": [{"name": "x", "type": "double"}],
                 "outputs": [{"name": "y", "type": "double"}]}

    def predict(self, table):
        import pyarrow.compute as pc
        return {"y": pc.multiply(table["x"], 2.0)}


def test_a_python_object_is_served_as_a_model(served, tmp_path):
    _, _ = served
    with mlops.serve(custom={"double": Doubler()}, store=mlops.Store(tmp_path / "s")) as server:
        assert server.models == ["double@3"]
        status, meta = call(f"{server.url}/v2/models/double")
        assert status == 200 and meta["platform"] == "python"
        assert meta["inputs"] == [{"name": "x", "datatype": "FP64", "shape": [-1]}]
        body = {"inputs": [{"name": "x", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}]}
        status, resp = call(f"{server.url}/v2/models/double/versions/3/infer", body)
        assert status == 200, resp
        assert resp["outputs"] == [{"name": "y", "shape": [3], "datatype": "FP64", "data": [2.0, 4.0, 6.0]}]
        status, err = call(f"{server.url}/v2/models/double/infer",
                            {"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})
        assert status == 400 and "x" in err["error"]

    class Broken(Doubler):
        def predict(self, table):
            raise ValueError("model exploded")

    with mlops.serve(custom={"broken": Broken()}, store=mlops.Store(tmp_path / "s")) as server:
        status, err = call(f"{server.url}/v2/models/broken/infer",
                           {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]})
        assert status == 500 and "model exploded" in err["error"]
    with pytest.raises(TypeError, match="signature"):
        mlops.serve(custom={"bad": object()}, store=mlops.Store(tmp_path / "s"))


def test_a_server_dropped_without_stop_shuts_down(tmp_path):
    import gc
    import socket

    server = mlops.serve(custom={"double": Doubler()}, store=mlops.Store(tmp_path / "s"))
    host, port = server.url.removeprefix("http://").split(":")
    assert call(f"{server.url}/v2/health/live")[0] == 200
    del server
    gc.collect()
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()
