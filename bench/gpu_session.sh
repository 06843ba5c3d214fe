#!/usr/bin/env bash
# Everything the GPU still has to show, in stages that each fit one 10-minute device command.
#
#   bash bench/gpu_session.sh tests      # pytest -m gpu: full-size parity (kernels, xFormers, fast vs stock)
#   bash bench/gpu_session.sh eager      # engine_bench, all optimizations but compile, every table row
#   bash bench/gpu_session.sh compile    # engine_bench with torch.compile (max-autotune), 512² rows + sweep
#   bash bench/gpu_session.sh kernels    # 512² 1 step: bf16, and each pinned SDPA kernel
#   bash bench/gpu_session.sh serve      # serve_bench against the full-size random model
#
# Runs from the repository root on a machine with CUDA and torch but without diffusers/flask:
# carry `wheels` (pip download --no-deps -d wheels "diffusers==0.42.1" importlib_metadata flask
# blinker itsdangerous). Results go to $OUT (or /tmp/gpu-out): Markdown + JSON per run and logs,
# at most 8 files per stage (what a device command brings back).
# A CPU dry run of the plumbing: SESSION_MODEL=tiny SESSION_ARGS="--device cpu --quick" bash ... eager
set -euo pipefail
stage="${1:?usage: gpu_session.sh tests|eager|compile|kernels|serve}"
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
export SDTURBO_CACHE_DIR=/tmp/sdturbo-cache SDTURBO_TEST_CACHE_DIR=/tmp/sdturbo-cache PYTHONUNBUFFERED=1
python3 -c "import diffusers, flask" 2>/dev/null || python3 -m pip install -q --no-deps --no-index wheels/*.whl
python3 - <<'PY' | tee "$out/env-$stage.txt"
import datetime, diffusers, torch, transformers
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(datetime.datetime.now().isoformat(timespec="seconds"), gpu, "torch", torch.__version__,
      "cuda", torch.version.cuda, "diffusers", diffusers.__version__, "transformers", transformers.__version__)
PY
# shellcheck disable=SC2086  # SESSION_ARGS is a list of flags on purpose
bench() { python3 -m bench.engine_bench --model "${SESSION_MODEL:-random-full}" ${SESSION_ARGS:-} "$@"; }
eager=channels_last,fuse_qkv,prompt_cache,uint8_decode
case "$stage" in
  tests)   python3 -m pytest -m gpu -s -q -p no:cacheprovider tests/test_gpu.py 2>&1 | tee "$out/gpu-tests.txt" ;;
  eager)   bench --optimize "$eager" --out "$out/eager" 2>&1 | tee "$out/eager.log" ;;
  compile) bench --optimize fast --compile-mode max-autotune --rows 512:1,512:2,512:4 --out "$out/compile" 2>&1 \
             | tee "$out/compile.log" ;;
  kernels) for variant in "--dtype bf16" "--attention sdpa-flash" "--attention sdpa-efficient" "--attention sdpa-cudnn"; do
             name=$(echo "$variant" | tr -d ' -')
             # shellcheck disable=SC2086  # the variant is two words on purpose
             bench --optimize "$eager" $variant --rows 512:1 --batches 1,16 --iters 30 --out "/tmp/kernels/$name" \
               >"/tmp/kernels-$name.log" 2>&1 || { echo "$name failed:"; tail -3 "/tmp/kernels-$name.log"; continue; }
             cp "/tmp/kernels/$name/engine_bench.md" "$out/$name.md"
             grep -E '^\| (512²|1|16) ' "/tmp/kernels/$name/engine_bench.md" | sed "s/^/$name /"
           done | tee "$out/kernels.txt" ;;
  serve)   python3 -m bench.serve_bench --model random-full --device cuda 2>&1 | tee "$out/serve.txt" ;;
  *)       echo "unknown stage $stage: use tests, eager, compile, kernels or serve" >&2; exit 2 ;;
esac
