#!/bin/sh
# Installs the iris and 8x8 digits datasets (load_iris, load_digits) without scikit-learn:
# fetches only Debian's python3-sklearn package file (about 2 MB; apt-get download installs
# nothing and pulls no dependency, where apt-get install python3-sklearn pulls 535 MB of SciPy,
# matplotlib and Boost), copies its iris.csv and digits.csv.gz out, and deletes the rest.
#   sudo sh scripts/install-datasets.sh [DIR]     (default DIR: /usr/local/share/ravdl/datasets)
# DIR other than the default: point RAVDL_DATA_DIR (or load_iris({ data_dir })) at it.
# Fashion-MNIST is its own small Debian package: apt-get install -y dataset-fashion-mnist.
set -eu
dest="${1:-/usr/local/share/ravdl/datasets}"
data=usr/lib/python3/dist-packages/sklearn/datasets/data

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp" # apt's download user must be able to write here
cd "$tmp"

if ! apt-get download python3-sklearn >/dev/null 2>&1; then
  # A machine whose package lists were never fetched (a fresh container) knows no package yet.
  apt-get update -qq >/dev/null
  apt-get download python3-sklearn >/dev/null
fi
dpkg-deb --fsys-tarfile python3-sklearn_*.deb | tar -x "./$data/iris.csv" "./$data/digits.csv.gz"

mkdir -p "$dest"
cp "$data/iris.csv" "$data/digits.csv.gz" "$dest/"
chmod 644 "$dest/iris.csv" "$dest/digits.csv.gz"
echo "ravdl: iris.csv and digits.csv.gz installed in $dest"
