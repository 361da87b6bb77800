"""Runs a check script under the JAX backend in a fresh process (shared by the JAX tests)."""

import os
import subprocess
import sys


def assert_runs_on_jax(script_text, directory, *arguments, timeout=600):
    """Writes `script_text` to `directory`, runs it with KERAS_BACKEND=jax and asserts it
    exits 0 and prints "jax ok". The script receives `directory` and `arguments` as argv."""
    script = os.path.join(str(directory), "run_on_jax.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(script_text)
    # XLA's optimisation passes dominate on CPU (one compilation per weight initializer
    # shape when a model is rebuilt): level 0 cuts the subprocess CPU time ~5×.
    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
                       XLA_FLAGS="--xla_backend_optimization_level=0")
    result = subprocess.run([sys.executable, script, str(directory), *map(str, arguments)],
                            env=environment, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout, result.stdout[-3000:]
    return result
