#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16 or ResNet50 on fake ImageNet, in tensorpack."""
import argparse, os, statistics, time
# ---- command line: the same text in the three imagenet-*.py scripts -----------------------
def fail(msg):  # bad input: one line on stderr, exit code 2
    p.exit(2, f"{p.prog}: error: {msg}\n")
p = argparse.ArgumentParser(description=__doc__)
p.error = fail
p.add_argument("num_gpu", nargs="?", type=int, default=1, metavar="NUM_GPU", help="devices in data parallel; 0 = CPU")
p.add_argument("--model", choices=("alexnet", "vgg16", "resnet50"), default="resnet50")
p.add_argument("--image-size", type=int, default=224, help="height and width in pixels")
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--steps", type=int, default=100, help="steps per epoch")
p.add_argument("--batch", type=int, default=0, help="batch per device (default: 64; resnet50: 32)")
p.add_argument("--xla", action="store_true", help="compile with XLA (off by default, in all three APIs)")
args = p.parse_args()
NUM_GPU, TASK, S, STEPS = args.num_gpu, args.model, args.image_size, args.steps
BATCH, MIN_S = args.batch or (32 if TASK == "resnet50" else 64), 67 if TASK == "alexnet" else 32
if NUM_GPU < 0 or min(args.epochs, STEPS, BATCH) < 1 or S < MIN_S:  # smaller: a pool gets no input
    fail(f"needs NUM_GPU >= 0, --epochs/--steps/--batch >= 1, --image-size >= {MIN_S} for {TASK}")
if NUM_GPU == 0: os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
# ---- framework and devices -----------------------------------------------------------------
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
if args.xla: os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"  # auto-clustering, CPUs too
import tensorflow as tf
from tensorpack import *  # with tfv1, its name for tf.compat.v1
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0: fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
DEVICE, TAG = "gpu" if NUM_GPU and GPUS else "cpu", f"framework=tensorpack task={TASK} gpus={NUM_GPU}"
config = get_default_sess_config()  # tensorpack's session settings, but not its 1 intra-op
config.intra_op_parallelism_threads = 0  # thread (tuned for GPUs): TensorFlow's default, all cores
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    return (LinearWrap(x)
            .Conv2D("conv1", 64, 11, strides=4, padding="valid", activation=tf.nn.relu).MaxPooling("pool1", 3, 2)
            .Conv2D("conv2", 192, 5, activation=tf.nn.relu).MaxPooling("pool2", 3, 2)
            .Conv2D("conv3", 384, 3, activation=tf.nn.relu).Conv2D("conv4", 256, 3, activation=tf.nn.relu)
            .Conv2D("conv5", 256, 3, activation=tf.nn.relu).MaxPooling("pool5", 3, 2))
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for b, (convs, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)), 1):
        for i in range(1, convs + 1):  # the i-th 3x3 conv of block b
            x = Conv2D(f"conv{b}_{i}", x, filters, 3, activation=tf.nn.relu)
        x = MaxPooling(f"pool{b}", x, 2)
    return LinearWrap(x)
def conv_bn(name, x, filters, size, stride=1):  # ResNet50's convs: no bias, then BN
    x = Conv2D(name, x, filters, size, strides=stride, use_bias=False)  # no activation
    return BatchNorm(name + "_bn", x, momentum=0.9, epsilon=1e-5)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = MaxPooling("pool0", tf.nn.relu(conv_bn("conv0", x, 64, 7, 2)), 3, 2, padding="same")
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(f"g{g}b{b}/short", x, filters * 4, 1, s)
            r = tf.nn.relu(conv_bn(f"g{g}b{b}/conv1", x, filters, 1, s))
            r = tf.nn.relu(conv_bn(f"g{g}b{b}/conv2", r, filters, 3))
            x = tf.nn.relu(conv_bn(f"g{g}b{b}/conv3", r, filters * 4, 1) + short)
    return FullyConnected("fc", GlobalAvgPooling("gap", x), 1000)
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, S, S, 3], "float32", "x"), tf.TensorSpec([None], "int64", "y")]
    def build_graph(self, x, y):
        x = globals()[TASK](x / 255.0)  # scaled to [0, 1] as the model's first op
        if TASK != "resnet50":  # AlexNet's and VGG16's classifier; fc6 flattens its input
            x = x.FullyConnected("fc6", 4096, activation=tf.nn.relu).Dropout("drop6", rate=0.5)
            x = x.FullyConnected("fc7", 4096, activation=tf.nn.relu).Dropout("drop7", rate=0.5)
            x = x.FullyConnected("fc8", 1000)()  # logits: tensorpack's layers have no activation by default
        cost = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, x), name="cost")
        summary.add_moving_summary(cost)  # tensorpack's running average, reported per epoch
        return cost
    def optimizer(self):  # RMSprop: rho (decay) 0.9 and momentum 0 by default; epsilon as Keras's
        return tfv1.train.GradientDescentOptimizer(1e-3) if TASK == "resnet50" else tfv1.train.RMSPropOptimizer(1e-3, epsilon=1e-7)
# ---- timing: images/sec of each epoch, from its first step to its last (CONTRACT.md's lines, printed as everywhere)
class Throughput(Callback):
    def _before_train(self):  # the model line's keys, read from the graph and session that train
        ops, cfg = {o.type: o for o in self.trainer.sess.graph.get_operations()}, self.trainer.sess._config  # an op a type
        apply = next(o for t, o in ops.items() if "Apply" in t)  # the optimizer's update kernel, its hyperparameters:
        hyper = [tf.make_ndarray(t.op.get_attr("value")) for t in apply.inputs if t.op.type == "Const"] + [0] * 3
        clip = [tf.make_ndarray(o.get_attr("value")) for o in self.trainer.sess.graph.get_operations() if "norm/mul/x" in o.name]
        self.rates, self.replicas = [], len(self.trainer.towers.training())
        keys = dict(replicas=self.replicas, device=DEVICE, batch=BATCH, image_size=S, optimizer=apply.type.split("Apply")[1],
                    params=sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables("^(?!tower)")),
                    **{k: f"{v:g}" if v else "none" for k, v in zip(("lr", "rho", "momentum", "epsilon"), hyper)},
                    clip=f"{clip[0]:g}" if clip else "none", dtype=ops["Conv2D"].get_attr("T").name,
                    data_format=ops["Conv2D"].get_attr("data_format").decode(), intra_threads=cfg.intra_op_parallelism_threads,
                    xla=(cfg.graph_options.optimizer_options.global_jit_level > 0 or "auto_jit=1" in os.environ.get("TF_XLA_FLAGS", ""))
                    and (DEVICE == "gpu" or "cpu_global_jit" in os.environ.get("TF_XLA_FLAGS", "")))  # as TF auto-clusters
        print(f"\nmodel {TAG}", *[f"{k}={v}" for k, v in keys.items()], flush=True)
    def _before_epoch(self):
        self.start = time.perf_counter()
    def _after_epoch(self):  # MergeAllSummaries recorded the cost with the epoch's last step
        self.rates.append(STEPS * BATCH * self.replicas / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={self.trainer.monitors.get_latest('cost'):.4f}", flush=True)
    def _after_train(self):  # epoch 1 is the warm-up
        print(f"\nsummary {TAG} images_per_sec={statistics.median(self.rates[1:] or self.rates):.1f}", flush=True)
# ---- train: QueueInput repeats one fixed batch; 2+ towers or a GPU stage it (StagingInput) -
data = QueueInput(FakeData([[BATCH, S, S, 3], [BATCH]], 10**9, False, ["float32", "int64"], [(0, 255), (0, 1000)]))
launch_train_with_config(TrainConfig(model=Model(), data=StagingInput(data) if DEVICE == "gpu" else data, session_config=config,
    max_epoch=args.epochs, steps_per_epoch=STEPS, callbacks=[Throughput()]),  # + tensorpack's default callbacks
    SyncMultiGPUTrainerReplicated(NUM_GPU) if NUM_GPU > 1 else SimpleTrainer())
