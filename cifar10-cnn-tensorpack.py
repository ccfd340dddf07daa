#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on real CIFAR-10, in tensorpack.
No augmentation, RMSprop 1e-4, batch 32 per device. The lines that say `bench.` (bench.py, beside
this file) are the measurement: command line, clock and fingerprint."""
import os
import bench
args = bench.parse("cifar10-cnn", "tensorpack", __doc__)

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

# ---- data: the real CIFAR-10 training set, through tensorpack's own loader -----------------------
with bench.cifar_data():
    train = dataset.Cifar10("train", dir=args.data)  # downloads when no --data is given
STEPS = bench.steps(len(train))
df = BatchData(train, args.batch, remainder=False)  # Cifar10 reshuffles on every pass
df = MapDataComponent(df, lambda x: x.astype("float32") / 255.0, 0)  # scale to [0, 1]


# ---- model ---------------------------------------------------------------------------------------
class Model(ModelDesc):
    def inputs(self):
        return [tf.TensorSpec([None, 32, 32, 3], tf.float32, "input"),
                tf.TensorSpec([None], tf.int32, "label")]

    def build_graph(self, image, label):
        if args.data_format == "channels_first":
            image = tf.transpose(image, [0, 3, 1, 2])  # NHWC batches -> NCHW
        with argscope(Conv2D, activation=tf.nn.relu):
            logits = (LinearWrap(image)
                      .Conv2D("conv1", 32, 3, padding="same")
                      .Conv2D("conv2", 32, 3, padding="valid")
                      .MaxPooling("pool1", 2)
                      .Dropout("drop1", rate=0.25)
                      .Conv2D("conv3", 64, 3, padding="same")
                      .Conv2D("conv4", 64, 3, padding="valid")
                      .MaxPooling("pool2", 2)
                      .Dropout("drop2", rate=0.25)
                      .FullyConnected("fc1", 512, activation=tf.nn.relu)  # flattens its input
                      .Dropout("drop3", rate=0.5)
                      .FullyConnected("fc2", 10)())
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=logits)
        cost = tf.reduce_mean(loss, name="cost")
        summary.add_moving_summary(cost)  # tensorpack's running average, reported per epoch
        return cost

    def optimizer(self):  # rho (decay) 0.9 and momentum 0 by default; epsilon as Keras's
        opt = tf.compat.v1.train.RMSPropOptimizer(1e-4, epsilon=1e-7)
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
with argscope([Conv2D, MaxPooling], data_format=args.data_format):
    launch_train_with_config(TrainConfig(  # tensorpack adds its default callbacks after ours
        model=Model(), data=data, session_config=config, callbacks=[Throughput()],
        steps_per_epoch=STEPS, max_epoch=args.epochs), trainer)
