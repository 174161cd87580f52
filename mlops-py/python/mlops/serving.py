"""Serving from Python: registered models behind the Open Inference Protocol over HTTP
(the REST API of Triton and KServe, so ``tritonclient`` and KServe clients work as they are).

    with mlops.serve("churn@champion", port=8000) as server:
        print(server.url)          # http://127.0.0.1:8000
        ...                        # POST {url}/v2/models/churn/infer

The server runs on threads of its own until ``stop()`` (or the end of the ``with`` block).
"""

from . import _mlops


def serve(models, *, host="127.0.0.1", port=0, store=None):
    """Serves ``models`` (``"churn@champion"`` or a list of such references) on
    ``host:port`` (port 0 picks a free port); each is loaded with its digests verified
    before this returns. Returns a running ``Server`` with ``url``, ``models`` and
    ``stop()``."""
    if isinstance(models, str):
        models = [models]
    if store is None:
        from . import get_store

        store = get_store()
    return _mlops.serve(store, list(models), host, port)
