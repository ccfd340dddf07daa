#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16 or ResNet50 on fake ImageNet, in tflearn."""
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
if args.xla: os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"  # auto-clustering, CPUs too
import numpy as np, PIL.Image, tensorflow as tf
import tensorflow.python.util.nest as nest
nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.layers import *
if NUM_GPU > 1: fail(f"NUM_GPU={NUM_GPU}: tflearn has no data-parallel trainer, use 0 (CPU) or 1")
GPUS = len(tf.config.list_physical_devices("GPU"))
DEVICE, TAG = "gpu" if NUM_GPU and GPUS else "cpu", f"framework=tflearn task={TASK} gpus={NUM_GPU}"
# ---- data: one fixed batch, on the host, fed by DNN.fit's feed threads ---------------------
x = np.random.default_rng(0).uniform(0, 255, (BATCH, S, S, 3)).astype("float32")  # pixels
y = np.random.default_rng(1).integers(0, 1000, BATCH)  # valid labels of the 1000 classes
X, Y = np.tile(x, (STEPS, 1, 1, 1)), np.tile(y, STEPS)  # fit()'s epoch: the batch STEPS times over
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    x = max_pool_2d(conv_2d(x, 64, 11, strides=4, padding="valid", activation="relu"), 3, 2, padding="valid")
    x = max_pool_2d(conv_2d(x, 192, 5, activation="relu"), 3, 2, padding="valid")
    x = conv_2d(x, 384, 3, activation="relu")
    x = conv_2d(x, 256, 3, activation="relu")
    return max_pool_2d(conv_2d(x, 256, 3, activation="relu"), 3, 2, padding="valid")  # conv5, pool5
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for convs, filters in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(convs):
            x = conv_2d(x, filters, 3, activation="relu")
        x = max_pool_2d(x, 2, padding="valid")
    return x
def conv_bn(x, filters, size, stride=1):  # ResNet50's convs: no bias, then BN
    x = conv_2d(x, filters, size, strides=stride, bias=False)
    return batch_normalization(x, decay=0.9, epsilon=1e-5)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = max_pool_2d(tf.nn.relu(conv_bn(x, 64, 7, 2)), 3, 2)  # tflearn pools 'same' by default
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(x, filters * 4, 1, s)
            r = tf.nn.relu(conv_bn(x, filters, 1, s))
            r = tf.nn.relu(conv_bn(r, filters, 3))
            x = tf.nn.relu(conv_bn(r, filters * 4, 1) + short)
    return fully_connected(tflearn.global_avg_pool(x), 1000)
net = globals()[TASK](input_data([None, S, S, 3]) / 255.0)  # to [0, 1] as the first op
if TASK != "resnet50":  # AlexNet's and VGG16's classifier; fc6 flattens its input
    net = dropout(fully_connected(net, 4096, activation="relu"), 0.5)  # keep probability 0.5
    net = dropout(fully_connected(net, 4096, activation="relu"), 0.5)
    net = fully_connected(net, 1000)
net = regression(net, metric=None, loss="softmax_categorical_crossentropy", to_one_hot=True, n_classes=1000,  # labels
                 optimizer=tflearn.SGD(1e-3) if TASK == "resnet50" else tflearn.RMSProp(1e-3, epsilon=1e-7))
model = tflearn.DNN(net, clip_gradients=0)  # tflearn clips at global norm 5 unless told not to
# ---- timing: images/sec of each epoch, from its first step to its last (CONTRACT.md's lines, printed as everywhere)
class Throughput(tflearn.callbacks.Callback):
    def on_train_begin(self, state):  # the model line's keys, read from the graph and session that train
        ops, cfg = {o.type: o for o in model.session.graph.get_operations()}, model.session._config or tf.compat.v1.ConfigProto()
        apply = next(o for t, o in ops.items() if "Apply" in t)  # the optimizer's update kernel, its hyperparameters:
        hyper = [tf.make_ndarray(t.op.get_attr("value")) for t in apply.inputs if t.op.type == "Const"] + [0] * 3
        clip = [tf.make_ndarray(o.get_attr("value")) for o in model.session.graph.get_operations() if "norm/mul/x" in o.name]
        self.rates, self.replicas = [], len(model.trainer.train_ops)  # tflearn: one replica per train op
        keys = dict(replicas=self.replicas, device=DEVICE, batch=BATCH, image_size=S, optimizer=apply.type.split("Apply")[1],
                    params=sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables("^(?!tower)")),
                    **{k: f"{v:g}" if v else "none" for k, v in zip(("lr", "rho", "momentum", "epsilon"), hyper)},
                    clip=f"{clip[0]:g}" if clip else "none", dtype=ops["Conv2D"].get_attr("T").name,
                    data_format=ops["Conv2D"].get_attr("data_format").decode(), intra_threads=cfg.intra_op_parallelism_threads,
                    xla=(cfg.graph_options.optimizer_options.global_jit_level > 0 or "auto_jit=1" in os.environ.get("TF_XLA_FLAGS", ""))
                    and (DEVICE == "gpu" or "cpu_global_jit" in os.environ.get("TF_XLA_FLAGS", "")))  # as TF auto-clusters
        print(f"\nmodel {TAG}", *[f"{k}={v}" for k, v in keys.items()], flush=True)
    def on_epoch_begin(self, state):
        self.start = time.perf_counter()
    def on_epoch_end(self, state):  # the loss of the epoch's last step
        self.rates.append(STEPS * BATCH * self.replicas / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={state.loss_value:.4f}", flush=True)
    def on_train_end(self, state):  # epoch 1 is the warm-up
        print(f"\nsummary {TAG} images_per_sec={statistics.median(self.rates[1:] or self.rates):.1f}", flush=True)
# ---- train ---------------------------------------------------------------------------------
model.fit(X, Y, n_epoch=args.epochs, batch_size=BATCH, shuffle=False,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
