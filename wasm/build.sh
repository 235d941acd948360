#!/bin/sh
# Builds the decoder with Debian's rustc (the only toolchain here with the wasm32 target).
# Usage: wasm/build.sh [OUT.wasm] [TARGET_DIR]   (defaults: wasm/wiresight_decoder.wasm, wasm/target)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/wiresight_decoder.wasm}
target=${2:-$here/target}
rustc=${WIRESIGHT_RUSTC:-/usr/bin/rustc}
cargo=${WIRESIGHT_CARGO:-/usr/bin/cargo}
if [ ! -x "$rustc" ] || [ ! -x "$cargo" ]; then
  echo "build:wasm needs Debian's Rust: apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld" >&2
  exit 1
fi
cd "$here"
RUSTC="$rustc" CARGO_TARGET_DIR="$target" "$cargo" build --quiet --release --offline \
  --target wasm32-unknown-unknown
cp "$target/wasm32-unknown-unknown/release/wiresight_decoder.wasm" "$out"
