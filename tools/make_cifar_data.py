#!/usr/bin/env python3
"""Write a generated, learnable CIFAR-10 look-alike in the real on-disk format.

    tools/make_cifar_data.py DIR [--per-batch N]

Creates DIR/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} as the "CIFAR-10
python version" archive has them: pickles written by Python 2 (protocol 2, keys and raw bytes as
Python 2 `str`, i.e. BINSTRING opcodes; numpy arrays via numpy.core.multiarray._reconstruct), so the
real loaders of tensorpack, Keras and tflearn read them exactly as they read the real archive.
The images are class-dependent (each class brightens one colour channel by its own amount), so a
model can be seen to learn. A file GENERATED marks the folder, so results on it are labelled.
For machines without network: throughput does not depend on the pixel values.
"""
import argparse
import io
import os
import pickle
import struct

import numpy as np


class Py2Pickler(pickle._Pickler):
    """Pickle protocol 2 the way Python 2 wrote it: str and bytes become Python 2 `str`."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "")
        if module.startswith("numpy._core"):  # Python 2's numpy had no numpy._core
            name = name or obj.__qualname__
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n" + name.encode() + b"\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    dispatch[type] = save_global


def dump_py2(obj, path):
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def make_batch(rng, n):
    labels = rng.integers(0, 10, n)
    img = rng.integers(0, 96, (n, 3, 32, 32), dtype=np.uint8)
    img[np.arange(n), labels % 3] += (40 + labels * 15).astype(np.uint8)[:, None, None]
    return {"batch_label": "generated", "labels": labels.tolist(),
            "data": img.reshape(n, 3072), "filenames": ["gen_%d.png" % i for i in range(n)]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--per-batch", type=int, default=10000,
                   help="images per batch file (tensorpack's reader requires 10000)")
    args = p.parse_args()
    out = os.path.join(args.dir, "cifar-10-batches-py")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]:
        dump_py2(make_batch(rng, args.per_batch), os.path.join(out, name))
    dump_py2({"label_names": ["class%d" % i for i in range(10)],
              "num_cases_per_batch": args.per_batch, "num_vis": 3072},
             os.path.join(out, "batches.meta"))
    with open(os.path.join(args.dir, "GENERATED"), "w") as f:
        f.write("generated CIFAR-10-format data (tools/make_cifar_data.py), not the real images\n")


if __name__ == "__main__":
    main()
