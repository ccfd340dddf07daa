#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on the real CIFAR-10 training set, in Keras 3.
No augmentation, RMSprop 1e-4, batch 32 per device; prints CONTRACT.md's lines. See --help."""
import argparse, os, statistics, sys, time
# ---- command line: the same text in the three cifar10-cnn-*.py scripts --------------------
def fail(msg):  # bad input or missing data: one line on stderr, exit code 2
    p.exit(2, f"{p.prog}: error: {msg}\n")
p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", type=int, default=1, metavar="NUM_GPU", help="devices in data parallel; 0 = CPU")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--steps", type=int, default=0, help="steps per epoch (default: one pass)")
p.add_argument("--batch", type=int, default=32, help="batch per device")
p.add_argument("--data", help="folder holding cifar-10-batches-py/ (default: download)")
p.add_argument("--xla", action="store_true", help="compile with XLA (off by default, in all three APIs)")
args = p.parse_args()
NUM_GPU, BATCH, S = args.num_gpu, args.batch, 32  # CIFAR-10 images are 32x32
if NUM_GPU < 0 or min(args.epochs, BATCH) < 1 or args.steps < 0:
    fail(f"needs NUM_GPU >= 0 (got {NUM_GPU}), --epochs/--batch >= 1, --steps >= 0")
if NUM_GPU == 0:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
# ---- framework and devices -----------------------------------------------------------------
import keras
import numpy as np
import tensorflow as tf
from keras import layers
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0 and args.xla:  # XLA cannot use variables of another (logical) CPU device
    fail("--xla with NUM_GPU > 1 needs GPUs: on the CPU, Keras's replicas are logical devices XLA cannot run")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} replicas on the CPU", file=sys.stderr)
    cpu, logical = tf.config.list_physical_devices("CPU")[0], tf.config.LogicalDeviceConfiguration
    tf.config.set_logical_device_configuration(cpu, [logical()] * NUM_GPU)  # NUM_GPU CPU devices
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
strategy = (tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(REPLICAS)])
            if REPLICAS > 1 else tf.distribute.get_strategy())
TAG = f"framework=keras task=cifar10-cnn gpus={NUM_GPU}"
# ---- data: the real CIFAR-10 training set, through Keras's own loader ----------------------
try:
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        raise FileNotFoundError(f"no cifar-10-batches-py/ folder in {args.data}")
    if args.data:  # the batch reader behind keras.datasets.cifar10.load_data()
        from keras.src.datasets.cifar import load_batch
        x, y = zip(*[load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"])
        x, y = np.concatenate(x).transpose(0, 2, 3, 1), np.concatenate(y)  # NCHW files -> NHWC
    else:
        (x, y), _ = keras.datasets.cifar10.load_data()  # downloads on first use
except Exception as e:  # missing, truncated or not downloadable
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding cifar-10-"
         "batches-py/ extracted from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(x) // (BATCH * REPLICAS)
n = STEPS * BATCH * REPLICAS  # whole batches only; fit() reshuffles on every epoch
x, y = x[:n].astype("float32") / 255.0, np.reshape(y, -1)[:n].astype("int32")  # scale to [0, 1]
# ---- model ---------------------------------------------------------------------------------
with strategy.scope():
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(1e-4), jit_compile=args.xla,  # not "auto"
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
# ---- timing: images/sec of each epoch, from its first step to its last (CONTRACT.md's lines, printed as everywhere)
class Throughput(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):  # the model line's keys, read from the compiled model and its optimizer
        opt, conv = model.optimizer, next(l for l in model.layers if isinstance(l, layers.Conv2D))
        hyper = [float(np.asarray(getattr(opt, k, 0))) for k in ("learning_rate", "rho", "momentum", "epsilon")]
        self.rates, self.replicas = [], strategy.num_replicas_in_sync
        keys = dict(replicas=self.replicas, device=DEVICE, batch=BATCH, image_size=S, optimizer=type(opt).__name__,
                    params=sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                    **{k: f"{v:g}" if v else "none" for k, v in zip(("lr", "rho", "momentum", "epsilon"), hyper)},
                    clip=next((f"{c:g}" for c in (opt.global_clipnorm, opt.clipnorm) if c), "none"), dtype=conv.compute_dtype,
                    data_format=conv.data_format, intra_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                    xla=model.jit_compile)  # as resolved by compile()
        print(f"\nmodel {TAG}", *[f"{k}={v}" for k, v in keys.items()], flush=True)
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):  # the mean loss of the epoch's steps
        self.rates.append(STEPS * BATCH * self.replicas / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={logs['loss']:.4f}", flush=True)
    def on_train_end(self, logs=None):  # epoch 1 is the warm-up
        print(f"\nsummary {TAG} images_per_sec={statistics.median(self.rates[1:] or self.rates):.1f}", flush=True)
# ---- train ---------------------------------------------------------------------------------
model.fit(x, y, batch_size=BATCH * REPLICAS, epochs=args.epochs, shuffle=True,
          callbacks=[Throughput()], verbose=2)
