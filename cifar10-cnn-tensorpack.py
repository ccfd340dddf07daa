#!/usr/bin/env python3
"""Training throughput (images/sec) of the classic Keras CIFAR-10 CNN, written in tensorpack.

Trains on the real CIFAR-10 training set (no augmentation, no validation) with RMSprop 1e-4,
batch 32 per device, and prints the logfmt lines of CONTRACT.md: model, one throughput line per
epoch (epoch 1 is warm-up), summary. Usage: ./cifar10-cnn-tensorpack.py [NUM_GPU] [--epochs N]
"""
import argparse
import os
import pickle
import statistics
import sys
import time

# ---- command line --------------------------------------------------------------------------
def fail(msg):
    print(f"{os.path.basename(sys.argv[0])}: error: {msg}", file=sys.stderr)
    sys.exit(2)

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", default="1", help="devices in data parallel; 0 = CPU")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--steps", type=int, default=0, help="steps per epoch (default: one pass)")
p.add_argument("--batch", type=int, default=32, help="batch per device")
p.add_argument("--data", help="folder holding cifar-10-batches-py/ (default: download)")
args = p.parse_args()
if not args.num_gpu.isdigit():
    fail(f"NUM_GPU must be a whole number >= 0, got {args.num_gpu!r}")
NUM_GPU = int(args.num_gpu)
if min(args.epochs, args.batch) < 1 or args.steps < 0:
    fail("--epochs and --batch must be >= 1, --steps >= 0")
if NUM_GPU == 0:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
import tensorflow as tf
from tensorpack import *
from tensorpack.dataflow import dataset
from tensorpack.tfutils.summary import add_moving_summary

GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} towers on the CPU", file=sys.stderr)
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
TAG = f"framework=tensorpack task=cifar10-cnn gpus={NUM_GPU}"

# ---- data: the real CIFAR-10 training set, through tensorpack's own loader -----------------
if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
    fail(f"no cifar-10-batches-py/ in {args.data}: extract "
         "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz there")
try:
    train = dataset.Cifar10("train", dir=args.data)  # downloads when no --data is given
except (OSError, ValueError, EOFError, pickle.UnpicklingError, IndexError, KeyError) as e:
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding "
         "cifar-10-batches-py/ from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(train) // (args.batch * REPLICAS)
df = BatchData(train, args.batch, remainder=False)  # Cifar10 reshuffles on every pass

# ---- model ---------------------------------------------------------------------------------
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, 32, 32, 3], tf.float32, "input"),
                tf.TensorSpec([None], tf.int32, "label")]

    def build_graph(self, image, label):
        logits = (LinearWrap(image / 255.0)
                  .Conv2D("conv1", 32, 3, padding="same", activation=tf.nn.relu)
                  .Conv2D("conv2", 32, 3, padding="valid", activation=tf.nn.relu)
                  .MaxPooling("pool1", 2)
                  .Dropout("drop1", rate=0.25)
                  .Conv2D("conv3", 64, 3, padding="same", activation=tf.nn.relu)
                  .Conv2D("conv4", 64, 3, padding="valid", activation=tf.nn.relu)
                  .MaxPooling("pool2", 2)
                  .Dropout("drop2", rate=0.25)
                  .FullyConnected("fc1", 512, activation=tf.nn.relu)  # flattens its input
                  .Dropout("drop3", rate=0.5)
                  .FullyConnected("fc2", 10)())
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=logits)
        cost = tf.reduce_mean(loss, name="cost")
        add_moving_summary(cost)  # tensorpack's in-graph running average, printed per epoch
        return cost

    def optimizer(self):
        return tf.compat.v1.train.RMSPropOptimizer(1e-4)

# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(Callback):
    def _before_train(self):  # towers > 0 hold copies of tower 0's variables
        params = sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables()
                     if not v.name.startswith("tower"))
        print(f"model {TAG} params={params} device={DEVICE} batch={args.batch} image_size=32 "
              "optimizer=rmsprop lr=0.0001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []

    def _before_epoch(self):
        self.start = time.perf_counter()

    def _after_epoch(self):
        self.rates.append(STEPS * args.batch * REPLICAS / (time.perf_counter() - self.start))

    def _trigger_epoch(self):  # runs after MergeAllSummaries has recorded the epoch's cost
        loss = self.trainer.monitors.get_latest("cost")
        print(f"throughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={loss:.4f}", flush=True)

    def _after_train(self):
        timed = self.rates[1:] or self.rates
        med = statistics.median(timed)
        print(f"summary {TAG} images_per_sec={med:.1f} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f} epochs_timed={len(timed)}")

# ---- train ---------------------------------------------------------------------------------
trainer = SyncMultiGPUTrainerReplicated(REPLICAS) if REPLICAS > 1 else SimpleTrainer()
launch_train_with_config(TrainConfig(
    model=Model(), data=QueueInput(df), extra_callbacks=DEFAULT_CALLBACKS() + [Throughput()],
    steps_per_epoch=STEPS, max_epoch=args.epochs), trainer)
