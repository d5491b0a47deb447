"""Test-only Microsoft sign-in without Microsoft, for browser tests of Microsoft mode.

Python imports `sitecustomize` at start-up; the test server's PYTHONPATH starts with this folder only
when FAKE_MSAL_JWKS is set. Then the streamlit-msal component is swapped, when the app first imports it,
for a real component (./component) that replays what the browser's localStorage holds, as the real one
does after a sign-in, and the server verifies ID tokens against the key set in FAKE_MSAL_JWKS instead of
Microsoft's. Everything else (verification, sign-in screens, navigation) is the app's own code.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
from pathlib import Path

COMPONENT = Path(__file__).resolve().parent / "component"


def _patch(module) -> None:
    import streamlit.components.v1 as components
    from jwt import PyJWKClient

    from allocator import auth

    declared = {}

    def component(**kwargs):
        if "fn" not in declared:  # declared inside a script run, where Streamlit's registry lives
            declared["fn"] = components.declare_component("msal", path=str(COMPONENT))
        return declared["fn"](**kwargs)

    class Keys(PyJWKClient):
        def fetch_data(self):
            return json.loads(Path(os.environ["FAKE_MSAL_JWKS"]).read_text())

    module._component = component
    tenant = os.environ["MS_TENANT_ID"].lower()
    auth._jwk_clients[tenant] = Keys(auth.keys_url(tenant))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Streamlit looks the package up (find_spec) at start-up without importing it, so the finder stays
    in place and patches whenever the module is actually executed."""

    searching = False

    def find_spec(self, name, path, target=None):
        if name != "streamlit_msal" or self.searching:
            return None
        self.searching = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.searching = False
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("FAKE_MSAL_JWKS"):
    sys.meta_path.insert(0, _PatchOnImport())
