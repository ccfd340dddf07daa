#!/usr/bin/env python3
"""Training throughput (images/sec) of AlexNet, VGG16 or ResNet50 on fake ImageNet, in tensorpack.
Prints CONTRACT.md's lines. The defaults suit a GPU; README.md gives settings for a CPU."""
import argparse, os, statistics, time
# ---- command line --------------------------------------------------------------------------
fail = lambda msg: p.exit(2, f"{p.prog}: error: {msg}\n")  # bad input: one line, exit 2
MIN_SIZE = {"alexnet": 67, "vgg16": 32, "resnet50": 32}  # the smallest --image-size
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", default="1", help="devices in data parallel; 0 = CPU")
p.add_argument("--model", choices=MIN_SIZE, default="resnet50")
p.add_argument("--image-size", type=int, default=224, help="height and width in pixels")
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--steps", type=int, default=100, help="steps per epoch")
p.add_argument("--batch", type=int, default=0, help="batch per device (default: 64; resnet50: 32)")
args = p.parse_args()
S, OPT = args.image_size, "sgd" if args.model == "resnet50" else "rmsprop"
if not args.num_gpu.isdigit() or min(args.epochs, args.steps, args.batch + 1) < 1:
    fail(f"NUM_GPU must be a whole number >= 0 (got {args.num_gpu!r}), --epochs/--steps >= 1")
if S < MIN_SIZE[args.model]:  # smaller images leave a pooling window with no input
    fail(f"--image-size {S} is too small for {args.model}, which needs {MIN_SIZE[args.model]}")
args.batch = args.batch or (32 if args.model == "resnet50" else 64)
NUM_GPU = int(args.num_gpu)
if NUM_GPU == 0: os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
import tensorflow as tf
from tensorpack import *
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0: fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
config = get_default_sess_config()  # tensorpack's session settings, but not its 1 intra-op
config.intra_op_parallelism_threads = 0  # thread (tuned for GPUs): TensorFlow's default, all cores
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
TAG = f"framework=tensorpack task={args.model} gpus={NUM_GPU}"
# ---- data: one fixed batch per tower, on the host: pixels and valid labels of 1000 classes --
data = QueueInput(FakeData([[args.batch, S, S, 3], [args.batch]], 10**9, random=False,  # the same
                           dtype=["float32", "int64"], domain=[(0, 255), (0, 1000)]))  # every step
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    return (LinearWrap(x)
            .Conv2D("conv1", 64, 11, strides=4, padding="valid").MaxPooling("pool1", 3, 2)
            .Conv2D("conv2", 192, 5).MaxPooling("pool2", 3, 2)
            .Conv2D("conv3", 384, 3).Conv2D("conv4", 256, 3)
            .Conv2D("conv5", 256, 3).MaxPooling("pool5", 3, 2))
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for b, (convs, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)), 1):
        for i in range(1, convs + 1):  # the i-th 3x3 conv of block b
            x = Conv2D(f"conv{b}_{i}", x, filters, 3)
        x = MaxPooling(f"pool{b}", x, 2)
    return LinearWrap(x)
def conv_bn(name, x, filters, size, stride=1):  # ResNet50's convs: no bias, then BN
    x = Conv2D(name, x, filters, size, strides=stride, use_bias=False, activation=None)
    return BatchNorm(name + "_bn", x, momentum=0.9, epsilon=1e-5)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = MaxPooling("pool0", tf.nn.relu(conv_bn("conv0", x, 64, 7, 2)), 3, 2, padding="same")
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(f"g{g}b{b}/short", x, filters * 4, 1, s)
            r = tf.nn.relu(conv_bn(f"g{g}b{b}/conv1", x, filters, 1, s))
            r = tf.nn.relu(conv_bn(f"g{g}b{b}/conv2", r, filters, 3))
            x = tf.nn.relu(conv_bn(f"g{g}b{b}/conv3", r, filters * 4, 1) + short)
    return FullyConnected("fc", GlobalAvgPooling("gap", x), 1000, activation=None)
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, S, S, 3], "float32", "x"), tf.TensorSpec([None], "int64", "y")]
    def build_graph(self, x, y):
        with argscope([Conv2D, FullyConnected], activation=tf.nn.relu):
            x = globals()[args.model](x / 255.0)  # scaled to [0, 1] as the model's first op
            x = x if args.model == "resnet50" else (x  # AlexNet's and VGG16's classifier
                 .FullyConnected("fc6", 4096).Dropout("drop6", rate=0.5)  # flattens its input
                 .FullyConnected("fc7", 4096).Dropout("drop7", rate=0.5)
                 .FullyConnected("fc8", 1000, activation=None)())
        cost = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, x), name="cost")
        summary.add_moving_summary(cost)  # tensorpack's running average, reported per epoch
        return cost
    def optimizer(self):
        return (tf.compat.v1.train.GradientDescentOptimizer if OPT == "sgd"
                else tf.compat.v1.train.RMSPropOptimizer)(1e-3)
# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(Callback):
    def _before_train(self):  # towers > 0 hold copies of tower 0's variables
        params = sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables("^(?!tower)"))
        print(f"model {TAG} params={params} device={DEVICE} batch={args.batch} image_size={S} "
              f"optimizer={OPT} lr=0.001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []
    def _before_epoch(self): self.start = time.perf_counter()
    def _after_epoch(self):
        self.rates.append(args.steps * args.batch * REPLICAS / (time.perf_counter() - self.start))
    def _trigger_epoch(self):  # after MergeAllSummaries has recorded the epoch's cost
        print(f"throughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={self.trainer.monitors.get_latest('cost'):.4f}", flush=True)
    def _after_train(self):
        med = statistics.median(timed := self.rates[1:] or self.rates)
        print(f"summary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)
# ---- train: on a GPU, StagingInput prefetches the batch (with 2+ towers tensorpack adds it) -
launch_train_with_config(TrainConfig(
    model=Model(), data=StagingInput(data) if DEVICE == "gpu" else data, session_config=config,
    max_epoch=args.epochs, steps_per_epoch=args.steps, callbacks=[Throughput()]),  # + defaults
    SyncMultiGPUTrainerReplicated(REPLICAS) if REPLICAS > 1 else SimpleTrainer())
