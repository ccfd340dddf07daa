#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on the real CIFAR-10 training set, in tflearn.
No augmentation, RMSprop 1e-4, batch 32 per device; prints CONTRACT.md's lines. See --help."""
import argparse, os, statistics, time
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
if args.xla: os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"  # auto-clustering, CPUs too
import numpy as np
import PIL.Image
import tensorflow as tf
import tensorflow.python.util.nest as nest
nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.datasets.cifar10 import load_batch, load_data
from tflearn.layers import conv_2d, dropout, fully_connected, input_data, max_pool_2d, regression
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1:
    fail(f"NUM_GPU={NUM_GPU}: tflearn has no data-parallel trainer, use 0 (CPU) or 1")
DEVICE = "gpu" if NUM_GPU and GPUS else "cpu"
TAG = f"framework=tflearn task=cifar10-cnn gpus={NUM_GPU}"
# ---- data: the real CIFAR-10 training set, through tflearn's own loader --------------------
try:
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        raise FileNotFoundError(f"no cifar-10-batches-py/ folder in {args.data}")
    if args.data:  # the batch reader behind tflearn.datasets.cifar10.load_data()
        x, y = zip(*[load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"])
        x, y = np.concatenate(x).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255, np.concatenate(y)
    else:
        (x, y), _ = load_data()  # downloads on first use; images already in [0, 1]
except Exception as e:  # missing, truncated or not downloadable
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding cifar-10-"
         "batches-py/ extracted from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(x) // (BATCH * max(NUM_GPU, 1))
n = STEPS * BATCH * max(NUM_GPU, 1)  # whole batches only; fit() reshuffles on every epoch
x, y = x[:n].astype("float32"), np.asarray(y)[:n].astype("int32")
# ---- model ---------------------------------------------------------------------------------
net = input_data([None, 32, 32, 3])
net = conv_2d(net, 32, 3, padding="same", activation="relu")
net = conv_2d(net, 32, 3, padding="valid", activation="relu")
net = max_pool_2d(net, 2, padding="valid")
net = dropout(net, 0.75)  # tflearn takes the keep probability: drop rate 0.25
net = conv_2d(net, 64, 3, padding="same", activation="relu")
net = conv_2d(net, 64, 3, padding="valid", activation="relu")
net = max_pool_2d(net, 2, padding="valid")
net = dropout(net, 0.75)
net = fully_connected(net, 512, activation="relu")  # flattens its input
net = dropout(net, 0.5)
net = fully_connected(net, 10)
net = regression(net, optimizer=tflearn.RMSProp(1e-4, epsilon=1e-7), loss="softmax_categorical_crossentropy",
                 metric=None, to_one_hot=True, n_classes=10)  # integer labels, no accuracy op
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
model.fit(x, y, n_epoch=args.epochs, batch_size=BATCH * max(NUM_GPU, 1), shuffle=True,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
