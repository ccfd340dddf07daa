#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16, ResNet50 or tiny on fake ImageNet in tensorpack: one batch
of random pixels and valid labels on the host. `bench.` lines (bench.py) are the measurement."""
import os
from functools import partial
import bench
args = bench.parse("imagenet", "tensorpack", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
import tensorflow as tf
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tensorpack import *
DEVICE = bench.device(tf.config.list_physical_devices("GPU"))
config = get_default_sess_config()  # tensorpack's session settings, but not its 1 intra-op
config.intra_op_parallelism_threads = 0  # thread (tuned for GPUs): TensorFlow's default, all cores
if args.amp:  # TensorFlow's mixed-precision graph rewrite for DEVICE (bench.AMP_REWRITE names it)
    setattr(config.graph_options.rewrite_options, bench.AMP_REWRITE[DEVICE], RewriterConfig.ON)

# ---- data: one fixed batch, made by tensorpack's FakeData and repeated by its QueueInput ---------
S, B = args.image_size, args.batch  # one batch, made once: pixels in [0, 255), valid labels
df = FakeData([[B, S, S, 3], [B]], 10**9, False, ["float32", "int64"], [(0, 255), (0, 1000)])

# ---- model: the same layers in every script; every conv and fc 4096 ends in a ReLU --------------
def alexnet(x):  # each conv's ReLU: build_graph's argscope; tensorpack's Conv2D pads "same"
    return (LinearWrap(x)
            .Conv2D("conv1", 64, 11, strides=4, padding="valid")
            .MaxPooling("pool1", 3, 2)
            .Conv2D("conv2", 192, 5)
            .MaxPooling("pool2", 3, 2)
            .Conv2D("conv3", 384, 3)
            .Conv2D("conv4", 256, 3)
            .Conv2D("conv5", 256, 3)
            .MaxPooling("pool5", 3, 2)
            .apply(classifier)())
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for b, (convs, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)), 1):
        for i in range(1, convs + 1):  # the i-th conv of block b
            x = Conv2D(f"conv{b}_{i}", x, filters, 3)
        x = MaxPooling(f"pool{b}", x, 2)
    return classifier(x)
def classifier(x):  # AlexNet's and VGG16's; fc6 flattens its input
    return (LinearWrap(x)
            .FullyConnected("fc6", 4096, activation=tf.nn.relu)
            .Dropout("drop6", rate=0.5)
            .FullyConnected("fc7", 4096, activation=tf.nn.relu)
            .Dropout("drop7", rate=0.5)
            .FullyConnected("fc8", 1000)())
def resnet50(x):  # v1 (the stride on conv1); BatchNorm: momentum 0.9, epsilon 1e-5 (its defaults)
    with argscope(Conv2D, use_bias=False, activation=partial(BatchNorm, "bn")):  # BN, or BNReLU
        x = Conv2D("conv0", x, 64, 7, strides=2, activation=BNReLU)
        x = MaxPooling("pool0", x, 3, 2, padding="same")
        for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
            for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
                short = x if b else Conv2D(f"g{g}b{b}/short", x, filters * 4, 1, strides=s)
                r = Conv2D(f"g{g}b{b}/conv1", x, filters, 1, strides=s, activation=BNReLU)
                r = Conv2D(f"g{g}b{b}/conv2", r, filters, 3, activation=BNReLU)
                x = tf.nn.relu(Conv2D(f"g{g}b{b}/conv3", r, filters * 4, 1) + short)
    return FullyConnected("fc", GlobalAvgPooling("gap", x), 1000)
def tiny(x):  # the per-step overhead task's: a step's compute well under a millisecond
    x = Conv2D("conv1", x, 16, 3)  # + ReLU (build_graph's argscope)
    return FullyConnected("fc", GlobalAvgPooling("gap", x), 1000)
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, S, S, 3], "float32", "x"), tf.TensorSpec([None], "int64", "y")]
    def build_graph(self, x, y):
        x = x / 255.0  # to [0, 1] as the first op
        if args.data_format == "channels_first":
            x = tf.transpose(x, [0, 3, 1, 2])  # NHWC batches -> NCHW
        with argscope(Conv2D, activation=tf.nn.relu):  # each conv's ReLU (ResNet50: its own)
            logits = globals()[args.model](x)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        cost = tf.reduce_mean(loss, name="cost")
        summary.add_moving_summary(cost)  # tensorpack's running average, reported per epoch
        return cost
    def optimizer(self):  # RMSprop: rho (decay) 0.9 and momentum 0 by default; epsilon as Keras's
        opt = (tf.compat.v1.train.GradientDescentOptimizer(1e-3) if args.model == "resnet50"
               else tf.compat.v1.train.RMSPropOptimizer(1e-3, epsilon=1e-7))
        return (tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(opt, "dynamic")
                if args.amp and DEVICE == "gpu" else opt)  # float16: dynamic loss scaling

# ---- timing: tensorpack's callback around each epoch, bench's clock ------------------------------
class Throughput(Callback):
    def _before_train(self):
        bench.train_begin(bench.graph_keys(self.trainer.sess, len(self.trainer.towers.training())))
    def _before_epoch(self):
        bench.epoch_begin()
    def _after_epoch(self):  # the running average of the cost
        bench.epoch_end(self.trainer.monitors.get_latest("cost"))
    def _after_train(self):
        bench.train_end()

# ---- train: on a GPU, StagingInput prefetches the batches (with 2+ towers tensorpack adds it) ----
data = StagingInput(QueueInput(df)) if DEVICE == "gpu" else QueueInput(df)
trainer = SyncMultiGPUTrainerReplicated(args.num_gpu) if args.num_gpu > 1 else SimpleTrainer()
with argscope([Conv2D, MaxPooling, BatchNorm, GlobalAvgPooling], data_format=args.data_format):
    launch_train_with_config(TrainConfig(  # tensorpack adds its default callbacks after ours
        model=Model(), data=data, session_config=config, callbacks=[Throughput()],
        steps_per_epoch=args.steps, max_epoch=args.epochs), trainer)
