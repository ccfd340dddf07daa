#!/usr/bin/env python3
"""Training throughput (images/sec) of the classic Keras CIFAR-10 CNN, written in tensorpack.
Real CIFAR-10 training set, no augmentation, RMSprop 1e-4, batch 32 per device; prints the logfmt
lines of CONTRACT.md: model, throughput per epoch (epoch 1 is warm-up), summary. See --help."""
import argparse, os, statistics, sys, time

# ---- command line --------------------------------------------------------------------------
def fail(msg):  # bad input or missing data: one line on stderr, exit code 2
    p.exit(2, f"{p.prog}: error: {msg}\n")

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", default="1", help="devices in data parallel; 0 = CPU")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--steps", type=int, default=0, help="steps per epoch (default: one pass)")
p.add_argument("--batch", type=int, default=32, help="batch per device")
p.add_argument("--data", help="folder holding cifar-10-batches-py/ (default: download)")
args = p.parse_args()
if not args.num_gpu.isdigit() or min(args.epochs, args.batch) < 1 or args.steps < 0:
    fail(f"NUM_GPU must be a whole number >= 0 (got {args.num_gpu!r}), --epochs/--batch >= 1")
NUM_GPU = int(args.num_gpu)
if NUM_GPU == 0:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
import tensorflow as tf
from tensorpack import *
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} towers on the CPU", file=sys.stderr)
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
config = get_default_sess_config()  # tensorpack's session settings, but not its 1 intra-op
config.intra_op_parallelism_threads = 0  # thread (tuned for GPUs): TensorFlow's default, all cores
TAG = f"framework=tensorpack task=cifar10-cnn gpus={NUM_GPU}"

# ---- data: the real CIFAR-10 training set, through tensorpack's own loader -----------------
try:
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        raise FileNotFoundError(f"no cifar-10-batches-py/ folder in {args.data}")
    train = dataset.Cifar10("train", dir=args.data)  # downloads when no --data is given
except Exception as e:  # missing, truncated or not downloadable
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding cifar-10-"
         "batches-py/ extracted from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(train) // (args.batch * REPLICAS)
df = BatchData(train, args.batch, remainder=False)  # Cifar10 reshuffles on every pass
df = MapDataComponent(df, lambda x: x.astype("float32") / 255.0, 0)  # scale to [0, 1]

# ---- model ---------------------------------------------------------------------------------
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, 32, 32, 3], tf.float32, "input"),
                tf.TensorSpec([None], tf.int32, "label")]
    def build_graph(self, image, label):
        logits = (LinearWrap(image)
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
        cost = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=label, logits=logits), name="cost")
        summary.add_moving_summary(cost)  # tensorpack's running average, reported per epoch
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
    def _trigger_epoch(self):  # after MergeAllSummaries has recorded the epoch's cost
        print(f"throughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={self.trainer.monitors.get_latest('cost'):.4f}", flush=True)
    def _after_train(self):
        timed = self.rates[1:] or self.rates
        med = statistics.median(timed)
        print(f"summary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)

# ---- train: on a GPU, StagingInput prefetches the batches (with 2+ towers tensorpack adds it) -
launch_train_with_config(TrainConfig(  # callbacks: ours, then tensorpack adds its defaults
    model=Model(), data=StagingInput(QueueInput(df)) if DEVICE == "gpu" else QueueInput(df),
    callbacks=[Throughput()], steps_per_epoch=STEPS, max_epoch=args.epochs, session_config=config),
    SyncMultiGPUTrainerReplicated(REPLICAS) if REPLICAS > 1 else SimpleTrainer())
