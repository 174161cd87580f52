"""Serving from Python: registered models behind the Open Inference Protocol over HTTP
(the REST API of Triton and KServe, so ``tritonclient`` and KServe clients work as they are).

    with mlops.serve("churn@champion", port=8000) as server:
        print(server.url)          # http://127.0.0.1:8000
        ...                        # POST {url}/v2/models/churn/infer

The server runs on threads of its own until ``stop()`` (or the end of the ``with`` block).
"""

import json

from . import _mlops


def _signature_json(signature):
    """A signature dict in MLflow's form, with ``required`` defaulting to true."""
    def cols(specs):
        return [{"required": True, **spec} for spec in specs]

    return json.dumps({"inputs": cols(signature["inputs"]),
                       "outputs": cols(signature.get("outputs", []))})


def serve(models=(), *, custom=None, host="127.0.0.1", port=0, store=None):
    """Serves ``models`` (``"churn@champion"`` or a list of such references) on
    ``host:port`` (port 0 picks a free port); each is loaded with its digests verified
    before this returns.

    ``custom`` serves Python objects beside them, by name: any object with
    ``predict(table) -> table`` (or a dict of columns) and a ``signature`` in MLflow's form
    (``{"inputs": [{"name": "x", "type": "double"}], "outputs": [{"name": "y", "type":
    "double"}]}``), optionally a ``version``. Requests are decoded into the declared input
    types; ``predict`` runs with the GIL held, one request at a time.

    Returns a running ``Server`` with ``url``, ``models`` and ``stop()``."""
    if isinstance(models, str):
        models = [models]
    if store is None:
        from . import get_store

        store = get_store()
    return _mlops.serve(store, list(models), host, port, custom)
