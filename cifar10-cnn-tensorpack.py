#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on the real CIFAR-10 training set, in tensorpack.
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
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorpack's layers need Keras 2 (tf-keras)
if args.xla: os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"  # auto-clustering, CPUs too
import tensorflow as tf
from tensorpack import *
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} towers on the CPU", file=sys.stderr)
DEVICE = "gpu" if NUM_GPU and GPUS else "cpu"
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
STEPS = args.steps or len(train) // (BATCH * max(NUM_GPU, 1))
df = BatchData(train, BATCH, remainder=False)  # Cifar10 reshuffles on every pass
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
    def optimizer(self):  # RMSprop: rho (decay) 0.9 and momentum 0 by default; epsilon as Keras's
        return tf.compat.v1.train.RMSPropOptimizer(1e-4, epsilon=1e-7)
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
# ---- train: on a GPU, StagingInput prefetches the batches (with 2+ towers tensorpack adds it) -
launch_train_with_config(TrainConfig(  # callbacks: ours, then tensorpack adds its defaults
    model=Model(), data=StagingInput(QueueInput(df)) if DEVICE == "gpu" else QueueInput(df),
    callbacks=[Throughput()], steps_per_epoch=STEPS, max_epoch=args.epochs, session_config=config),
    SyncMultiGPUTrainerReplicated(NUM_GPU) if NUM_GPU > 1 else SimpleTrainer())
